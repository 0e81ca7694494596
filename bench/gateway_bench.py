"""Warm throughput and latency of one handler behind an HTTP route: Gust's API gateway against
the same handler served by plain servers and by serverless-offline.

The handler is `return {"statusCode": 200, "body": "hi"}` (bench/peers/hi-python/handler.py,
bench/peers/hi-node/handler.js). Contenders, each on its own loopback port, all started up front:

  python  gust (a GET route of an API on `gust serve --api-listen`), uvicorn (uvloop +
          httptools, 1 worker), gunicorn (gthread, 2 workers x 4 threads), serverless-offline 13
          on serverless 3 (an httpApi route)
  node    gust (a GET route), Node's http module, serverless-offline (an httpApi route, its
          default worker threads)

The plain servers call the handler with an empty event and write its statusCode and body (the
baseline of a hand-written server); Gust and serverless-offline build the API Gateway event.

Each contender is checked (200 "hi"), warmed up (wrk -c50 for 2 s, -c1 for 1 s), then measured
with `wrk -t2 -c50 -d10s --latency` and `wrk -t1 -c1 -d5s --latency`, interleaved: gust, uvicorn,
gunicorn, serverless-offline, gust, ... for --rounds rounds, so machine drift hits every contender
alike. The table has the median over the rounds of requests/s, p50 and p99.

Gateway overhead (what the API gateway adds to a direct engine call), also in each round:
  engine      bench/gust_engine_bench --sandbox namespace --only warm: the same handler and an
              API Gateway v2 event (`gust generate-event apigateway-v2`), invoke() -> callback
  invoke API  wrk -c1 POST /api/v1/functions/NAME/invoke with that event (HTTP, no gateway)
  route       wrk -c1 GET on the route (HTTP + the gateway)
and route - engine at p50 and p99 (medians over the rounds).

Usage: GUST_BIN=build/release/src/exe/gust bench/gateway_bench.py [--runtime python|node|both]
Peers come from bench/install-peers.sh (Debian packages; serverless-offline with `npm ci`).
Bounded: every wrk run has its own duration and a timeout, the whole run --max-seconds. Loopback
only.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import gust_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")
PY = "/usr/bin/python3"  # Debian's, never a pyenv shim on PATH
NODE = "/usr/bin/node"
WRK = "wrk"
LOAD = {"c50": ["-t2", "-c50"], "c1": ["-t1", "-c1"]}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, path, host=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def wait_ready(name, port, path, proc, host=None, seconds=60, log=None):
    """Waits until GET path answers 200 "hi" (bounded), failing with the server's own words."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            said = ""
            if log is not None:
                log.seek(0)
                said = ":\n" + log.read()[-3000:].decode(errors="replace")
            sys.exit(f"{name} exited with {proc.returncode} before answering{said}")
        try:
            status, body = fetch(port, path, host)
            if status == 200 and body == b"hi":
                return
            last = f"{status} {body[:200]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    sys.exit(f"{name} did not answer 200 'hi' on port {port}{path} within {seconds} s: {last}")


class Target:
    """What wrk loads: GET (or what its script says) on a loopback port and path."""

    def __init__(self, name, port, path, host=None):
        self.name, self.port, self.path, self.host = name, port, path, host

    def url(self):
        return f"http://127.0.0.1:{self.port}{self.path}"


class Server(Target):
    """A peer server process, killed (with its children) when closed."""

    def __init__(self, name, cmd, port, path, cwd=None, env=None, ready_seconds=60):
        super().__init__(name, port, path)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_ready(name, port, path, self.proc, seconds=ready_seconds, log=self.log)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def python_peers(env):
    plain = os.path.join(PEERS, "plain")
    p1, p2 = free_port(), free_port()
    uvicorn = [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(p1), "--no-access-log",
               "--loop", "uvloop", "--http", "httptools", "--app-dir", plain, "asgi_app:app"]
    gunicorn = [PY, "-m", "gunicorn", "-b", f"127.0.0.1:{p2}", "-w", "2", "-k", "gthread",
                "--threads", "4", "--chdir", plain, "wsgi_app:app"]
    return [("uvicorn", lambda: Server("uvicorn", uvicorn, p1, "/", env=env)),
            ("gunicorn", lambda: Server("gunicorn", gunicorn, p2, "/", env=env))]


def node_peers(env):
    port = free_port()
    return [("node http", lambda: Server("node http", [NODE, os.path.join(PEERS, "plain",
                                                                           "node_http.js"),
                                                      str(port)], port, "/", env=env))]


