"""Invokes cascade-loop-b (Node), which invokes this one again: a loop the depth limit stops.
{"async": true} makes every hop an Event invocation; the hop that is refused prints why."""
import json
import os
import urllib.error
import urllib.request

URL = os.environ["AWS_ENDPOINT_URL_LAMBDA"] + "/2015-03-31/functions/cascade-loop-b/invocations"


def handler(event, context):
    hops = event.get("hops", 0) + 1
    mode = "Event" if event.get("async") else "RequestResponse"
    body = {"hops": hops, "async": mode == "Event", "tag": event.get("tag")}
    req = urllib.request.Request(URL, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Amz-Invocation-Type": mode})
    try:
        with urllib.request.urlopen(req, timeout=55) as res:
            return json.loads(res.read()) if mode == "RequestResponse" else {"queued": hops}
    except urllib.error.HTTPError as e:
        # The innermost call was refused: report how deep the chain got and why it stopped.
        stopped = {"hops": hops, "status": e.code, "type": e.headers.get("x-amzn-ErrorType"),
                   "message": json.loads(e.read())["message"], "tag": event.get("tag")}
        print("loop stopped", json.dumps(stopped))
        return stopped
