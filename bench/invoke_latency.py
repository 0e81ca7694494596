"""Invocation latency of a hello-world through `gust serve`, over loopback HTTP:
examples/hello-python (--runtime python, the default) or examples/hello-node (--runtime node).

  cold: first invocation of a freshly deployed function (no instance → response), N functions;
        with the Init Duration of its REPORT line (a few ms: it took a pre-started instance)
  warm: sequential invocations of one warm instance on a kept-alive connection

Prints medians, p90 and p99 in milliseconds. Bounded: at most --cold functions and --warm
requests, and --max-seconds in all.
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(name, ms):
    return (f"{name:<34} n={len(ms):<5} median={statistics.median(ms):8.3f} ms  "
            f"p90={pct(ms, 90):8.3f} ms  p99={pct(ms, 99):8.3f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=30)
    ap.add_argument("--warm", type=int, default=2000)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--runtime", choices=("python", "node"), default="python")
    # Pause after each deploy: lets the server refill its pool of pre-started instances, so that
    # every cold start can take one (0: back to back, as fast as the CLI deploys).
    ap.add_argument("--gap-ms", type=float, default=0)
    args = ap.parse_args()
    example = "hello-" + args.runtime
    gust = os.environ["GUST_BIN"]
    data = tempfile.mkdtemp(prefix="gust-bench-")
    os.chmod(data, 0o711)
    server = subprocess.Popen([gust, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
                               "--log-level", "warn"], stdout=subprocess.PIPE)
    try:
        line = server.stdout.readline().decode()
        port = int(line.rsplit(":", 1)[1].split()[0])
        token = open(os.path.join(data, "token")).read().strip()
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        deadline = time.monotonic() + args.max_seconds

        def cli(*a):
            subprocess.run([gust, *a, "--endpoint", f"http://127.0.0.1:{port}", "--data-dir",
                            data], check=True, capture_output=True)

        work = tempfile.mkdtemp(prefix="gust-bench-fn-")
        fn = os.path.join(work, "fn")
        shutil.copytree(os.path.join(ROOT, "examples", example), fn)
        manifest = open(os.path.join(fn, "gust.yaml")).read()

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        init_ms = []

        def invoke(name, tail=False):
            """Latency in ms; with `tail`, records the REPORT line's Init Duration too."""
            h = dict(headers, **({"X-Amz-Log-Type": "Tail"} if tail else {}))
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/functions/{name}/invoke", b'{"name":"bench"}', h)
            res = conn.getresponse()
            body = res.read()
            dt = (time.perf_counter() - t0) * 1000
            if res.status != 200 or json.loads(body) != {"message": "Hello, bench!"}:
                sys.exit(f"unexpected answer {res.status}: {body!r}")
            if tail:
                log = base64.b64decode(res.getheader("X-Amz-Log-Result", "")).decode()
                m = re.search(r"Init Duration: ([\d.]+) ms", log)
                if m:
                    init_ms.append(float(m.group(1)))
            return dt

        cold = []
        for i in range(args.cold):
            if time.monotonic() > deadline:
                break
            with open(os.path.join(fn, "gust.yaml"), "w") as f:
                f.write(manifest.replace(f"name: {example}", f"name: cold-{i}"))
            cli("deploy", fn)
            time.sleep(args.gap_ms / 1000)
            cold.append(invoke(f"cold-{i}", tail=True))
        warm = []
        invoke("cold-0")  # make sure it is warm
        for _ in range(args.warm):
            if time.monotonic() > deadline:
                break
            warm.append(invoke("cold-0"))
        shutil.rmtree(work)

        print(f"machine: {os.cpu_count()} cores, kernel {os.uname().release}, {example}")
        print(summary("cold start (deploy → first invoke)", cold))
        if init_ms:
            print(summary("  of which Init Duration", init_ms))
        print(summary("warm invoke (keep-alive HTTP)", warm))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
