"""Invokes cascade-loop-b (Node), which invokes this one again: a loop the depth limit stops."""
import json
import os
import urllib.error
import urllib.request

URL = os.environ["AWS_ENDPOINT_URL_LAMBDA"] + "/2015-03-31/functions/cascade-loop-b/invocations"


def handler(event, context):
    hops = event.get("hops", 0) + 1
    req = urllib.request.Request(URL, data=json.dumps({"hops": hops}).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=55) as res:
            return json.loads(res.read())
    except urllib.error.HTTPError as e:
        # The innermost call was refused: report how deep the chain got and why it stopped.
        return {"hops": hops, "status": e.code, "type": e.headers.get("x-amzn-ErrorType"),
                "message": json.loads(e.read())["message"]}
