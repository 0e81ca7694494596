"""Shared by the asynchronous invocation tests: deploying the probe function under any name
through Lambda's API, invoking it with X-Amz-Invocation-Type: Event, and counting its runs in its
logs."""
import base64
import io
import json
import os
import time
import zipfile

from gustserver import function_dir

ROLE = "arn:aws:iam::000000000000:role/async-test"
ACCOUNT_ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def probe_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(os.path.join(function_dir("async-probe"), "app.py"), "app.py")
    return base64.b64encode(buf.getvalue()).decode()


def create(server, name, timeout=30):
    body = {"FunctionName": name, "Runtime": "python3.11", "Handler": "app.handler",
            "Role": ROLE, "Timeout": timeout, "Code": {"ZipFile": probe_zip()}}
    status, _, out = server.raw("POST", "/2015-03-31/functions",
                                json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    if status != 201:
        raise AssertionError(f"CreateFunction {name}: {status} {out!r}")


def invoke_event(server, name, payload, qualifier=None):
    """Returns (status, request id, body)."""
    path = f"/2015-03-31/functions/{name}/invocations"
    if qualifier:
        path += "?Qualifier=" + qualifier
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, headers, body = server.raw("POST", path, data,
                                       headers={"X-Amz-Invocation-Type": "Event"})
    lower = {k.lower(): v for k, v in headers.items()}
    return status, lower.get("x-amzn-requestid"), body


def event_config(server, method, name, body=None, qualifier=None, suffix=""):
    path = f"/2019-09-25/functions/{name}/event-invoke-config{suffix}"
    if qualifier:
        path += "?Qualifier=" + qualifier
    data = json.dumps(body).encode() if body is not None else None
    status, headers, out = server.raw(method, path, data)
    lower = {k.lower(): v for k, v in headers.items()}
    return status, (json.loads(out) if out else None), lower.get("x-amzn-errortype")


def runs(server, name):
    """request id -> list of (event, start, end) for each run of the probe, from its logs."""
    out, after = {}, 0
    for _ in range(1000):
        status, _, body = server.raw("GET", f"/api/v1/functions/{name}/logs?limit=1000"
                                     f"&after_id={after}")
        if status != 200:
            raise AssertionError(f"logs of {name}: {status} {body!r}")
        answer = json.loads(body)
        for record in answer["logs"]:
            events = {}
            for line in record["message"].splitlines():
                parts = line.split(" ", 2)
                if parts[0] == "ASYNC-RAN" and len(parts) == 3:
                    events[parts[1]] = json.loads(parts[2])
                elif parts[0] == "ASYNC-SPAN" and len(parts) == 3:
                    start, end = parts[2].split(" ")
                    rid = parts[1]
                    out.setdefault(rid, []).append((events.get(rid), float(start), float(end)))
        if answer["next_after_id"] == after or not answer["logs"]:
            return out
        after = answer["next_after_id"]
    return out


def dead_letters(server, queue):
    status, _, body = server.raw("GET", f"/api/v1/dead-letters?queue={queue}&limit=1000")
    if status != 200:
        raise AssertionError(f"dead letters: {status} {body!r}")
    return json.loads(body)["dead_letters"]


def dead_letter(server, record_id):
    status, _, body = server.raw("GET", f"/api/v1/dead-letters/{record_id}")
    if status != 200:
        raise AssertionError(f"dead letter {record_id}: {status} {body!r}")
    return json.loads(body)


def wait_until(predicate, seconds=60, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    value = predicate()
    if not value:
        raise AssertionError(f"timed out after {seconds} s waiting for {what}")
    return value
