"""Asynchronous invocation on `gust serve` (release build, durability on: every event is fsync'd
before its 202, in group commits):

  intake   wrk -t2 -c64 for --seconds: Event invocations of a no-op Python function, all answered
           202 after the commit; events/s and the 202's latency (p50, p99)
  drain    the events the intake left queued, delivered to that function (namespace sandbox,
           --async-concurrency as given): events/s from the end of the intake until the queue
           is empty (read from events.db)
  latency  --paced-events single Event invocations at --pace per second on an idle queue: the
           time from the 202's arrival to the handler's start (the handler logs time.time();
           read back through the logs API), p50 and p99

Bounded: wrk runs for --seconds with a timeout, every wait has a deadline, traffic is loopback only.
Usage: sudo python3 bench/async_bench.py --gust build/release/src/exe/gust
"""
import argparse
import base64
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gust_serve  # noqa: E402

HANDLER = '''import time

def handler(event, context):
    print("T", context.aws_request_id, repr(time.time()), flush=True)
    return None
'''


def request(port, token, method, path, body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body)
    req.add_header("Authorization", "Bearer " + token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, dict(res.headers), res.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def queued(data_dir):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'events.db')}?mode=ro", uri=True,
                         timeout=10)
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def parse_wrk(text):
    def ms(s):
        m = re.match(r"([\d.]+)(us|ms|s)", s)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    return {"rps": rps, "requests": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "p50_ms": ms(lat["50"]), "p99_ms": ms(lat["99"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gust", default="build/release/src/exe/gust")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--async-concurrency", type=int, default=32)
    ap.add_argument("--paced-events", type=int, default=500)
    ap.add_argument("--pace", type=float, default=50.0, help="events per second")
    ap.add_argument("--drain-timeout", type=int, default=900)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run bench/install-peers.sh")

    work = tempfile.mkdtemp(prefix="gust-async-bench-")
    proc, port, data, token = gust_serve.start(
        os.path.abspath(args.gust), work, "--async-concurrency", str(args.async_concurrency))
    try:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", HANDLER)
        body = {"FunctionName": "noop", "Runtime": "python3.11", "Handler": "app.handler",
                "Role": "arn:aws:iam::000000000000:role/bench",
                "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()}}
        status, _, out = request(port, token, "POST", "/2015-03-31/functions",
                                 json.dumps(body).encode())
        if status != 201:
            sys.exit(f"CreateFunction: {status} {out!r}")
        path = "/2015-03-31/functions/noop/invocations"
        # Warm: one instance started, the path through the queue exercised.
        status, _, _ = request(port, token, "POST", path, b'{"warm":true}',
                               {"X-Amz-Invocation-Type": "Event"})
        assert status == 202, status
        deadline = time.monotonic() + 60
        while queued(data) and time.monotonic() < deadline:
            time.sleep(0.1)

        # ---- intake ----
        script = os.path.join(work, "event.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\n'
                    'wrk.body = \'{"n": 1}\'\n'
                    f'wrk.headers["Authorization"] = "Bearer {token}"\n'
                    'wrk.headers["X-Amz-Invocation-Type"] = "Event"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
        r = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s",
                            "--latency", "-s", script, f"http://127.0.0.1:{port}{path}"],
                           capture_output=True, text=True, timeout=args.seconds + 60)
        if r.returncode != 0:
            sys.exit("wrk failed: " + r.stdout + r.stderr)
        intake = parse_wrk(r.stdout)
        intake_end = time.monotonic()
        left = queued(data)

        # ---- drain ----
        deadline = intake_end + args.drain_timeout
        while time.monotonic() < deadline:
            n = queued(data)
            if n == 0:
                break
            time.sleep(0.05)
        drained_in = time.monotonic() - intake_end
        remaining = queued(data)

        # ---- latency ----
        accepted = {}
        gap = 1.0 / args.pace
        start = time.monotonic()
        for i in range(args.paced_events):
            due = start + i * gap
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            status, headers, _ = request(port, token, "POST", path, b'{"paced":true}',
                                         {"X-Amz-Invocation-Type": "Event"})
            at = time.time()
            if status == 202:
                rid = {k.lower(): v for k, v in headers.items()}["x-amzn-requestid"]
                accepted[rid] = at
        deadline = time.monotonic() + 120
        while queued(data) and time.monotonic() < deadline:
            time.sleep(0.1)
        started = {}
        after = 0
        deadline = time.monotonic() + 120
        while len(started) < len(accepted) and time.monotonic() < deadline:
            status, _, out = request(port, token, "GET",
                                     f"/api/v1/functions/noop/logs?limit=1000&after_id={after}")
            page = json.loads(out)
            for rec in page["logs"]:
                for line in rec["message"].splitlines():
                    parts = line.split(" ")
                    if len(parts) == 3 and parts[0] == "T" and parts[1] in accepted:
                        started[parts[1]] = float(parts[2])
            if page["next_after_id"] == after:
                time.sleep(0.2)
            after = page["next_after_id"]
        latencies = [(started[rid] - accepted[rid]) * 1000 for rid in started]

        print(f"intake:  {intake['rps']:.0f} events/s accepted (202 after fsync), "
              f"{intake['requests']} in {args.seconds} s with {args.connections} connections, "
              f"non-2xx {intake['non2xx']}; 202 latency p50 {intake['p50_ms']:.2f} ms, "
              f"p99 {intake['p99_ms']:.2f} ms")
        if remaining:
            print(f"drain:   {left - remaining} of {left} queued events delivered in "
                  f"{drained_in:.1f} s (timed out)")
        else:
            print(f"drain:   {left} queued events delivered in {drained_in:.1f} s: "
                  f"{left / drained_in:.0f} events/s (no-op Python handler, "
                  f"--async-concurrency {args.async_concurrency})")
        if latencies:
            print(f"latency: 202 -> handler start, {len(latencies)} events at {args.pace:.0f}/s: "
                  f"p50 {statistics.median(latencies):.1f} ms, "
                  f"p99 {percentile(latencies, 99):.1f} ms")
        else:
            print("latency: no handler start found in the logs")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
