def handler(event, context):
    print("marker", event.get("tag"))
    return event
