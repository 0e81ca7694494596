"""Schedules and topics through the real server, CLI and sandboxed functions: a schedule fires on
time (the server's test clock is moved instead of waiting), a run missed while the server was
down fires once after a restart, a disabled schedule does not fire, gust.yaml's schedules are
deployed with the function, a topic fans a message out to every subscriber, and bad
expressions and names are refused with errors that say what to write."""
import calendar
import json
import os
import shutil
import tempfile
import time
import unittest

from gustserver import GustServer

RECORDER = """import json


def handler(event, context):
    print("EVENT " + json.dumps(event, sort_keys=True))
    return {"ok": True}
"""


class SchedulesTopicsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gust-e2e-events-")
        cls.server = GustServer().start(extra_env={"GUST_ALLOW_TEST_CLOCK": "1"},
                                        extra_args=["--test-clock"])
        for name in ("rec-a", "rec-b", "rec-c", "rec-d"):
            cls.deploy(name)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def deploy(cls, name, extra_yaml=""):
        d = os.path.join(cls.tmp, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "app.py"), "w") as f:
            f.write(RECORDER)
        with open(os.path.join(d, "gust.yaml"), "w") as f:
            f.write(f"name: {name}\nruntime: python3.11\nhandler: app.handler\n{extra_yaml}")
        r = cls.server.cli("deploy", d)
        assert r.returncode == 0, r.stderr
        return r

    def cli(self, *args):
        return self.server.cli(*args, "--endpoint", self.server.url, "--data-dir",
                               self.server.data_dir)

    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        status, _, raw = self.server.raw(method, path, body=data)
        return status, (json.loads(raw) if raw else None)

    def advance(self, ms):
        status, body = self.api("POST", "/api/v1/test/clock", {"advance_ms": ms})
        self.assertEqual(status, 200, body)
        return body

    def events(self, function):
        """The events the function's handler received, from its invocation logs."""
        status, body = self.api("GET", f"/api/v1/functions/{function}/logs?limit=1000")
        self.assertEqual(status, 200, body)
        out = []
        for record in body["logs"]:
            for line in record["message"].splitlines():
                if line.startswith("EVENT "):
                    out.append(json.loads(line[len("EVENT "):]))
        return out

    def wait_for_events(self, function, count, what):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            events = self.events(function)
            if len(events) >= count:
                return events
            time.sleep(0.2)
        self.fail(f"{function} received {len(self.events(function))} events, not {count} "
                  f"({what}); server log:\n{self.server.server_log()[-3000:]}")

    def scheduled(self, function):
        return [e for e in self.events(function) if e.get("detail-type") == "Scheduled Event"]

    # ---- schedules -----------------------------------------------------------------------------

    def test_a_cron_schedule_fires_on_time_with_the_scheduled_event(self):
        r = self.cli("schedule", "create", "noon", "--function", "rec-a", "--expression",
                     "cron(0 12 * * ? *)", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        created = json.loads(r.stdout)
        self.assertEqual(created["expression"], "cron(0 12 * * ? *)")
        next_fire = created["next_fire"]
        self.assertRegex(next_fire, r"^\d{4}-\d\d-\d\dT12:00:00Z$")
        now_ms = self.advance(0)["now_ms"]
        fire_ms = calendar.timegm(time.strptime(next_fire, "%Y-%m-%dT%H:%M:%SZ")) * 1000
        # One second before noon nothing fires; at noon it does, once.
        self.assertEqual(self.advance(fire_ms - now_ms - 1000)["fired"], 0)
        self.assertEqual(self.advance(1000)["fired"], 1)
        self.assertEqual(self.advance(0)["fired"], 0)
        event = self.wait_for_events("rec-a", 1, "the noon run")[0]
        self.assertEqual(event["detail-type"], "Scheduled Event")
        self.assertEqual(event["source"], "aws.events")
        self.assertEqual(event["version"], "0")
        self.assertEqual(event["time"], next_fire)
        self.assertEqual(event["detail"], {})
        self.assertEqual(event["account"], "000000000000")
        self.assertEqual(event["region"], "us-east-1")
        self.assertEqual(event["resources"], ["arn:aws:events:us-east-1:000000000000:rule/noon"])
        self.assertEqual(len(event["id"]), 36)
        r = self.cli("schedule", "describe", "noon")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cron(0 12 * * ? *)", r.stdout)
        self.assertIn("rec-a", r.stdout)
        self.assertEqual(self.cli("schedule", "rm", "noon").returncode, 0)

    def test_disable_stops_a_schedule_and_enable_counts_from_then(self):
        r = self.cli("schedule", "create", "every-minute", "--function", "rec-d",
                     "--expression", "rate(1 minute)", "--input", '{"from": "schedule"}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.advance(60_000)["fired"], 1)
        self.wait_for_events("rec-d", 1, "the first run")
        r = self.cli("schedule", "disable", "every-minute")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.advance(10 * 60_000)["fired"], 0)
        r = self.cli("schedule", "ls", "-o", "json")
        listed = {s["name"]: s for s in json.loads(r.stdout)["schedules"]}
        self.assertFalse(listed["every-minute"]["enabled"])
        self.assertIsNone(listed["every-minute"]["next_fire"])
        self.assertEqual(self.cli("schedule", "enable", "every-minute").returncode, 0)
        self.assertEqual(self.advance(30_000)["fired"], 0)
        self.assertEqual(self.advance(30_000)["fired"], 1)
        events = self.wait_for_events("rec-d", 2, "the run after enabling")
        self.assertEqual(events, [{"from": "schedule"}] * 2)  # the constant input
        self.assertEqual(self.cli("schedule", "rm", "every-minute").returncode, 0)

    def test_manifest_schedules_deploy_with_the_function(self):
        self.deploy("rec-c", "schedules:\n  - name: rec-c-hourly\n    expression: rate(1 hour)\n")
        r = self.cli("schedule", "ls", "--function", "rec-c", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        schedules = json.loads(r.stdout)["schedules"]
        self.assertEqual([(s["name"], s["expression"], s["source"]) for s in schedules],
                         [("rec-c-hourly", "rate(1 hour)", "manifest")])
        # A bad expression in gust.yaml is refused before anything is deployed.
        d = os.path.join(self.tmp, "rec-c")
        with open(os.path.join(d, "gust.yaml"), "a") as f:
            f.write("  - expression: rate(2 hour)\n")
        r = self.server.cli("deploy", d)
        self.assertEqual(r.returncode, 2)
        self.assertIn("rate(2 hours)", r.stderr)
        # Without schedules in gust.yaml the function has none.
        self.deploy("rec-c")
        r = self.cli("schedule", "ls", "--function", "rec-c", "-o", "json")
        self.assertEqual(json.loads(r.stdout)["schedules"], [])

    def test_bad_schedules_are_refused_with_clear_errors(self):
        r = self.cli("schedule", "create", "bad", "--function", "rec-a", "--expression",
                     "rate(5 minute)")
        self.assertEqual(r.returncode, 2)
        self.assertIn("rate(5 minutes)", r.stderr)
        r = self.cli("schedule", "create", "bad", "--function", "rec-a", "--expression",
                     "cron(0 12 * * * *)")
        self.assertEqual(r.returncode, 2)
        self.assertIn("'?'", r.stderr)
        r = self.cli("schedule", "create", "bad name", "--function", "rec-a", "--expression",
                     "rate(5 minutes)")
        self.assertEqual(r.returncode, 2)
        self.assertIn("schedule name", r.stderr)
        r = self.cli("schedule", "create", "orphan", "--function", "no-such-fn", "--expression",
                     "rate(5 minutes)")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-fn", r.stderr)
        status, body = self.api("POST", "/api/v1/schedules",
                                {"name": "x", "expression": "rate(1 hour)"})
        self.assertEqual(status, 400)
        self.assertIn("function: is missing", body["message"])
        status, _ = self.api("GET", "/api/v1/schedules/nope")
        self.assertEqual(status, 404)

    # ---- topics --------------------------------------------------------------------------------

    def test_a_topic_fans_out_to_every_subscriber(self):
        self.assertEqual(self.cli("topic", "create", "orders").returncode, 0)
        for fn in ("rec-a", "rec-b"):
            r = self.cli("topic", "subscribe", "orders", fn)
            self.assertEqual(r.returncode, 0, r.stderr)
        before = {fn: len([e for e in self.events(fn) if "Records" in e])
                  for fn in ("rec-a", "rec-b")}
        r = self.cli("topic", "publish", "orders", "--message", "order 1", "--subject", "New",
                     "--attribute", "kind=order")
        self.assertEqual(r.returncode, 0, r.stderr)
        first_id = r.stdout.strip()
        status, body = self.api("POST", "/api/v1/topics/orders/publish", {"message": "order 2"})
        self.assertEqual(status, 200, body)
        second_id = body["message_id"]
        for fn in ("rec-a", "rec-b"):
            self.wait_for_events_where(fn, lambda e: "Records" in e, before[fn] + 2)
            records = [e["Records"][0] for e in self.events(fn) if "Records" in e][before[fn]:]
            # Each handler ran once per message.
            self.assertEqual(sorted(r["Sns"]["MessageId"] for r in records),
                             sorted([first_id, second_id]))
            first = next(r for r in records if r["Sns"]["MessageId"] == first_id)
            self.assertEqual(first["EventSource"], "aws:sns")
            self.assertEqual(first["EventVersion"], "1.0")
            self.assertTrue(first["EventSubscriptionArn"].startswith(
                "arn:aws:sns:us-east-1:000000000000:orders:"))
            sns = first["Sns"]
            self.assertEqual(sns["Type"], "Notification")
            self.assertEqual(sns["TopicArn"], "arn:aws:sns:us-east-1:000000000000:orders")
            self.assertEqual(sns["Subject"], "New")
            self.assertEqual(sns["Message"], "order 1")
            self.assertEqual(sns["MessageAttributes"],
                             {"kind": {"Type": "String", "Value": "order"}})
            self.assertEqual(sns["SignatureVersion"], "1")
            self.assertRegex(sns["Timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        r = self.cli("topic", "describe", "orders", "-o", "json")
        subs = json.loads(r.stdout)["subscriptions"]
        self.assertEqual(sorted(s["function"] for s in subs), ["rec-a", "rec-b"])
        r = self.cli("topic", "unsubscribe", "orders", subs[0]["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.cli("topic", "rm", "orders").returncode, 0)

    def wait_for_events_where(self, function, predicate, count):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len([e for e in self.events(function) if predicate(e)]) >= count:
                return
            time.sleep(0.2)
        self.fail(f"{function} did not receive {count} events; server log:\n"
                  f"{self.server.server_log()[-3000:]}")

    def test_publishing_without_subscribers_is_fine(self):
        self.assertEqual(self.cli("topic", "create", "quiet").returncode, 0)
        r = self.cli("topic", "publish", "quiet", "--message", "anyone?")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), r"^[0-9a-f-]{36}$")

    def test_bad_topics_are_refused_with_clear_errors(self):
        r = self.cli("topic", "create", "bad name")
        self.assertEqual(r.returncode, 2)
        self.assertIn("topic name", r.stderr)
        r = self.cli("topic", "publish", "missing-topic", "--message", "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing-topic", r.stderr)
        self.assertEqual(self.cli("topic", "create", "t1").returncode, 0)
        r = self.cli("topic", "subscribe", "t1", "no-such-fn")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-fn", r.stderr)
        status, body = self.api("POST", "/api/v1/topics/t1/publish", {"subject": "x"})
        self.assertEqual(status, 400)
        self.assertIn("message: is missing", body["message"])


class MissedRunTest(unittest.TestCase):
    """A run missed while the server was down fires once after the restart."""

    def test_a_missed_run_fires_once_after_a_restart(self):
        tmp = tempfile.mkdtemp(prefix="gust-e2e-missed-")
        server = GustServer().start(extra_env={"GUST_ALLOW_TEST_CLOCK": "1"},
                                    extra_args=["--test-clock"])
        try:
            d = os.path.join(tmp, "missed")
            os.makedirs(d)
            with open(os.path.join(d, "app.py"), "w") as f:
                f.write(RECORDER)
            with open(os.path.join(d, "gust.yaml"), "w") as f:
                f.write("name: missed\nruntime: python3.11\nhandler: app.handler\n")
            self.assertEqual(server.cli("deploy", d).returncode, 0)
            status, _, _ = server.raw("POST", "/api/v1/schedules", body=json.dumps(
                {"name": "minutely", "expression": "rate(1 minute)", "function": "missed"}
            ).encode())
            self.assertEqual(status, 201)

            def advance(ms):
                status, _, raw = server.raw("POST", "/api/v1/test/clock",
                                            body=json.dumps({"advance_ms": ms}).encode())
                self.assertEqual(status, 200, raw)
                return json.loads(raw)["fired"]

            self.assertEqual(advance(60_000), 1)
            server.stop()
            # Down for ten minutes (nine slots); the restarted server's clock starts afresh, so
            # it is moved past them.
            server.start(extra_env={"GUST_ALLOW_TEST_CLOCK": "1"}, extra_args=["--test-clock"])
            self.assertEqual(advance(10 * 60_000), 1)
            self.assertEqual(advance(0), 0)
            deadline = time.monotonic() + 60
            seen = 0
            while time.monotonic() < deadline:
                status, _, raw = server.raw("GET", "/api/v1/functions/missed/logs?limit=1000")
                seen = sum(m["message"].count("EVENT ") for m in json.loads(raw)["logs"])
                if seen >= 2:
                    break
                time.sleep(0.2)
            self.assertEqual(seen, 2, server.server_log()[-3000:])
            self.assertIn("once for the runs missed since", server.server_log())
        finally:
            server.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_the_test_clock_is_off_unless_asked_for(self):
        server = GustServer().start()
        try:
            status, _, raw = server.raw("POST", "/api/v1/test/clock",
                                        body=b'{"advance_ms": 60000}')
            self.assertEqual(status, 404, raw)
            self.assertIn("only for tests", json.loads(raw)["message"])
        finally:
            server.cleanup()
        # The option alone is refused: it must be confirmed through the environment.
        server = GustServer()
        try:
            with self.assertRaises(RuntimeError) as caught:
                server.start(extra_args=["--test-clock"])
            self.assertIn("GUST_ALLOW_TEST_CLOCK", str(caught.exception))
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
