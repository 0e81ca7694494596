"""Invokes other functions with Debian's boto3, as a Lambda function would with the SDK, and
probes what else the endpoint inside its sandbox answers."""
import json
import os
import sys
import urllib.error
import urllib.request

# Gust's Python runtime hides the host's dist-packages (as Lambda hides everything but the
# function's own code); this function uses Debian's boto3 from the read-only /usr.
sys.path.append("/usr/lib/python3/dist-packages")
import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402

ENDPOINT = os.environ["AWS_ENDPOINT_URL_LAMBDA"]
# botocore reads AWS_ENDPOINT_URL_LAMBDA itself from 1.31.x on; Debian 12's 1.29 does not, so
# the endpoint is passed explicitly.
client = boto3.client("lambda", endpoint_url=ENDPOINT)


def invoke(event):
    kwargs = {"FunctionName": event["target"],
              "InvocationType": event.get("type", "RequestResponse"),
              "Payload": json.dumps(event.get("payload", {})).encode()}
    if "qualifier" in event:
        kwargs["Qualifier"] = event["qualifier"]
    try:
        res = client.invoke(**kwargs)
    except botocore.exceptions.ClientError as e:
        return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    body = res["Payload"].read().decode()
    return {"status": res["StatusCode"], "payload": json.loads(body) if body else None,
            "function_error": res.get("FunctionError"),
            "executed_version": res.get("ExecutedVersion")}


def fetch(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return {"status": res.status, "body": res.read().decode()}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "type": e.headers.get("x-amzn-ErrorType"),
                "body": e.read().decode()}
    except OSError as e:
        return {"unreachable": str(e)}


def handler(event, context):
    if event["action"] == "invoke":
        return invoke(event)
    if event["action"] == "list":
        try:
            client.list_functions()
        except botocore.exceptions.ClientError as e:
            return {"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                    "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
        return {"error": None}
    if event["action"] == "fetch":
        return fetch(event["url"].replace("{endpoint}", ENDPOINT), event.get("method", "GET"))
    if event["action"] == "env":
        return {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ACCESS_KEY_ID",
                                               "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                               "AWS_REGION")}
    raise ValueError("unknown action " + event["action"])
