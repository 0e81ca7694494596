"""kill -9 of the server while it accepts a bounded load of asynchronous invocations: every event
answered 202 is delivered at least once after the restart. Deliveries are counted by the function
itself (a line per run in a file outside the server), completions by the success records the
server stores with each event's removal from its queue. Duplicates are allowed (at least once)
and reported."""
import base64
import collections
import http.client
import io
import json
import os
import signal
import tempfile
import threading
import time
import unittest
import urllib.parse
import zipfile

from asyncprobe import wait_until
from gustserver import GustServer, function_dir

EVENTS = 10_000
KILL_AFTER = 3_000  # accepted events before the kill
CLIENTS = 16
QUEUE = "crash-ok"


def counter_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(os.path.join(function_dir("async-counter"), "app.py"), "app.py")
    return base64.b64encode(buf.getvalue()).decode()


class Load:
    """CLIENTS threads sending Event invocations numbered 0..EVENTS-1, each once; a request that
    fails (the server is down) is not retried. Records the request id of every 202."""

    def __init__(self, server):
        self.server = server
        self.lock = threading.Lock()
        self.next = 0
        self.accepted = {}      # n -> request id
        self.unacknowledged = 0
        self.up = threading.Event()
        self.up.set()

    def take(self):
        with self.lock:
            if self.next >= EVENTS:
                return None
            self.next += 1
            return self.next - 1

    def client(self):
        conn = None
        while True:
            n = self.take()
            if n is None:
                return
            self.up.wait(120)
            try:
                if conn is None:
                    host = urllib.parse.urlparse(self.server.url)
                    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
                conn.request("POST", "/2015-03-31/functions/crash-sink/invocations",
                             body=json.dumps({"n": n}),
                             headers={"X-Amz-Invocation-Type": "Event",
                                      "Authorization": "Bearer " + self.token})
                res = conn.getresponse()
                res.read()
                if res.status != 202:
                    raise AssertionError(f"event {n}: {res.status}")
                with self.lock:
                    self.accepted[n] = res.getheader("x-amzn-requestid")
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.unacknowledged += 1
                if conn is not None:
                    conn.close()
                conn = None

    def run(self, on_progress):
        self.token = self.server.token()
        threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        on_progress()
        for t in threads:
            t.join(600)


@unittest.skipUnless(os.geteuid() == 0, "gust serve needs root")
class AsyncCrashTest(unittest.TestCase):
    def test_kill_9_during_intake_loses_no_accepted_event(self):
        runs_dir = tempfile.mkdtemp(prefix="gust-async-crash-")
        os.chmod(runs_dir, 0o777)
        runs_file = os.path.join(runs_dir, "runs")
        with open(runs_file, "w"):
            pass
        os.chmod(runs_file, 0o666)
        # The process sandbox lets the function write the count outside the server; what is
        # tested here is the queue, not isolation.
        args = ["--sandbox", "process"]
        server = GustServer().start(extra_args=args)
        try:
            body = {"FunctionName": "crash-sink", "Runtime": "python3.11",
                    "Handler": "app.handler", "Role": "arn:aws:iam::000000000000:role/r",
                    "Code": {"ZipFile": counter_zip()},
                    "Environment": {"Variables": {"RUNS_FILE": runs_file}}}
            status, _, out = server.raw("POST", "/2015-03-31/functions", json.dumps(body).encode())
            self.assertEqual(status, 201, out)
            status, _, out = server.raw(
                "PUT", "/2019-09-25/functions/crash-sink/event-invoke-config",
                json.dumps({"DestinationConfig": {"OnSuccess": {
                    "Destination": "arn:aws:sqs:us-east-1:000000000000:" + QUEUE}}}).encode())
            self.assertEqual(status, 200, out)

            load = Load(server)
            killed_at = {}

            def kill_and_restart():
                wait_until(lambda: len(load.accepted) >= KILL_AFTER, seconds=300,
                           what=f"{KILL_AFTER} accepted events")
                load.up.clear()
                server.proc.send_signal(signal.SIGKILL)
                server.proc.wait(timeout=30)
                killed_at["accepted"] = len(load.accepted)
                server.proc.stdout.close()
                server.log.close()
                server.proc = None
                server.start(extra_args=args)
                load.up.set()

            load.run(kill_and_restart)
            accepted = dict(load.accepted)
            self.assertGreaterEqual(killed_at["accepted"], KILL_AFTER)
            self.assertGreater(len(accepted), killed_at["accepted"], "no event after the restart")

            def records():
                out, after = [], ""
                while True:
                    status, _, body = server.raw(
                        "GET", f"/api/v1/dead-letters?queue={QUEUE}&limit=1000&after={after}")
                    self.assertEqual(status, 200, body)
                    page = json.loads(body)
                    out += page["dead_letters"]
                    after = page["next"]
                    if not after:
                        return out

            wanted = set(accepted.values())

            def all_completed():
                done = {r["request_id"] for r in records()}
                return wanted <= done

            # Each look lists every record: look every 2 s, not to take the server's CPU.
            deadline = time.monotonic() + 600
            while not all_completed():
                self.assertLess(time.monotonic(), deadline,
                                "accepted events still not completed after 600 s")
                time.sleep(2)
            with open(runs_file) as f:
                ran = collections.Counter(line.strip() for line in f if line.strip())
            completed = collections.Counter(r["request_id"] for r in records())
            missing = [rid for rid in wanted if ran[rid] == 0]
            duplicates = {rid: c for rid, c in ran.items() if c > 1}
            unacknowledged_but_run = [rid for rid in ran if rid not in wanted]
            print(f"\nasync crash test: {EVENTS} events sent, {len(accepted)} accepted (202), "
                  f"{load.unacknowledged} unacknowledged (the server was down), kill -9 after "
                  f"{killed_at['accepted']} accepted; runs: {sum(ran.values())}, accepted events "
                  f"not run: {len(missing)}, accepted events run more than once: "
                  f"{sum(1 for rid in duplicates if rid in wanted)} "
                  f"({sum(c - 1 for rid, c in duplicates.items() if rid in wanted)} extra runs), "
                  f"unacknowledged events that ran anyway: {len(unacknowledged_but_run)}, "
                  f"success records: {sum(completed.values())}", flush=True)
            self.assertEqual(missing, [], "accepted events never delivered")
            self.assertEqual(len(accepted) + load.unacknowledged, EVENTS)
            for rid in wanted:
                self.assertGreaterEqual(completed[rid], 1)
        finally:
            server.cleanup()
            for name in os.listdir(runs_dir):
                os.unlink(os.path.join(runs_dir, name))
            os.rmdir(runs_dir)


if __name__ == "__main__":
    unittest.main()
