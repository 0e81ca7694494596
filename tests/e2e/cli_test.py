"""The gust CLI end to end, as a person (tables, hints) and a script (--output json, exit codes)
would use it against a real `gust serve`: init, deploy, invoke (sync, async, --tail, stdin),
redeploy, publish, aliases with weights, concurrency, logs, rm; local invoke without a server,
generate-event, completion and credentials."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from gustserver import GUST_BIN, GustServer, function_dir

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def run(*args, stdin=None):
    """The gust binary without a server."""
    return subprocess.run([GUST_BIN, *args], input=stdin, capture_output=True, text=True,
                          timeout=120)


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start()
        cls.work = tempfile.mkdtemp(prefix="gust-e2e-cli-")
        os.chmod(cls.work, 0o711)  # sandboxed instances of local invoke reach their code in it

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def ok(self, *args, stdin=None, env=None):
        r = self.server.cli(*args, stdin=stdin, env=env)
        self.assertEqual(r.returncode, 0, f"gust {' '.join(args)}: {r.stderr}")
        return r

    def json(self, *args, stdin=None):
        return json.loads(self.ok(*args, "-o", "json", stdin=stdin).stdout)

    def wait_for_logs(self, name, request_id):
        deadline = time.monotonic() + 30
        while True:
            r = self.ok("logs", name, "--request-id", request_id)
            if f"REPORT RequestId: {request_id}" in r.stdout:
                return r.stdout
            self.assertLess(time.monotonic(), deadline, f"no logs for {request_id}: {r.stdout}")
            time.sleep(0.2)

    def test_the_story_from_init_to_rm(self):
        fn = os.path.join(self.work, "story")
        r = self.ok("init", fn)
        self.assertIn("Created story (python3.11)", r.stdout)
        r = self.server.cli("init", fn)
        self.assertEqual(r.returncode, 2)
        self.assertIn("never overwrites", r.stderr)

        # deploy: progress on stderr, what was deployed on stdout
        r = self.ok("deploy", fn)
        self.assertRegex(r.stdout, r"^Created story: python3.11 app.handler, 128 MB, 3 s timeout, "
                                   r"version \$LATEST revision 1, code sha256 [0-9a-f]{12} \(")
        self.assertIn("Packaging", r.stderr)
        self.assertIn("Uploading story", r.stderr)

        # invoke: sync, stdin, --tail, async
        r = self.ok("invoke", "story", "--payload", '{"name": "e2e"}')
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, e2e!"})
        r = self.ok("invoke", "story", "--file", "-", stdin='{"name": "stdin"}')
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, stdin!"})
        r = self.ok("invoke", "story", "--tail")
        self.assertRegex(r.stderr, r"START RequestId: " + UUID + r" Version: \$LATEST")
        self.assertIn("REPORT RequestId:", r.stderr)
        out = self.json("invoke", "story", "--tail")
        self.assertEqual(out["status_code"], 200)
        self.assertEqual(out["executed_version"], "$LATEST")
        self.assertEqual(out["function_error"], "")
        self.assertEqual(out["payload"], {"message": "Hello, world!"})
        self.assertIn("END RequestId: " + out["request_id"], out["log_tail"])
        r = self.ok("invoke", "story", "--async", "--payload", '{"name": "later"}')
        async_id = r.stdout.strip()
        self.assertRegex(async_id, "^" + UUID + "$")
        self.assertIn(f"gust logs story --request-id {async_id}", r.stderr)
        logs = self.wait_for_logs("story", async_id)
        self.assertIn('"name": "later"', logs)
        self.assertEqual(self.json("invoke", "story", "--async")["status_code"], 202)

        # publish version 1, change the code, redeploy, publish version 2
        v1 = self.json("publish", "story", "--description", "first")
        self.assertEqual(v1["version"], "1")
        self.assertEqual(v1["description"], "first")
        self.assertRegex(v1["code_sha256"], "^[0-9a-f]{64}$")
        app = os.path.join(fn, "app.py")
        with open(app) as f:
            code = f.read()
        with open(app, "w") as f:
            f.write(code.replace("Hello", "Howdy"))
        deployed = self.json("deploy", fn)
        self.assertEqual(deployed["name"], "story")
        self.assertFalse(deployed["created"])
        self.assertEqual(deployed["revision"], 2)
        self.assertNotEqual(deployed["code_sha256"], v1["code_sha256"])
        self.assertEqual(self.json("invoke", "story")["payload"], {"message": "Howdy, world!"})
        r = self.ok("publish", "story")
        self.assertRegex(r.stdout, r"^Published story version 2 \(code sha256 [0-9a-f]{12}\)")

        # an alias on version 1 that sends half of its invocations to version 2
        r = self.ok("alias", "create", "story", "live", "--version", "1", "--weight", "2=0.5")
        self.assertIn("1 + 2 at 50%", r.stdout)
        alias = self.json("alias", "get", "story", "live")
        self.assertEqual(alias["function_version"], "1")
        self.assertEqual(alias["weights"], {"2": 0.5})
        seen = {}
        for _ in range(200):  # P(one version never drawn in 200) = 2 * 0.5^200
            out = self.json("invoke", "story", "--qualifier", "live")
            seen[out["executed_version"]] = out["payload"]["message"]
            if len(seen) == 2:
                break
        self.assertEqual(seen, {"1": "Hello, world!", "2": "Howdy, world!"})
        self.assertEqual([a["name"] for a in self.json("alias", "ls", "story")["aliases"]],
                         ["live"])
        self.assertIn("live   1 + 2 at 50%", self.ok("alias", "ls", "story").stdout)
        r = self.server.cli("alias", "create", "story", "live", "--version", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ResourceConflictException", r.stderr)
        r = self.server.cli("alias", "create", "story", "beta", "--version", "1",
                            "--weight", "2=1.5")
        self.assertEqual(r.returncode, 2)
        self.assertIn("outside [0, 1]", r.stderr)

        # concurrency: reserved, then provisioned on the alias
        self.assertEqual(self.json("concurrency", "reserved", "set", "story", "5"),
                         {"function": "story", "reserved_concurrency": 5})
        self.assertEqual(self.json("concurrency", "reserved", "get", "story")
                         ["reserved_concurrency"], 5)
        self.assertEqual(self.json("concurrency", "provisioned", "set", "story", "1",
                                   "--qualifier", "live")["requested"], 1)
        deadline = time.monotonic() + 60
        while True:
            config = self.json("concurrency", "provisioned", "get", "story", "-q", "live")
            if config["status"] == "READY":
                break
            self.assertLess(time.monotonic(), deadline, config)
            time.sleep(0.2)
        self.assertEqual(config["available"], 1)
        described = self.json("describe", "story")
        self.assertEqual(described["reserved_concurrency"], 5)
        self.assertEqual([v["version"] for v in described["versions"]], ["$LATEST", "1", "2"])
        self.assertEqual(described["aliases"][0]["name"], "live")
        self.assertEqual(described["provisioned_concurrency_configs"][0]["qualifier"], "live")
        self.assertEqual(described["provisioned_concurrency_configs"][0]["status"], "READY")
        table = self.ok("describe", "story").stdout
        self.assertRegex(table, r"Reserved concurrency: +5\n")
        self.assertRegex(table, r"Provisioned concurrency: +live: 1 requested, 1 ready \(READY\)")
        self.assertRegex(table, r"Aliases: +live -> 1 \+ 2 at 50%")
        self.ok("concurrency", "provisioned", "rm", "story", "-q", "live")
        self.assertEqual(self.json("concurrency", "provisioned", "get", "story")
                         ["provisioned_concurrency_configs"], [])
        self.ok("concurrency", "reserved", "rm", "story")
        self.assertIsNone(self.json("concurrency", "reserved", "get", "story")
                          ["reserved_concurrency"])

        # the alias moves to version 2 alone
        alias = self.json("alias", "update", "story", "live", "--version", "2", "--no-weights")
        self.assertEqual((alias["function_version"], alias["weights"]), ("2", {}))
        out = self.json("invoke", "story:live")
        self.assertEqual(out["executed_version"], "2")

        # logs of one invocation, as text and as JSON lines
        request_id = self.json("invoke", "story", "--payload", '{"name": "logged"}')["request_id"]
        text = self.wait_for_logs("story", request_id)
        self.assertIn(f"START RequestId: {request_id}", text)
        lines = self.ok("logs", "story", "--request-id", request_id, "-o", "json").stdout
        records = [json.loads(line) for line in lines.splitlines()]
        self.assertTrue(records)
        self.assertTrue(all(r["request_id"] == request_id for r in records))
        self.assertIn('"name": "logged"', "".join(r["message"] for r in records))

        self.ok("alias", "rm", "story", "live")
        self.assertEqual(self.json("alias", "ls", "story")["aliases"], [])
        r = self.ok("rm", "story")
        self.assertIn("Deleted story", r.stdout)
        self.assertNotIn("story", [f["name"] for f in self.json("ls")["functions"]])
        r = self.server.cli("invoke", "story")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ResourceNotFoundException", r.stderr)

    def test_errors_say_what_to_do(self):
        r = self.server.cli("ls", env={"GUST_TOKEN": "wrong"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("rejected the API token from $GUST_TOKEN", r.stderr)
        r = self.server.cli("invoke", "anything", env={"GUST_TOKEN": "wrong"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("UnrecognizedClientException", r.stderr)
        self.assertIn("--data-dir", r.stderr)
        r = self.server.cli("alias", "ls", "anything", env={"GUST_ENDPOINT": "http://127.0.0.1:1"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot reach the server at http://127.0.0.1:1", r.stderr)
        self.assertIn("gust serve", r.stderr)
        r = self.server.cli("invoke", "anything", "--payload", "{not json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is not JSON", r.stderr)
        r = self.server.cli("ls", "--output", "yaml")
        self.assertEqual(r.returncode, 2)
        r = self.server.cli("deploy", os.path.join(self.work, "nothing-here"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("gust init", r.stderr)

    def test_credentials_create_list_revoke(self):
        status, _, body = self.server.raw("GET", "/api/v1/credentials")
        if status == 404 and b"no route" in body:
            self.skipTest("the server has no GET/POST /api/v1/credentials and DELETE "
                          "/api/v1/credentials/{id} endpoints yet")
        created = self.json("credentials", "create", "--description", "e2e")
        self.assertRegex(created["access_key_id"], r"^[A-Z0-9]{16,}$")
        self.assertTrue(created["secret_access_key"])
        self.assertEqual(created["description"], "e2e")
        listed = self.json("credentials", "list")["credentials"]
        mine = [c for c in listed if c["access_key_id"] == created["access_key_id"]]
        self.assertEqual(len(mine), 1)
        self.assertNotIn("secret_access_key", mine[0])
        r = self.ok("credentials", "create")
        self.assertIn("aws configure", r.stdout)
        self.assertIn("AWS_SECRET_ACCESS_KEY=", r.stdout)
        self.assertIn(self.server.url, r.stdout)
        self.ok("credentials", "revoke", created["access_key_id"])
        r = self.server.cli("credentials", "revoke", created["access_key_id"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("gust credentials list", r.stderr)
        self.assertNotIn(created["access_key_id"],
                         [c["access_key_id"] for c in self.json("credentials", "list")
                          ["credentials"]])

    def test_local_invoke_runs_a_function_without_a_server(self):
        # local invoke works in $TMPDIR: a private one shows that it cleans up after itself.
        tmp = os.path.join(self.work, "tmp")
        os.makedirs(tmp)
        os.chmod(tmp, 0o711)
        env = dict(os.environ, TMPDIR=tmp)

        def run(*args, stdin=None):
            return subprocess.run([GUST_BIN, *args], input=stdin, capture_output=True, text=True,
                                  env=env, timeout=120)

        fn = os.path.join(self.work, "local-py")
        self.assertEqual(run("init", fn).returncode, 0)
        event = os.path.join(self.work, "event.json")
        r = run("generate-event", "apigateway-v2", "--method", "POST", "--body", '{"a": 1}')
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(event, "w") as f:
            f.write(r.stdout)
        r = run("local", "invoke", fn, "--event", event)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, world!"})
        self.assertRegex(r.stderr, r"START RequestId: " + UUID + r" Version: \$LATEST")
        self.assertIn("END RequestId:", r.stderr)
        self.assertIn("REPORT RequestId:", r.stderr)
        self.assertIn('"routeKey": "$default"', r.stderr)  # the handler printed its event
        if os.geteuid() != 0:
            self.assertIn("process sandbox", r.stderr)
        r = run("local", "invoke", fn, "--event", "-", stdin='{"name": "stdin"}')
        self.assertEqual(json.loads(r.stdout), {"message": "Hello, stdin!"}, r.stderr)
        # A custom runtime from `gust init --runtime provided` runs too.
        provided = os.path.join(self.work, "local-provided")
        self.assertEqual(run("init", provided, "--runtime", "provided").returncode, 0)
        r = run("local", "invoke", provided)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["message"], "Hello from a custom runtime")
        # A function error is exit code 1 with the error on stdout.
        r = run("local", "invoke", function_dir("fails"), "--event", "-", stdin='{"x": 7}')
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(json.loads(r.stdout)["errorType"], "ValueError")
        self.assertIn("function error: ValueError: bad input: 7", r.stderr)
        r = run("local", "invoke", os.path.join(self.work, "nothing-here"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("gust init", r.stderr)
        self.assertEqual(os.listdir(tmp), [], "local invoke left its work dir behind")

    def test_generate_event_prints_each_kind(self):
        for kind, key in (("apigateway-v1", "httpMethod"), ("apigateway-v2", "rawPath"),
                          ("schedule", "detail-type"), ("topic", "Records")):
            r = run("generate-event", kind)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(key, json.loads(r.stdout), kind)
        r = run("generate-event", "s3")
        self.assertEqual(r.returncode, 2)
        self.assertIn("apigateway-v1", r.stderr)

    def test_completion_script_loads_in_bash(self):
        r = run("completion", "bash")
        self.assertEqual(r.returncode, 0, r.stderr)
        script = os.path.join(self.work, "completion.bash")
        with open(script, "w") as f:
            f.write(r.stdout)
        check = subprocess.run(
            ["bash", "-c", f"source {script} && COMP_WORDS=(gust local '') && COMP_CWORD=2 "
                           "&& _gust && echo ${COMPREPLY[@]} && complete -p gust"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("invoke", check.stdout)  # `local invoke` is wired in the binary too
        self.assertIn("complete -o filenames -F _gust gust", check.stdout)


if __name__ == "__main__":
    unittest.main()
