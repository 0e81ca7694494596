"""The walking skeleton end to end: gust serve, gust deploy, gust invoke, over real HTTP, with
real Python instances in sandboxes, plus the bad-input cases of the control API."""
import json
import os
import shutil
import stat
import tempfile
import unittest

from gustserver import GustServer, example, function_dir


class WalkingSkeletonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start(extra_env={"GUST_E2E_SECRET": "do-not-leak"})

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def deploy(self, path):
        r = self.server.cli("deploy", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_deploy_and_invoke_hello_python(self):
        r = self.deploy(example("hello-python"))
        self.assertRegex(r.stdout, r"^(Created|Updated) hello-python: python3.11 app.handler")
        r = self.server.cli("invoke", "hello-python", "--payload", '{"name": "e2e"}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, e2e!"})
        # The payload can come from stdin ("-") and from a file too.
        r = self.server.cli("invoke", "hello-python", "--file", "-", stdin='{"name": "stdin"}')
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, stdin!"})
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"name": "file"}')
            f.flush()
            r = self.server.cli("invoke", "hello-python", "--payload-file", f.name)
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, file!"})

    def test_context_environment_and_warm_reuse(self):
        self.deploy(function_dir("context"))
        first = json.loads(self.server.cli("invoke", "context-probe", "--payload", "[1,2]").stdout)
        second = json.loads(self.server.cli("invoke", "context-probe").stdout)
        self.assertEqual(first["event"], [1, 2])
        self.assertEqual(second["event"], {})  # no payload: an empty object, as Lambda does
        self.assertEqual(first["function_name"], "context-probe")
        self.assertEqual(first["memory_limit_in_mb"], "256")
        self.assertTrue(first["remaining_ms_positive"])
        self.assertEqual(first["color"], "blue")
        self.assertFalse(first["server_env_leaked"], "the server's environment reached the function")
        self.assertNotEqual(first["request_id"], second["request_id"])
        # The second call ran on the same warm instance.
        self.assertEqual(first["pid"], second["pid"])
        self.assertEqual(second["calls"], first["calls"] + 1)

    def test_function_error_exits_nonzero_and_shows_the_error(self):
        self.deploy(function_dir("fails"))
        r = self.server.cli("invoke", "always-fails", "--payload", '{"x": 42}', "--tail")
        self.assertEqual(r.returncode, 1)
        err = json.loads(r.stdout)
        self.assertEqual(err["errorType"], "ValueError")
        self.assertEqual(err["errorMessage"], "bad input: 42")
        self.assertIsInstance(err["stackTrace"], list)
        self.assertIn("function error: ValueError: bad input: 42", r.stderr)
        self.assertIn("about to fail", r.stderr)  # --tail shows the function's log
        self.assertRegex(r.stderr, r"START RequestId: [0-9a-f-]{36} Version: \$LATEST")
        # Over raw HTTP the platform answers 200 with Lambda's error header.
        status, headers, body = self.server.raw("POST", "/api/v1/functions/always-fails/invoke",
                                                b'{"x": 1}')
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("x-amz-function-error"), "Unhandled")
        self.assertEqual(json.loads(body)["errorType"], "ValueError")

    def test_update_replaces_the_code(self):
        work = tempfile.mkdtemp(prefix="gust-e2e-fn-")
        try:
            fn = os.path.join(work, "fn")
            shutil.copytree(example("hello-python"), fn)
            with open(os.path.join(fn, "gust.yaml")) as f:
                manifest = f.read().replace("name: hello-python", "name: updatable")
            with open(os.path.join(fn, "gust.yaml"), "w") as f:
                f.write(manifest)
            self.assertIn("Created updatable", self.deploy(fn).stdout)
            self.assertEqual(json.loads(self.server.cli("invoke", "updatable").stdout),
                             {"message": "Hello, world!"})
            with open(os.path.join(fn, "gust.yaml"), "w") as f:
                f.write(manifest.replace("GREETING: Hello", "GREETING: Howdy"))
            r = self.deploy(fn)
            self.assertIn("Updated updatable", r.stdout)
            self.assertIn("revision 2", r.stdout)
            self.assertEqual(json.loads(self.server.cli("invoke", "updatable").stdout),
                             {"message": "Howdy, world!"})
            # ls / describe / rm
            self.assertIn("updatable", self.server.cli("ls").stdout)
            described = json.loads(self.server.cli("describe", "updatable", "-o", "json").stdout)
            self.assertEqual(described["environment"], {"GREETING": "Howdy"})
            self.assertEqual(len(described["code_sha256"]), 64)
            self.assertEqual(self.server.cli("rm", "updatable").returncode, 0)
            r = self.server.cli("invoke", "updatable")
            self.assertEqual(r.returncode, 2)
            self.assertIn("\"updatable\" does not exist", r.stderr)
        finally:
            shutil.rmtree(work)

    def test_unknown_function_is_404_with_json_error(self):
        status, headers, body = self.server.raw("POST", "/api/v1/functions/nope/invoke", b"{}")
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("content-type"), "application/json")
        err = json.loads(body)
        self.assertEqual(err["code"], "NotFound")
        self.assertIn("nope", err["message"])
        r = self.server.cli("invoke", "nope")
        self.assertEqual(r.returncode, 2)
        self.assertIn("gust: error:", r.stderr)

    def test_malformed_json_is_400(self):
        self.deploy(example("hello-python"))
        status, _, body = self.server.raw("POST", "/api/v1/functions/hello-python/invoke",
                                          b'{"name": ')
        self.assertEqual(status, 400)
        self.assertIn("Could not parse request body into json", json.loads(body)["message"])
        status, _, body = self.server.raw("POST", "/api/v1/functions", b"not json")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["code"], "InvalidArgument")

    def test_invalid_manifest_names_the_field(self):
        work = tempfile.mkdtemp(prefix="gust-e2e-fn-")
        try:
            with open(os.path.join(work, "gust.yaml"), "w") as f:
                f.write("name: bad\nruntime: python3.11\nhandler: app.handler\nmemory: 64\n")
            r = self.server.cli("deploy", work)
            self.assertEqual(r.returncode, 2)
            self.assertIn("memory", r.stderr)
            self.assertIn("128", r.stderr)  # says what is allowed
            with open(os.path.join(work, "gust.yaml"), "w") as f:
                f.write("name: bad\nruntime: cobol\nhandler: app.handler\n")
            r = self.server.cli("deploy", work)
            self.assertEqual(r.returncode, 2)
            self.assertIn("runtime", r.stderr)
            self.assertIn("python3.11", r.stderr)
            os.remove(os.path.join(work, "gust.yaml"))
            r = self.server.cli("deploy", work)
            self.assertEqual(r.returncode, 2)
            self.assertIn("gust.yaml", r.stderr)
        finally:
            shutil.rmtree(work)

    def test_control_api_requires_the_token(self):
        status, headers, body = self.server.raw("GET", "/api/v1/functions", auth=False)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("www-authenticate"), "Bearer")
        self.assertIn("token", json.loads(body)["message"])
        status, _, _ = self.server.raw("GET", "/api/v1/functions", token="0" * 64)
        self.assertEqual(status, 401)
        status, _, _ = self.server.raw("POST", "/api/v1/functions/hello-python/invoke", b"{}",
                                       auth=False)
        self.assertEqual(status, 401)
        # The CLI also takes the token from GUST_TOKEN; a wrong one is refused.
        r = self.server.cli("ls", env={"GUST_TOKEN": "wrong"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid bearer token", r.stderr)
        r = self.server.cli("ls", env={"GUST_TOKEN": self.server.token()})
        self.assertEqual(r.returncode, 0, r.stderr)
        for secret in ("token", "gust.db", "gust.db-wal"):
            mode = stat.S_IMODE(os.stat(os.path.join(self.server.data_dir, secret)).st_mode)
            self.assertEqual(mode, 0o600, secret)

    def test_functions_cannot_read_the_servers_secrets(self):
        self.deploy(function_dir("snoop"))
        data = self.server.data_dir
        secrets = [os.path.join(data, name) for name in ("token", "gust.db", "gust.db-wal")]
        r = self.server.cli("invoke", "snoop", "--payload", json.dumps({"paths": secrets}))
        self.assertEqual(r.returncode, 0, r.stderr)
        result = json.loads(r.stdout)
        if os.geteuid() == 0:
            # The sandbox's own unprivileged uid: never root, never the server's.
            self.assertNotIn(result["uid"], (0, os.getuid()))
            self.assertEqual(result["euid"], result["uid"])
        for path in secrets:
            # Not readable: hidden by the sandbox's root, or denied by the file's mode.
            self.assertIn(result["outcome"][path], ("FileNotFoundError", "PermissionError"), path)

    def test_healthz_and_unknown_routes(self):
        status, _, body = self.server.raw("GET", "/healthz", auth=False)
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        status, _, _ = self.server.raw("GET", "/no/such/route", auth=False)
        self.assertEqual(status, 404)
        status, headers, _ = self.server.raw("PUT", "/api/v1/functions")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers.get("allow"))


class RestartTest(unittest.TestCase):
    def test_functions_survive_a_restart(self):
        server = GustServer().start()
        try:
            r = server.cli("deploy", example("hello-python"))
            self.assertEqual(r.returncode, 0, r.stderr)
            token = server.token()
            self.assertEqual(server.stop(), 0, server.server_log())
            server.start()
            self.assertEqual(server.token(), token)  # generated once, kept
            r = server.cli("invoke", "hello-python", "--payload", '{"name": "again"}')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout), {"message": "Hello, again!"})
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
