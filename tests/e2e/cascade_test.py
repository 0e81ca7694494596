"""Cascading invocations through the real server: functions invoke other functions through
Lambda's API inside their own sandbox (AWS_ENDPOINT_URL_LAMBDA) — Python with Debian's boto3,
Node with plain http — synchronously and as events, limited to the callees their `invokes`
allows and to a nesting depth that stops loops; the endpoint serves nothing but Invoke, and the
server's own API stays out of reach."""
import json
import time
import unittest
import uuid
from urllib.parse import urlparse

from gustserver import GustServer, function_dir


class CascadeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start()
        for name in ("cascade-callee", "cascade-outsider", "cascade-caller", "cascade-node",
                     "cascade-loop-a", "cascade-loop-b"):
            r = cls.server.cli("deploy", function_dir(name))
            if r.returncode != 0:
                cls.server.cleanup()
                raise RuntimeError(f"deploy {name}: {r.stderr}")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def invoke(self, name, event):
        status, _, body = self.server.raw("POST", f"/2015-03-31/functions/{name}/invocations",
                                          body=json.dumps(event).encode())
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def logs(self, name):
        status, _, body = self.server.raw("GET", f"/api/v1/functions/{name}/logs?limit=1000")
        self.assertEqual(status, 200, body)
        records = next(v for v in json.loads(body).values() if isinstance(v, list))
        return "".join(r["message"] for r in records)

    def test_boto3_invokes_an_allowed_callee_synchronously(self):
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-callee",
                                             "payload": {"tag": "sync"}})
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["payload"], {"callee": "cascade-callee", "echo": {"tag": "sync"}})
        self.assertIsNone(out["function_error"])
        self.assertEqual(out["executed_version"], "$LATEST")
        # A bare name in `invokes` allows every qualifier.
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-callee",
                                             "qualifier": "$LATEST", "payload": {"tag": "q"}})
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["payload"]["echo"], {"tag": "q"})

    def test_boto3_invokes_as_an_event_and_the_callee_runs(self):
        tag = uuid.uuid4().hex
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-callee",
                                             "type": "Event", "payload": {"tag": tag}})
        self.assertEqual(out["status"], 202, out)
        deadline = time.monotonic() + 30
        while f"callee ran with tag {tag}" not in self.logs("cascade-callee"):
            self.assertLess(time.monotonic(), deadline, "the event never ran the callee")
            time.sleep(0.1)

    def test_dry_run_checks_without_running(self):
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-callee",
                                             "type": "DryRun"})
        self.assertEqual(out["status"], 204, out)

    def test_a_callee_outside_the_allow_list_is_refused(self):
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-outsider",
                                             "payload": {}})
        self.assertEqual(out.get("error"), "AccessDeniedException", out)
        self.assertEqual(out["status"], 403)
        self.assertIn("not allowed to invoke cascade-outsider", out["message"])
        self.assertIn("`invokes`", out["message"])
        # As an event too: nothing is queued.
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-outsider",
                                             "type": "Event"})
        self.assertEqual(out.get("error"), "AccessDeniedException", out)
        self.assertNotIn("outsider ran", self.logs("cascade-outsider"))
        # A callee that does not exist is refused the same way (its absence is not revealed).
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "no-such-function"})
        self.assertEqual(out.get("error"), "AccessDeniedException", out)

    def test_event_payloads_keep_lambdas_limit(self):
        out = self.invoke("cascade-caller", {"action": "invoke", "target": "cascade-callee",
                                             "type": "Event",
                                             "payload": {"pad": "x" * (1024 * 1024)}})
        self.assertEqual(out.get("error"), "RequestTooLargeException", out)
        self.assertEqual(out["status"], 413)

    def test_node_invokes_with_plain_http(self):
        out = self.invoke("cascade-node", {"target": "cascade-callee", "payload": {"tag": "node"}})
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["payload"], {"callee": "cascade-callee", "echo": {"tag": "node"}})
        out = self.invoke("cascade-node", {"target": "cascade-outsider"})
        self.assertEqual(out["status"], 403, out)
        self.assertEqual(out["type"], "AccessDeniedException")

    def test_a_loop_stops_at_the_depth_limit(self):
        out = self.invoke("cascade-loop-a", {})
        # Depths 0 to 16 ran (17 functions); the 17th nested invoke was refused.
        self.assertEqual(out["hops"], 17, out)
        self.assertEqual(out["status"], 400)
        self.assertEqual(out["type"], "RecursiveInvocationException")
        self.assertIn("stop at depth 16", out["message"])

    def test_an_event_loop_stops_at_the_depth_limit_too(self):
        tag = uuid.uuid4().hex
        status, _, body = self.server.raw("POST", "/2015-03-31/functions/cascade-loop-a/invocations",
                                          body=json.dumps({"async": True, "tag": tag}).encode(),
                                          headers={"X-Amz-Invocation-Type": "Event"})
        self.assertEqual(status, 202, body)
        # Depth 0 is this Event; the function at depth 16 is refused its own Event invoke. The
        # deepest hop is even, so it is cascade-loop-a that reports it.
        deadline = time.monotonic() + 120
        while tag not in self.logs("cascade-loop-a"):
            self.assertLess(time.monotonic(), deadline, self.logs("cascade-loop-a")[-2000:])
            time.sleep(0.2)
        stopped = [json.loads(line[len("loop stopped "):])
                   for line in self.logs("cascade-loop-a").splitlines() if tag in line]
        self.assertEqual(len(stopped), 1, stopped)
        self.assertEqual(stopped[0]["hops"], 17)
        self.assertEqual(stopped[0]["status"], 400)
        self.assertEqual(stopped[0]["type"], "RecursiveInvocationException")
        self.assertNotIn(tag, self.logs("cascade-loop-b"))

    def test_only_invoke_is_served_and_the_server_api_is_out_of_reach(self):
        out = self.invoke("cascade-caller", {"action": "list"})
        self.assertEqual(out["error"], "AccessDeniedException", out)
        self.assertIn("only Invoke", out["message"])
        out = self.invoke("cascade-caller", {"action": "fetch",
                                             "url": "{endpoint}/api/v1/functions"})
        self.assertEqual(out["status"], 404, out)
        self.assertEqual(out["type"], "UnsupportedOperationException")
        out = self.invoke("cascade-caller", {"action": "fetch", "url": "{endpoint}/healthz"})
        self.assertEqual(out["status"], 404, out)
        # The server's own listener is on the host's loopback, not the sandbox's.
        port = urlparse(self.server.url).port
        out = self.invoke("cascade-caller", {"action": "fetch",
                                             "url": f"http://127.0.0.1:{port}/healthz"})
        self.assertIn("unreachable", out)

    def test_describe_shows_the_allow_list(self):
        r = self.server.cli("describe", "cascade-caller")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"Invokes: +cascade-callee\n")
        r = self.server.cli("describe", "cascade-caller", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["invokes"], ["cascade-callee"])
        r = self.server.cli("describe", "cascade-callee")
        self.assertRegex(r.stdout, r"Invokes: +none\n")

    def test_the_environment_names_the_endpoint_and_credentials(self):
        env = self.invoke("cascade-caller", {"action": "env"})
        self.assertEqual(env["AWS_ENDPOINT_URL_LAMBDA"], "http://127.0.0.1:9002")
        self.assertRegex(env["AWS_ACCESS_KEY_ID"], r"^ASIA[0-9A-F]{16}$")
        self.assertRegex(env["AWS_SECRET_ACCESS_KEY"], r"^[0-9a-f]{40}$")
        self.assertTrue(env["AWS_SESSION_TOKEN"])
        self.assertEqual(env["AWS_REGION"], "us-east-1")


if __name__ == "__main__":
    unittest.main()
