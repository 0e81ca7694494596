"""The engine's scheduling and logs through the real server and CLI: reserved concurrency 0
throttles with Lambda's 429, provisioned concurrency makes the first invoke warm, and `gust logs`
shows an invocation's START/REPORT lines, filtered by request id."""
import base64
import json
import os
import selectors
import signal
import subprocess
import time
import unittest

from gustserver import GUST_BIN, ServerTestCase, function_dir


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


class EngineTest(ServerTestCase):
    def cli(self, *args):
        return self.server.cli(*args, "--endpoint", self.server.url, "--data-dir",
                               self.server.data_dir)

    def deploy(self, name):
        r = self.server.cli("deploy", function_dir(name))
        self.assertEqual(r.returncode, 0, r.stderr)

    def invoke(self, name, payload=b"{}", tail=False):
        headers = {"X-Amz-Log-Type": "Tail"} if tail else {}
        return self.server.raw("POST", f"/api/v1/functions/{name}/invoke", body=payload,
                               headers=headers)

    def test_reserved_concurrency_zero_is_lambdas_429(self):
        self.deploy("engine-off")
        status, headers, body = self.invoke("engine-off")
        self.assertEqual(status, 429, body)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "TooManyRequestsException")
        err = json.loads(body)
        self.assertEqual(err["Type"], "User")
        self.assertEqual(err["message"], "Rate Exceeded.")
        self.assertEqual(err["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
        r = self.server.cli("invoke", "engine-off")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ReservedFunctionConcurrentInvocationLimitExceeded", r.stderr)

    def test_provisioned_concurrency_makes_the_first_invoke_warm(self):
        self.deploy("engine-warm")
        deadline = time.monotonic() + 60
        ready = 0
        while time.monotonic() < deadline:
            status, _, body = self.server.raw("GET", "/api/v1/functions/engine-warm")
            self.assertEqual(status, 200, body)
            described = json.loads(body)
            ready = described["provisioned_concurrency_ready"]
            if ready == 1:
                break
            time.sleep(0.05)
        self.assertEqual(ready, 1, self.server.server_log()[-2000:])
        self.assertEqual(described["provisioned_concurrency"], 1)
        self.assertEqual(described["reserved_concurrency"], 2)
        self.assertEqual(described["ephemeral_storage"], 1024)
        status, headers, body = self.invoke("engine-warm", tail=True)
        self.assertEqual(status, 200, body)
        log = base64.b64decode(header(headers, "x-amz-log-result")).decode()
        self.assertIn("REPORT RequestId: ", log)
        self.assertNotIn("Init Duration", log)

    def test_logs_show_an_invocation_and_filter_by_request_id(self):
        self.deploy("engine-logs")
        ids = []
        for tag in ("one", "two"):
            status, headers, body = self.invoke("engine-logs", json.dumps({"tag": tag}).encode())
            self.assertEqual(status, 200, body)
            ids.append(header(headers, "x-amzn-RequestId"))
        # The server writes logs in batches off the invocation's path: poll until they land.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = self.cli("logs", "engine-logs")
            self.assertEqual(r.returncode, 0, r.stderr)
            if f"REPORT RequestId: {ids[1]}" in r.stdout:
                break
            time.sleep(0.1)
        for request_id in ids:
            self.assertIn(f"START RequestId: {request_id} Version: $LATEST\n", r.stdout)
            self.assertIn(f"END RequestId: {request_id}\n", r.stdout)
            self.assertRegex(r.stdout, f"REPORT RequestId: {request_id}\tDuration: ")
        self.assertIn("marker one", r.stdout)

        r = self.cli("logs", "engine-logs", "--request-id", ids[0], "--since", "1h")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"START RequestId: {ids[0]}", r.stdout)
        self.assertIn("marker one", r.stdout)
        self.assertNotIn(ids[1], r.stdout)
        self.assertNotIn("marker two", r.stdout)

        r = self.cli("logs", "no-such-function")
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not exist", r.stderr)

    def test_logs_follow_prints_new_invocations_until_interrupted(self):
        self.deploy("engine-logs")
        env = dict(os.environ)
        env.pop("GUST_TOKEN", None)
        follow = subprocess.Popen(
            [GUST_BIN, "logs", "engine-logs", "--follow", "--since", "1s", "--endpoint",
             self.server.url, "--data-dir", self.server.data_dir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            status, headers, body = self.invoke("engine-logs", b'{"tag": "followed"}')
            self.assertEqual(status, 200, body)
            request_id = header(headers, "x-amzn-RequestId")
            selector = selectors.DefaultSelector()
            selector.register(follow.stdout, selectors.EVENT_READ)
            seen = b""
            deadline = time.monotonic() + 20
            while f"REPORT RequestId: {request_id}".encode() not in seen:
                self.assertLess(time.monotonic(), deadline, seen.decode(errors="replace"))
                if selector.select(timeout=0.5):
                    chunk = os.read(follow.stdout.fileno(), 65536)
                    self.assertTrue(chunk, "gust logs --follow exited early")
                    seen += chunk
            self.assertIn(b"marker followed", seen)
        finally:
            follow.send_signal(signal.SIGINT)
            follow.wait(timeout=10)
            follow.stdout.close()
            follow.stderr.close()
        self.assertEqual(follow.returncode, -signal.SIGINT)


if __name__ == "__main__":
    unittest.main()
