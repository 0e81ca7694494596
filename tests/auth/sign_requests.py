#!/usr/bin/python3
"""Prints Lambda API requests signed by real AWS clients, one JSON object per line, for
sigv4_test.cc to verify with Gust's verifier.

Sources (the first argument picks one):
  botocore  botocore.auth.SigV4Auth over botocore.awsrequest.AWSRequest, the signer every
            botocore-based client uses, with URLs percent-encoded by botocore.utils.percent_encode
            exactly as botocore's rest-json serializer does;
  boto3     a real boto3 Lambda client; its requests are caught just before they would be sent;
  aws-cli   the AWS CLI (/usr/bin/aws) against a socket on 127.0.0.1 that records each request
            byte for byte and answers like Lambda.

Each line: {"name", "method", "path" (raw, as sent), "query" (raw), "headers" ([name, value] as
sent), "body_base64", "access_key_id", "secret", "region"}.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from urllib.parse import urlsplit

ACCESS_KEY_ID = "GKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"
MARKER = "eyJhIjoxfQ==/x+y z"  # needs encoding: '=', '/', '+' and a space


def text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def emit(name, method, url, headers, body):
    parts = urlsplit(url)
    print(json.dumps({
        "name": name,
        "method": method,
        "path": parts.path,
        "query": parts.query,
        "headers": [[text(k), text(v)] for k, v in headers],
        "body_base64": base64.b64encode(body or b"").decode(),
        "access_key_id": ACCESS_KEY_ID,
        "secret": SECRET,
        "region": REGION,
    }))


def with_host(url, headers):
    """The headers as urllib3 sends them: botocore signs a Host it derives from the URL, and
    urllib3 adds the same Host line on the wire."""
    items = list(headers.items())
    if not any(k.lower() == "host" for k, _ in items):
        items.insert(0, ("Host", urlsplit(url).netloc))
    return items


def from_botocore():
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode

    endpoint = "http://127.0.0.1:9001"
    creds = Credentials(ACCESS_KEY_ID, SECRET)
    enc = percent_encode  # what botocore's serializer applies to a URI label
    create_body = json.dumps({
        "FunctionName": "f", "Runtime": "python3.11", "Handler": "handler.handler",
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Code": {"ZipFile": base64.b64encode(b"PK\x05\x06" + b"\0" * 18).decode()},
    }).encode()
    cases = [
        ("invoke-payload", "POST", "/2015-03-31/functions/f/invocations", {}, b'{"k": "v"}'),
        ("invoke-empty", "POST", "/2015-03-31/functions/f/invocations", {}, b""),
        ("create-function", "POST", "/2015-03-31/functions",
         {"Content-Type": "application/json"}, create_body),
        ("list-trailing-slash", "GET", "/2015-03-31/functions/", {}, b""),
        ("latest-qualifier", "GET",
         "/2015-03-31/functions/" + enc("f:$LATEST") + "/configuration?Qualifier=" +
         enc("$LATEST"), {}, b""),
        ("invoke-qualifier", "POST",
         "/2015-03-31/functions/f/invocations?Qualifier=" + enc("$LATEST"),
         {"X-Amz-Invocation-Type": "Event", "X-Amz-Log-Type": "Tail",
          "X-Amz-Client-Context": "eyJhIjoxfQ=="}, b"{}"),
        ("invoke-arn", "POST", "/2015-03-31/functions/" + enc(ARN) + "/invocations", {},
         b'{"k": "v"}'),
        ("list-marker", "GET",
         "/2015-03-31/functions/?Marker=" + enc(MARKER) + "&MaxItems=5", {}, b""),
        ("list-marker-reversed", "GET",
         "/2015-03-31/functions/?MaxItems=5&Marker=" + enc(MARKER), {}, b""),
        ("delete-function", "DELETE", "/2015-03-31/functions/f", {}, b""),
    ]
    for name, method, path, headers, body in cases:
        url = endpoint + path
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
        SigV4Auth(creds, "lambda", REGION).add_auth(request)
        prepared = request.prepare()
        emit(name, method, prepared.url, with_host(prepared.url, prepared.headers), prepared.body)


class Sent(Exception):
    pass


def from_boto3():
    import boto3

    client = boto3.client(
        "lambda", endpoint_url="http://127.0.0.1:9001", region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET)
    current = {}

    def capture(request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        emit(current["name"], request.method, request.url,
             with_host(request.url, request.headers), body)
        raise Sent()

    client.meta.events.register("before-send.lambda", capture)
    calls = [
        ("boto3-invoke", lambda: client.invoke(FunctionName="f", Payload=b'{"k": "v"}')),
        ("boto3-invoke-qualifier",
         lambda: client.invoke(FunctionName="f", Qualifier="$LATEST", Payload=b"{}",
                               InvocationType="Event", LogType="Tail")),
        ("boto3-invoke-arn", lambda: client.invoke(FunctionName=ARN, Payload=b"{}")),
        ("boto3-create-function",
         lambda: client.create_function(
             FunctionName="f", Runtime="python3.11", Handler="handler.handler",
             Role="arn:aws:iam::000000000000:role/lambda-role",
             Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})),
        ("boto3-list-functions", lambda: client.list_functions(Marker=MARKER, MaxItems=5)),
        ("boto3-get-function-latest",
         lambda: client.get_function(FunctionName="f:$LATEST", Qualifier="$LATEST")),
    ]
    for name, call in calls:
        current["name"] = name
        try:
            call()
        except Sent:
            continue
        raise SystemExit(f"{name}: boto3 did not send a request")


def read_request(conn):
    """One HTTP/1.1 request (Content-Length bodies only, as these clients send) as raw bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def from_aws_cli():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    captured = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while True:
                    request = read_request(conn)
                    if request is None:
                        break
                    captured.append(request)
                    reply = b'{"Functions": []}' if request[0].startswith(b"GET") else b"{}"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n"
                                 b"Content-Length: " + str(len(reply)).encode() +
                                 b"\r\n\r\n" + reply)

    threading.Thread(target=serve, daemon=True).start()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": "/usr/bin:/bin", "HOME": home, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(home, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
            "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        }
        out = os.path.join(home, "out.json")
        commands = [
            ("cli-invoke", ["lambda", "invoke", "--function-name", "f", "--payload", '{"k":"v"}',
                            "--cli-binary-format", "raw-in-base64-out", out]),
            ("cli-invoke-arn-qualifier",
             ["lambda", "invoke", "--function-name", ARN, "--qualifier", "$LATEST", out]),
            ("cli-list-functions", ["lambda", "list-functions", "--page-size", "5",
                                    "--starting-token", "abc/def+ghi="]),
            ("cli-get-function", ["lambda", "get-function", "--function-name", "f:$LATEST"]),
        ]
        for name, args in commands:
            before = len(captured)
            result = subprocess.run(["/usr/bin/aws", "--endpoint-url", endpoint] + args, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    timeout=120)
            if len(captured) == before:
                raise SystemExit(f"{name}: the AWS CLI sent nothing (exit {result.returncode}): "
                                 f"{result.stderr.decode(errors='replace')}")
            head, body = captured[before]
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers.append((k, v.strip()))
            emit(name, method, endpoint + target, headers, body)
    listener.close()


if __name__ == "__main__":
    source = sys.argv[1] if len(sys.argv) > 1 else "botocore"
    {"botocore": from_botocore, "boto3": from_boto3, "aws-cli": from_aws_cli}[source]()
