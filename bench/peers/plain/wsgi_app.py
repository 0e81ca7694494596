"""The Python handler served by a WSGI server (gunicorn): each request calls it and writes its
statusCode and body, as bench/gateway_bench.py's plain-server baseline."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hi-python"))
from handler import handler  # noqa: E402


def app(environ, start_response):
    r = handler({}, None)
    body = r["body"].encode()
    start_response(f"{r['statusCode']} OK", [("Content-Type", "text/plain"),
                                            ("Content-Length", str(len(body)))])
    return [body]
