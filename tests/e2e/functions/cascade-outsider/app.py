def handler(event, context):
    print("outsider ran")
    return "outsider"
