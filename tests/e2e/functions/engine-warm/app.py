import os

print("provisioned init")


def handler(event, context):
    return {"pid": os.getpid()}