class ServerlessOffline:
    """One `serverless offline start` serving both routes (/py and /node)."""

    def __init__(self, cache, env):
        r = subprocess.run([os.path.join(PEERS, "serverless-offline", "install.sh"), cache],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            sys.exit("serverless-offline is not installed (bench/install-peers.sh): " + r.stderr)
        self.dir = os.path.abspath(r.stdout.strip())
        self.port = free_port()
        env = dict(env, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off",
                   # Its python3.11 runtime runs `python3` from PATH: Debian's.
                   PATH="/usr/bin:" + env.get("PATH", ""))
        cmd = [NODE, os.path.join(self.dir, "node_modules", "serverless", "bin", "serverless.js"),
               "offline", "start", "--httpPort", str(self.port), "--lambdaPort",
               str(free_port())]
        self.server = Server("serverless-offline", cmd, self.port, "/py", cwd=self.dir, env=env,
                             ready_seconds=120)

    def route(self, path):
        wait_ready("serverless-offline", self.port, path, None, seconds=60)
        return Target("serverless-offline", self.port, path)

    def close(self):
        self.server.close()


class Gust:
    """`gust serve` with both handlers deployed and each behind a GET route of one API."""

    def __init__(self, gust_bin, work):
        self.bin = gust_bin
        self.proc, self.port, self.data, self.token = gust_serve.start(
            gust_bin, work, "--api-listen", "127.0.0.1:0")
        line = self.proc.stdout.readline().decode()
        m = re.search(r"APIs \(API gateway\) on http://127\.0\.0\.1:(\d+)", line)
        if not m:
            sys.exit(f"gust serve did not report its API gateway's address: {line!r}")
        self.api_port = int(m.group(1))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.work = work

    def cli(self, *args, server=True):
        """Runs `gust ARGS` (against this server unless `server` is false); returns its output."""
        cmd = [self.bin, *args] + (["--endpoint", self.endpoint, "--data-dir", self.data]
                                   if server else [])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            sys.exit(f"gust {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def deploy(self, code_dir, memory):
        """Deploys the function in code_dir (its gust.yaml names it) with `memory` MB; returns
        its name."""
        copy = os.path.join(self.work, os.path.basename(code_dir))
        shutil.copytree(code_dir, copy)
        manifest = os.path.join(copy, "gust.yaml")
        with open(manifest) as f:
            text = re.sub(r"^memory: \d+", f"memory: {memory}", f.read(), flags=re.M)
        with open(manifest, "w") as f:
            f.write(text)
        self.cli("deploy", copy)
        return re.search(r"^name: (\S+)", text, re.M).group(1)

    def control(self, method, path, body):
        """A control API call with a JSON body; returns the JSON answer (fails on an error)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, json.dumps(body).encode(),
                         {"Authorization": "Bearer " + self.token,
                          "Content-Type": "application/json"})
            res = conn.getresponse()
            out = res.read()
        finally:
            conn.close()
        if res.status not in (200, 201):
            sys.exit(f"gust {method} {path} failed: {res.status} {out[:2000]!r}")
        return json.loads(out)

    def define_api(self, routes):
        """Creates one API with `routes` ({"GET /py": function name}), deploys it to the $default
        stage (no stage prefix in paths) and returns a Target per route key."""
        api = self.control("POST", "/api/v1/apis", {
            "name": "gwbench",
            "routes": [{"route_key": k, "function": f} for k, f in routes.items()]})
        self.control("POST", f"/api/v1/apis/{api['id']}/deployments", {"stage": "$default"})
        targets = {}
        for key in routes:
            path = key.split(" ", 1)[1]
            wait_ready("gust", self.api_port, path, self.proc, seconds=60)
            targets[key] = Target("gust", self.api_port, path)
        return targets

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(text):
    """requests/s, p50 and p99 in ms, and the count of errors (socket errors, non-2xx)."""
    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
        return float(m.group(1)) * UNITS[m.group(2)]
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    return {"rps": rps, "p50": latency(50), "p99": latency(99), "errors": errors}


def wrk(target, load, seconds, script=None):
    cmd = [WRK, *LOAD[load], f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if target.host:
        cmd += ["-H", f"Host: {target.host}"]
    if script:
        cmd += ["-s", script]
    r = subprocess.run(cmd + [target.url()], capture_output=True, text=True,
                       timeout=seconds + 30)
    if r.returncode != 0:
        sys.exit(f"wrk against {target.name} failed: {r.stdout}{r.stderr}")
    return parse_wrk(r.stdout)


def engine_warm(engine_bench, runtime, event_file, invokes, memory):
    """p50 and p99 (ms) of a warm in-process engine invoke of the same handler and event."""
    code = os.path.join(PEERS, f"hi-{runtime}")
    r = subprocess.run([engine_bench, "--sandbox", "namespace", "--only", "warm", "--warm",
                        str(invokes), "--max-seconds", "60", "--runtime", runtime, "--code", code,
                        "--handler", "handler.handler", "--payload", event_file,
                        "--memory", str(memory)],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"median=\s*([\d.]+) ms\s+p90=\s*[\d.]+ ms\s+p99=\s*([\d.]+) ms", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit(f"gust_engine_bench failed: {r.stdout}{r.stderr}")
    return {"p50": float(m.group(1)), "p99": float(m.group(2))}


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def fmt_ms(ms):
    return f"{ms * 1000:.0f} us" if ms < 1 else f"{ms:.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runtime", choices=("python", "node", "both"), default="both")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10, help="each 50-connection run")
    ap.add_argument("--seconds-c1", type=int, default=5, help="each 1-connection run")
    ap.add_argument("--max-seconds", type=float, default=1500)
    # A function's CPU share follows its memory as on Lambda (1769 MB: one vCPU, cpu.shares 1024,
    # what every peer process has); at 128 MB it gets 74/1024 of a peer's share under contention.
    ap.add_argument("--memory", type=int, default=1769, help="the Gust function's memory (MB)")
    ap.add_argument("--peers-cache", default=os.environ.get("GUST_BENCH_PEERS",
                                                            "build/release/bench-peers"))
    ap.add_argument("--engine-bench", default=None,
                    help="gust_engine_bench (default: bench/gust_engine_bench beside GUST_BIN)")
    ap.add_argument("--only", default="",
                    help="comma-separated contenders to run (gust,uvicorn,gunicorn,"
                         "serverless-offline,node http); default all")
    ap.add_argument("--json", help="also write every measurement to this file")
    args = ap.parse_args()
    if shutil.which(WRK) is None:
        sys.exit("wrk is not installed: run bench/install-peers.sh")
    gust_bin = os.environ.get("GUST_BIN", "build/release/src/exe/gust")
    engine_bench = args.engine_bench or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(gust_bin)))), "bench",
        "gust_engine_bench")
    runtimes = ["python", "node"] if args.runtime == "both" else [args.runtime]
    only = {x for x in args.only.split(",") if x}

    def wanted(name):
        return not only or name in only

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    work = tempfile.mkdtemp(prefix="gust-gwbench-")
    deadline = time.monotonic() + args.max_seconds
    closers = []
    contenders = {rt: [] for rt in runtimes}  # runtime -> [target]
    results = {}  # (runtime, name, load) -> [wrk results]
    overhead = {}  # (runtime, what) -> [{"p50", "p99"}]
    invoke_scripts = {}
    try:
        help_text = subprocess.run([gust_bin, "serve", "--help"], capture_output=True, text=True,
                                   timeout=30).stdout
        if wanted("gust") and "--api-listen" not in help_text:
            print(f"{gust_bin} has no API gateway (no `serve --api-listen`): measuring the peers "
                  f"only")
        elif wanted("gust"):
            gust = Gust(gust_bin, work)
            closers.append(gust)
            names = {rt: gust.deploy(os.path.join(PEERS, f"hi-{rt}"), args.memory)
                     for rt in runtimes}
            paths = {"python": "/py", "node": "/node"}
            targets = gust.define_api({f"GET {paths[rt]}": names[rt] for rt in runtimes})
            for rt in runtimes:
                contenders[rt].append(targets[f"GET {paths[rt]}"])
                event = os.path.join(work, f"event-{rt}.json")
                with open(event, "w") as f:
                    f.write(gust.cli("generate-event", "apigateway-v2", "--path", paths[rt],
                                     "--query", "", server=False))
                # The invoke API with the same event: HTTP without the gateway.
                script = os.path.join(work, f"invoke-{rt}.lua")
                with open(script, "w") as f:
                    f.write(f'wrk.method = "POST"\n'
                            f'wrk.body = {json.dumps(open(event).read())}\n'
                            f'wrk.headers["Authorization"] = "Bearer {gust.token}"\n'
                            f'wrk.headers["Content-Type"] = "application/json"\n')
                invoke = Target("gust invoke API", gust.port,
                                f"/api/v1/functions/{names[rt]}/invoke")
                invoke_scripts[rt] = (invoke, script, event)
        for rt in runtimes:
            for name, start in (python_peers(env) if rt == "python" else node_peers(env)):
                if wanted(name):
                    server = start()
                    closers.append(server)
                    contenders[rt].append(server)
        if wanted("serverless-offline"):
            sls = ServerlessOffline(args.peers_cache, env)
            closers.append(sls)
            for rt in runtimes:
                contenders[rt].append(sls.route("/py" if rt == "python" else "/node"))

        # Warm-up: instances started, caches and JITs warm, connections' first costs paid.
        # Gust's first 50-connection run starts an instance per connection.
        for rt in runtimes:
            for t in contenders[rt]:
                wrk(t, "c50", 5)
                wrk(t, "c1", 2)
            if rt in invoke_scripts:
                wrk(invoke_scripts[rt][0], "c1", 2, invoke_scripts[rt][1])

        load_start = os.getloadavg()
        rounds_done = 0
        for _ in range(args.rounds):
            if time.monotonic() > deadline:
                break
            for rt in runtimes:
                for t in contenders[rt]:
                    for load, secs in (("c50", args.seconds), ("c1", args.seconds_c1)):
                        results.setdefault((rt, t.name, load), []).append(wrk(t, load, secs))
                if rt in invoke_scripts:
                    invoke, script, event = invoke_scripts[rt]
                    overhead.setdefault((rt, "invoke API"), []).append(
                        wrk(invoke, "c1", args.seconds_c1, script))
                    overhead.setdefault((rt, "engine"), []).append(
                        engine_warm(engine_bench, rt, event, 5000, args.memory))
            rounds_done += 1
        load_end = os.getloadavg()
    finally:
        for c in reversed(closers):
            c.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"API gateway bench: {os.cpu_count()} cores, kernel {os.uname().release}, "
          f"{rounds_done} interleaved rounds, load avg {load_start[0]:.1f} -> {load_end[0]:.1f}")
    print(f"wrk -t2 -c50 -d{args.seconds}s and wrk -t1 -c1 -d{args.seconds_c1}s --latency; "
          f"medians over the rounds")
    for rt in runtimes:
        print(f"\n{rt} handler")
        print(f"{'contender':<20} {'c50 req/s':>10} {'c50 p50':>10} {'c50 p99':>10} "
              f"{'c1 req/s':>10} {'c1 p50':>10} {'c1 p99':>10} {'errors':>7}")
        for t in contenders[rt]:
            row = [t.name]
            errors = 0
            for load in ("c50", "c1"):
                runs = results.get((rt, t.name, load), [])
                if not runs:
                    row += ["-"] * 3
                    continue
                errors += sum(r["errors"] for r in runs)
                row += [f"{median_of(runs, 'rps'):.0f}", fmt_ms(median_of(runs, "p50")),
                        fmt_ms(median_of(runs, "p99"))]
            print(f"{row[0]:<20} " + " ".join(f"{x:>10}" for x in row[1:]) + f" {errors:>7}")
        g50 = results.get((rt, "gust", "c50"))
        g1 = results.get((rt, "gust", "c1"))
        if g50:
            for peer in [t.name for t in contenders[rt] if t.name != "gust"]:
                p50 = results[(rt, peer, "c50")]
                p1 = results[(rt, peer, "c1")]
                rps50 = median_of(g50, "rps") / median_of(p50, "rps")
                rps1 = median_of(g1, "rps") / median_of(p1, "rps")
                d50 = median_of(g50, "p99") - median_of(p50, "p99")
                d1 = median_of(g1, "p99") - median_of(p1, "p99")
                print(f"gust / {peer:<18} req/s c50 {rps50:6.2f}x  c1 {rps1:6.2f}x;  "
                      f"p99 gust - peer c50 {d50:+8.3f} ms  c1 {d1:+8.3f} ms")
        if (rt, "engine") in overhead and g1:
            e = overhead[(rt, "engine")]
            i = overhead[(rt, "invoke API")]
            print(f"gateway overhead ({rt}, 1 connection, medians over the rounds):")
            print(f"  engine invoke (in process)  p50 {fmt_ms(median_of(e, 'p50')):>9}  "
                  f"p99 {fmt_ms(median_of(e, 'p99')):>9}")
            print(f"  invoke API over HTTP        p50 {fmt_ms(median_of(i, 'p50')):>9}  "
                  f"p99 {fmt_ms(median_of(i, 'p99')):>9}")
            print(f"  route (gateway) over HTTP   p50 {fmt_ms(median_of(g1, 'p50')):>9}  "
                  f"p99 {fmt_ms(median_of(g1, 'p99')):>9}")
            print(f"  route - engine              p50 "
                  f"{fmt_ms(median_of(g1, 'p50') - median_of(e, 'p50')):>9}  p99 "
                  f"{fmt_ms(median_of(g1, 'p99') - median_of(e, 'p99')):>9}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": {"|".join(k): v for k, v in results.items()},
                       "overhead": {"|".join(k): v for k, v in overhead.items()},
                       "load": [load_start, load_end]}, f, indent=1)


if __name__ == "__main__":
    main()
