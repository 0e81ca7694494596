"""Starts and stops a real `gust serve` for end-to-end tests, and runs the real CLI."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

GUST_BIN = os.environ["GUST_BIN"]
SOURCE_DIR = os.environ["GUST_SOURCE_DIR"]


class GustServer:
    def __init__(self, data_dir=None):
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="gust-e2e-")
        os.chmod(self.data_dir, 0o711)
        self.proc = None
        self.url = None

    def start(self, extra_env=None, extra_args=()):
        env = dict(os.environ)
        env.update(extra_env or {})
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [GUST_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
             *extra_args],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                raise RuntimeError("gust serve exited early: " + self.server_log())
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
                break
        else:
            raise RuntimeError("gust serve did not report its address")
        # Keep reading stdout so the server never blocks on a full pipe.
        self.banner = line
        while time.monotonic() < deadline:
            try:
                if self.raw("GET", "/healthz", auth=False)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("gust serve never became healthy")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            code = self.proc.wait(timeout=60)
            self.proc.stdout.close()
            self.log.close()
            self.proc = None
            return code
        return None

    def cleanup(self):
        self.stop()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def server_log(self):
        with open(os.path.join(self.data_dir, "server.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def token(self):
        with open(os.path.join(self.data_dir, "token")) as f:
            return f.read().strip()

    def raw(self, method, path, body=None, auth=True, token=None, headers=None):
        """One HTTP request; returns (status, headers, body bytes)."""
        req = urllib.request.Request(self.url + path, method=method, data=body)
        if auth:
            req.add_header("Authorization", "Bearer " + (token or self.token()))
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def cli(self, *args, stdin=None, env=None):
        """Runs the real gust CLI against this server; returns CompletedProcess (text)."""
        full_env = dict(os.environ)
        full_env.pop("GUST_TOKEN", None)
        # Every client command finds this server through the environment.
        full_env["GUST_ENDPOINT"] = self.url
        full_env["GUST_DATA_DIR"] = self.data_dir
        full_env.update(env or {})
        cmd = [GUST_BIN, *args]
        if args and args[0] in ("deploy", "invoke", "ls", "describe", "rm"):
            cmd += ["--endpoint", self.url, "--data-dir", self.data_dir]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=full_env,
                              timeout=120)


class ServerTestCase(unittest.TestCase):
    """A test class sharing one server (started with `server_args`) across its tests."""
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start(extra_args=cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()


def npm_install(source_dir, cache_variable, installed, hint=""):
    """Installs the npm packages pinned by source_dir's package.json and package-lock.json with
    `npm ci` into a directory named by the lock file's hash, under $cache_variable (the build dir)
    or else the temp dir, and returns that directory; a later run reuses it. `installed` is a path
    in it that exists once the install has succeeded. If the npm registry cannot be reached the
    calling test is skipped, saying why; any other failure raises, with `hint` on what to do."""
    with open(os.path.join(source_dir, "package-lock.json"), "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    root = os.path.join(os.environ.get(cache_variable, tempfile.gettempdir()), key)
    if os.path.exists(os.path.join(root, installed)):
        return root
    os.makedirs(root, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(source_dir, name), root)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=root, capture_output=True,
                       text=True, timeout=900)
    unreachable = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET")
    if r.returncode != 0 and any(code in r.stdout + r.stderr for code in unreachable):
        # No registry, no client to test: say so instead of failing the whole suite.
        raise unittest.SkipTest(f"the npm registry is unreachable, so the packages of "
                                f"{source_dir} cannot be installed:\n" + r.stderr[-1000:])
    if r.returncode != 0 or not os.path.exists(os.path.join(root, installed)):
        raise RuntimeError(f"npm ci in {root} failed{hint}:\n" + r.stdout[-3000:] +
                           r.stderr[-3000:])
    return root


def example(name):
    return os.path.join(SOURCE_DIR, "examples", name)


def function_dir(name):
    return os.path.join(SOURCE_DIR, "tests", "e2e", "functions", name)


def parse_json(text):
    return json.loads(text)
