"""The Python handler served by an ASGI server (uvicorn): each request calls it and writes its
statusCode and body, as bench/gateway_bench.py's plain-server baseline."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hi-python"))
from handler import handler  # noqa: E402


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    r = handler({}, None)
    body = r["body"].encode()
    await send({"type": "http.response.start", "status": r["statusCode"],
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
