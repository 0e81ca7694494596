import os


def handler(event, context):
    """Greets whoever the event names, with the greeting from the function's environment."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": f"{os.environ['GREETING']}, {name}!"}
