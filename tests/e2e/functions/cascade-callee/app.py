def handler(event, context):
    print("callee ran with tag", event.get("tag"))
    return {"callee": context.function_name, "echo": event}
