import os


def handler(event, context):
    """Tries to read the paths it is given; reports what happened to each."""
    outcome = {}
    for path in event["paths"]:
        try:
            with open(path, "rb") as f:
                f.read(1)
            outcome[path] = "read"
        except OSError as e:
            outcome[path] = type(e).__name__
    return {"uid": os.getuid(), "euid": os.geteuid(), "outcome": outcome}
