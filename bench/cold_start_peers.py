"""Cold start of the same Python handler: Gust vs bubblewrap + python3 vs runc + python3.

Same handler (examples/hello-python), same interpreter (Debian's /usr/bin/python3 -I -S), same
event, interleaved A B C A B C … so machine drift hits every contender alike.

  gust   POST /api/v1/functions/<fresh>/invoke to a running `gust serve`: no instance exists,
         the response ends the measurement (the sandbox is torn down later, off the path).
  bwrap  `bwrap --unshare-all` with /usr and the code bound read-only, running the handler once;
         measured until the process exits (as hyperfine would).
  runc   `runc run` of an OCI bundle (host /usr and the code bound read-only, v1 cgroups);
         measured until the process exits.

Bounded: --runs per contender and --max-seconds in all. Loopback only.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import gust_serve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = os.path.join(ROOT, "examples", "hello-python")
PY = "/usr/bin/python3"
SNIPPET = ("import sys,json,os; sys.path.insert(0,'/var/task'); os.environ['GREETING']='Hello'; "
           "import app; print(json.dumps(app.handler({'name':'bench'}, None)))")
EXPECTED = {"message": "Hello, bench!"}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed_run(cmd):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, timeout=30)
    dt = (time.perf_counter() - t0) * 1000
    if out.returncode != 0 or json.loads(out.stdout.decode().strip().splitlines()[-1]) != EXPECTED:
        sys.exit(f"{cmd[0]} failed: rc={out.returncode} {out.stdout!r} {out.stderr!r}")
    return dt


def bwrap_cmd():
    return ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
            "--ro-bind", CODE, "/var/task", "--proc", "/proc", "--dev", "/dev",
            "--tmpfs", "/tmp", "--chdir", "/var/task", PY, "-I", "-S", "-c", SNIPPET]


def make_runc_bundle(work):
    bundle = os.path.join(work, "runc")
    rootfs = os.path.join(bundle, "rootfs")
    for d in ("usr", "var/task", "tmp", "proc", "dev", "sys", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        os.symlink(f"usr/{link}", os.path.join(rootfs, link))
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = [PY, "-I", "-S", "-c", SNIPPET]
    spec["process"]["cwd"] = "/var/task"
    spec["root"] = {"path": "rootfs", "readonly": True}
    spec["mounts"] += [
        {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]},
        {"destination": "/var/task", "type": "bind", "source": CODE, "options": ["rbind", "ro"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "size=65536k"]},
    ]
    spec["linux"]["cgroupsPath"] = "gust-bench/runc"
    spec["linux"]["resources"] = {"memory": {"limit": 128 << 20}, "pids": {"limit": 64}}
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    return bundle


def remove_runc_cgroups():
    """runc leaves the (empty) parent groups of relative cgroupsPaths behind; remove ours."""
    for top, dirs, _ in os.walk("/sys/fs/cgroup", topdown=False):
        if os.path.basename(top) == "gust-bench":
            for d in dirs:
                try:
                    os.rmdir(os.path.join(top, d))
                except OSError:
                    pass
            try:
                os.rmdir(top)
            except OSError:
                pass


class Gust:
    def __init__(self, gust_bin, work):
        self.bin = gust_bin
        self.proc, self.port, self.data, self.token = gust_serve.start(gust_bin, work)
        self.fn = os.path.join(work, "fn")
        shutil.copytree(CODE, self.fn)
        self.manifest = open(os.path.join(self.fn, "gust.yaml")).read()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.n = 0

    def prepare(self):
        """Deploys a fresh function (untimed) and returns its name."""
        self.n += 1
        name = f"cold-{self.n}"
        with open(os.path.join(self.fn, "gust.yaml"), "w") as f:
            f.write(self.manifest.replace("name: hello-python", f"name: {name}"))
        subprocess.run([self.bin, "deploy", self.fn, "--endpoint", f"http://127.0.0.1:{self.port}",
                        "--data-dir", self.data], check=True, capture_output=True)
        return name

    def invoke(self, name):
        t0 = time.perf_counter()
        self.conn.request("POST", f"/api/v1/functions/{name}/invoke", b'{"name":"bench"}',
                          {"Authorization": "Bearer " + self.token})
        res = self.conn.getresponse()
        body = res.read()
        dt = (time.perf_counter() - t0) * 1000
        if res.status != 200 or json.loads(body) != EXPECTED:
            sys.exit(f"gust failed: {res.status} {body!r}")
        return dt

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--max-seconds", type=float, default=240)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gust-bench-peers-")
    gust = Gust(os.environ["GUST_BIN"], work)
    bundle = make_runc_bundle(work)
    results = {"gust": [], "bwrap + python3": [], "runc + python3": []}
    deadline = time.monotonic() + args.max_seconds
    try:
        for i in range(args.runs + 2):  # the first two rounds warm caches and are dropped
            if time.monotonic() > deadline:
                break
            name = gust.prepare()
            g = gust.invoke(name)
            b = timed_run(bwrap_cmd())
            r = timed_run(["runc", "run", "--bundle", bundle, f"gust-bench-{os.getpid()}-{i}"])
            if i >= 2:
                results["gust"].append(g)
                results["bwrap + python3"].append(b)
                results["runc + python3"].append(r)
    finally:
        gust.close()
        shutil.rmtree(work, ignore_errors=True)
        remove_runc_cgroups()
    base = statistics.median(results["gust"])
    print(f"cold start, Python hello (no instance -> result), {len(results['gust'])} interleaved "
          f"runs each, ms")
    print(f"{'contender':<18} {'median':>8} {'p90':>8} {'p99':>8} {'median / gust':>14}")
    for name, ms in results.items():
        med = statistics.median(ms)
        print(f"{name:<18} {med:8.2f} {pct(ms, 90):8.2f} {pct(ms, 99):8.2f} {med / base:13.2f}x")


if __name__ == "__main__":
    main()
