"""Asynchronous invocation probe: logs each run with its request id and event, so a test can
count runs through the function's logs; sleeps or fails when the event asks."""
import json
import time


def handler(event, context):
    started = time.time()
    print("ASYNC-RAN", context.aws_request_id, json.dumps(event, sort_keys=True), flush=True)
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    print("ASYNC-SPAN", context.aws_request_id, started, time.time(), flush=True)
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail: " + str(event.get("tag")))
    return {"tag": event.get("tag") if isinstance(event, dict) else None, "ok": True}
