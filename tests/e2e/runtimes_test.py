"""The nodejs20.x, exec and provided runtimes end to end: gust serve, gust deploy, gust invoke,
checking each runtime's Lambda contract (context, environment, error shapes, init errors,
callback semantics, the Runtime API's state rules), and Node cold starts served by pre-started
instances (the server keeps a pool of them). Prints cold and warm timings from the REPORT
lines."""
import json
import os
import re
import shutil
import tempfile
import time
import unittest

from gustserver import GustServer, example, function_dir

REPORT = re.compile(
    r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms.*?(?:Init Duration: ([\d.]+) ms)?[\t ]*$", re.M)


class RuntimesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start(extra_env={"GUST_E2E_SECRET": "do-not-leak"})
        cls.work = tempfile.mkdtemp(prefix="gust-e2e-rt-")
        os.chmod(cls.work, 0o755)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def deploy(self, path):
        r = self.server.cli("deploy", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def invoke(self, name, payload="{}", ok=True):
        """(result or error JSON, logs) of one invocation."""
        r = self.server.cli("invoke", name, "--payload", payload, "--tail")
        self.assertEqual(r.returncode, 0 if ok else 1, (r.stdout[:2000], r.stderr[:2000]))
        return json.loads(r.stdout), r.stderr

    def make_function(self, name, runtime, handler, files):
        """A function dir under the work dir; files maps relative path -> (text, executable)."""
        d = os.path.join(self.work, name)
        shutil.rmtree(d, ignore_errors=True)
        for rel, (text, executable) in files.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755 if executable else 0o644)
        with open(os.path.join(d, "gust.yaml"), "w") as f:
            f.write("name: {}\nruntime: {}\nhandler: {}\ntimeout: 5\n".format(name, runtime,
                                                                            handler))
        return d

    def copy_function(self, src, name, memory, environment, handler="index.handler"):
        """A copy of function dir `src` under the work dir, as `name` with its own manifest."""
        d = os.path.join(self.work, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(src, d)
        manifest = "name: {}\nruntime: nodejs20.x\nhandler: {}\nmemory: {}\ntimeout: 5\n".format(
            name, handler, memory)
        if environment:
            manifest += "environment:\n" + "".join(
                "  {}: {}\n".format(k, v) for k, v in environment.items())
        with open(os.path.join(d, "gust.yaml"), "w") as f:
            f.write(manifest)
        return d

    @staticmethod
    def let_the_pool_refill():
        """The server replaces a taken pre-started instance in the background (a Node start):
        leave it the time before a cold start that must come from the pool."""
        time.sleep(1.5)

    def assert_cold(self, logs, cold=True):
        report = REPORT.search(logs)
        self.assertIsNotNone(report, logs)
        if cold:
            self.assertIsNotNone(report.group(2), "not a cold start: " + logs)
        else:
            self.assertIsNone(report.group(2), "not a warm invocation: " + logs)

    def timings(self, name, payload="{}"):
        """Cold and warm (init ms, duration ms) from REPORT, after a redeploy-free fresh start."""
        _, cold = self.invoke(name, payload)
        _, warm = self.invoke(name, payload)
        c = REPORT.search(cold)
        w = REPORT.search(warm)
        self.assertIsNotNone(c, cold)
        self.assertIsNotNone(c.group(2), "the first invocation was not a cold start: " + cold)
        self.assertIsNone(w.group(2), "the second invocation was not warm: " + warm)
        return float(c.group(2)), float(c.group(1)), float(w.group(1))

    # ---- the examples ----

    def test_examples(self):
        for name, runtime in (("hello-node", "nodejs20.x"), ("hello-exec", "exec"),
                              ("hello-provided", "provided")):
            r = self.deploy(example(name))
            self.assertIn(runtime, r.stdout)
        result, logs = self.invoke("hello-node", '{"name": "e2e"}')
        self.assertEqual(result, {"message": "Hello, e2e!"})
        self.assertRegex(logs, r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[0-9a-f-]{36}\tINFO\t"
                               r"greeting e2e in request [0-9a-f-]{36}")
        result, logs = self.invoke("hello-exec", '{"a": 1}')
        self.assertEqual(result["event"], {"a": 1})
        self.assertIn("handling request ", logs)
        result, logs = self.invoke("hello-provided", '{"b": 2}')
        self.assertEqual(result, {"message": "Hello from a custom runtime", "event": {"b": 2}})
        self.assertIn("with function.handler", logs)
        for name in ("hello-node", "hello-exec", "hello-provided"):
            self.server.cli("rm", name)

    # ---- nodejs20.x ----

    def test_node_context_environment_and_logs(self):
        self.deploy(function_dir("node-cjs"))
        first, logs = self.invoke("node-cjs", "[1, 2]")
        second, _ = self.invoke("node-cjs")
        self.assertEqual(first["event"], [1, 2])
        self.assertEqual(second["event"], {})
        self.assertEqual(first["moduleType"], "commonjs")
        self.assertRegex(first["awsRequestId"], r"^[0-9a-f-]{36}$")
        self.assertRegex(first["invokedFunctionArn"], r"^arn:aws:lambda:[^:]+:\d+:function:node-cjs$")
        self.assertEqual(first["functionName"], "node-cjs")
        self.assertEqual(first["functionVersion"], "$LATEST")
        self.assertEqual(first["memoryLimitInMB"], "192")  # a string, as on Lambda
        self.assertEqual(first["logGroupName"], "/aws/lambda/node-cjs")
        self.assertRegex(first["logStreamName"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        self.assertEqual(first["identity"], "undefined")
        self.assertEqual(first["clientContext"], "undefined")
        self.assertTrue(0 < first["remaining"] <= 5000, first["remaining"])
        self.assertIs(first["waits"], True)
        self.assertEqual(first["methods"], ["function"] * 3)
        env = first["env"]
        self.assertEqual(env["color"], "green")
        self.assertEqual(env["handler"], "index.handler")
        self.assertEqual(env["executionEnv"], "AWS_Lambda_nodejs20.x")
        self.assertEqual(env["tz"], ":UTC")
        self.assertEqual(env["nodeOptions"], "unset")
        self.assertTrue(env["nodePath"].endswith(":" + env["taskRoot"]), env["nodePath"])
        self.assertFalse(first["serverEnvLeaked"])
        # Warm reuse: same process, module state kept.
        self.assertNotEqual(first["awsRequestId"], second["awsRequestId"])
        self.assertEqual(first["pid"], second["pid"])
        self.assertEqual(second["calls"], first["calls"] + 1)
        # Lambda's Node log format. A multi-line message stays one record (\n -> \r; the CLI's
        # output is read here in text mode, which turns the \r back into \n).
        rid = first["awsRequestId"]
        self.assertRegex(logs, r"Z\t%s\tINFO\tprobe called { calls: 1 }\n" % rid)
        self.assertIn("\t%s\tWARN\tline one\nline two\n" % rid, logs)

    def test_node_esm_by_package_type(self):
        self.deploy(function_dir("node-esm"))
        self.let_the_pool_refill()
        result, _ = self.invoke("node-esm", '{"k": "v"}')
        # 128 MB, the default size: a cold start from the pool.
        self.assertEqual(result, {"moduleType": "esm", "helper": "helper.cjs",
                                  "startedBeforeInvoke": True, "event": {"k": "v"},
                                  "pooled": True})
        d = self.make_function("node-mjs", "nodejs20.x", "src/fn.go", {
            "src/fn.mjs": ("export const go = async (e) => ({ mjs: true, e });\n", False)})
        self.deploy(d)
        self.assertEqual(self.invoke("node-mjs", "7")[0], {"mjs": True, "e": 7})
        d = self.make_function("node-nested", "nodejs20.x", "lib.api.handler", {
            "lib.cjs": ("exports.api = { handler: async () => 'nested' };\n", False)})
        self.deploy(d)
        self.assertEqual(self.invoke("node-nested")[0], "nested")

    def test_node_callback_semantics(self):
        self.deploy(function_dir("node-callback"))
        # Default callbackWaitsForEmptyEventLoop: the timer runs before the response.
        result, logs = self.invoke("node-callback", '{"mode": "wait"}')
        self.assertEqual(result, {"mode": "wait"})
        self.assertIn("\tINFO\ttimer fired", logs)
        # false: answered at once; the timer stays frozen until the next invocation runs.
        result, logs = self.invoke("node-callback", '{"mode": "nowait"}')
        self.assertEqual(result, {"mode": "nowait"})
        self.assertNotIn("late timer fired", logs)
        result, logs = self.invoke("node-callback", '{"mode": "wait"}')
        self.assertIn("late timer fired", logs)
        self.assertEqual(self.invoke("node-callback", '{"mode": "succeed"}')[0],
                         {"mode": "succeed"})
        result, twice_logs = self.invoke("node-callback", '{"mode": "twice"}')
        self.assertEqual(result, {"first": True})
        # The second call is refused just after the response went out: its log line ends up
        # with this invocation or the next one.
        result, logs = self.invoke("node-callback", '{"mode": "silent"}')
        self.assertIsNone(result)
        self.assertIn("Invocation has already been reported as done", twice_logs + logs)

        err, logs = self.invoke("node-callback", '{"mode": "error"}', ok=False)
        self.assertEqual(err["errorType"], "RangeError")
        self.assertEqual(err["errorMessage"], "callback boom")
        self.assertEqual(err["trace"][0], "RangeError: callback boom")
        self.assertNotIn("stackTrace", err)
        self.assertRegex(logs, r"\tERROR\tInvoke Error \t\{\"errorType\":\"RangeError\"")
        err, _ = self.invoke("node-callback", '{"mode": "string"}', ok=False)
        self.assertEqual(err, {"errorType": "string", "errorMessage": "plain failure",
                               "trace": []})
        err, _ = self.invoke("node-callback", '{"mode": "throw"}', ok=False)
        self.assertEqual((err["errorType"], err["errorMessage"]), ("TypeError", "thrown boom"))
        err, _ = self.invoke("node-callback", '{"mode": "fail"}', ok=False)
        self.assertEqual(err["errorMessage"], "failed via context")
        before, _ = self.invoke("node-callback", '{"mode": "x"}')
        # An unhandled rejection or an uncaught exception fails the invocation, and as on Lambda
        # the runtime exits (128, 129): the next invocation gets a new instance.
        err, logs = self.invoke("node-callback", '{"mode": "reject"}', ok=False)
        self.assertEqual(err["errorType"], "Runtime.UnhandledPromiseRejection")
        self.assertEqual(err["errorMessage"], "Error: nobody caught me")
        self.assertIn("\tERROR\tUnhandled Promise Rejection \t", logs)
        self.assertIn(" Error: Runtime exited with error: exit status 128\nRuntime.ExitError\n"
                      "END RequestId: ", logs)
        after, logs = self.invoke("node-callback", '{"mode": "x"}')
        self.assertEqual(after["mode"], "default")
        self.assertNotEqual(after["instance"], before["instance"])
        self.assert_cold(logs)
        err, logs = self.invoke("node-callback", '{"mode": "uncaught"}', ok=False)
        self.assertEqual(err["errorType"], "SyntaxError")
        self.assertEqual(err["errorMessage"], "uncaught boom")
        self.assertEqual(err["trace"][0], "SyntaxError: uncaught boom")
        self.assertIn("\tERROR\tUncaught Exception \t", logs)
        self.assertIn(" Error: Runtime exited with error: exit status 129\nRuntime.ExitError\n",
                      logs)
        self.assert_cold(self.invoke("node-callback", '{"mode": "x"}')[1])
        # After the answer: the invocation succeeds, the runtime exits, and the next invocation
        # is a cold start rather than a failure.
        result, logs = self.invoke("node-callback", '{"mode": "late"}')
        self.assertEqual(result, {"mode": "late"})
        self.assert_cold(logs, cold=False)
        time.sleep(0.2)
        result, logs = self.invoke("node-callback", '{"mode": "x"}')
        self.assertEqual(result["mode"], "default")
        self.assert_cold(logs)
        self.assertIn("Error: Runtime exited with error: exit status 128\nRuntime.ExitError\n"
                      "START RequestId: ", logs)

    def test_node_init_errors(self):
        cases = [
            ("node-syntax", "index.handler", {"index.js": ("exports.handler = async ( => 1;\n", False)},
             "Runtime.UserCodeSyntaxError", "SyntaxError: "),
            ("node-missing", "nothere.handler", {"index.js": ("exports.handler = 1;\n", False)},
             "Runtime.ImportModuleError", "Error: Cannot find module 'nothere'"),
            ("node-noexport", "index.other", {"index.js": ("exports.handler = () => 1;\n", False)},
             "Runtime.HandlerNotFound", "index.other is undefined or not exported"),
            ("node-notfn", "index.handler", {"index.js": ("exports.handler = 42;\n", False)},
             "Runtime.HandlerNotFound", "index.handler is not a function"),
            ("node-esm-dep", "index.handler",
             {"index.mjs": ("import x from 'no-such-package';\nexport const handler = x;\n", False)},
             "Runtime.ImportModuleError", "Error [ERR_MODULE_NOT_FOUND]: Cannot find package"),
        ]
        for name, handler, files, error_type, message in cases:
            with self.subTest(name):
                self.deploy(self.make_function(name, "nodejs20.x", handler, files))
                err, logs = self.invoke(name, ok=False)
                self.assertEqual(err["errorType"], error_type, err)
                self.assertTrue(err["errorMessage"].startswith(message), err["errorMessage"])
                self.assertIsInstance(err["trace"], list)
                self.assertIn("\tundefined\tERROR\tInit Error \t", logs)

    def test_node_pooled_cold_start_is_like_a_fresh_one(self):
        env = {"COLOR": "green", "MARKER": "pooled-or-not"}
        src = function_dir("node-cjs")
        # 128 MB, the default size: the server keeps pre-started instances for it. 320 MB: no
        # pool yet, so the first cold start is a fresh instance.
        self.deploy(self.copy_function(src, "node-pooled", 128, env))
        self.deploy(self.copy_function(src, "node-fresh", 320, env))
        self.let_the_pool_refill()
        pooled, pooled_logs = self.invoke("node-pooled", '{"p": 1}')
        fresh, fresh_logs = self.invoke("node-fresh", '{"p": 1}')
        self.assertTrue(pooled["pooled"], pooled)
        self.assertFalse(fresh["pooled"], fresh)
        self.assert_cold(pooled_logs)
        self.assert_cold(fresh_logs)
        print("\npooled Node cold start: Init Duration {} ms; fresh: {} ms".format(
            REPORT.search(pooled_logs).group(2), REPORT.search(fresh_logs).group(2)))
        # The Lambda contract, as a fresh instance has it.
        self.assertEqual(pooled["event"], {"p": 1})
        self.assertEqual(pooled["functionName"], "node-pooled")
        self.assertEqual(pooled["memoryLimitInMB"], "128")
        self.assertEqual(pooled["functionVersion"], "$LATEST")
        self.assertEqual(pooled["logGroupName"], "/aws/lambda/node-pooled")
        self.assertRegex(pooled["logStreamName"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        self.assertRegex(pooled["awsRequestId"], r"^[0-9a-f-]{36}$")
        self.assertRegex(pooled["invokedFunctionArn"],
                         r"^arn:aws:lambda:[^:]+:\d+:function:node-pooled$")
        self.assertTrue(0 < pooled["remaining"] <= 5000, pooled["remaining"])
        self.assertEqual(pooled["env"]["color"], "green")
        self.assertEqual(pooled["env"]["handler"], "index.handler")
        self.assertEqual(pooled["env"]["executionEnv"], "AWS_Lambda_nodejs20.x")
        self.assertEqual(pooled["env"]["tz"], ":UTC")
        self.assertEqual(pooled["env"]["nodeOptions"], "unset")
        self.assertFalse(pooled["serverEnvLeaked"])
        self.assertEqual(pooled["fd3Inherited"], "no")
        # Nothing of the generic start: the same variables, argv and directory as fresh.
        self.assertEqual(pooled["envKeys"], fresh["envKeys"])
        self.assertEqual(pooled["argv"], fresh["argv"])
        self.assertEqual(pooled["cwd"], fresh["cwd"])
        self.assertEqual(pooled["execArgv"], ["--expose-gc", "--max-http-header-size=81920",
                                              "--max-semi-space-size=6",
                                              "--max-old-space-size=116"])
        self.assertEqual(fresh["execArgv"][2:], ["--max-semi-space-size=16",
                                                 "--max-old-space-size=288"])
        second, logs = self.invoke("node-pooled")
        self.assert_cold(logs, cold=False)
        self.assertEqual((second["pid"], second["calls"]), (pooled["pid"], 2))

    def test_node_pooled_init_error(self):
        d = self.make_function("node-pooled-init-error", "nodejs20.x", "index.handler", {
            "index.js": ("const pooled = require('fs').readFileSync('/proc/self/cmdline', 'utf8')"
                         ".split('\\0').includes('--deferred-init');\n"
                         "throw new TypeError('cannot start, pooled=' + pooled);\n", False)})
        self.deploy(d)
        self.let_the_pool_refill()
        err, logs = self.invoke("node-pooled-init-error", ok=False)
        self.assertEqual(err["errorType"], "TypeError")
        self.assertEqual(err["errorMessage"], "cannot start, pooled=true")
        self.assertIn("\tundefined\tERROR\tInit Error \t", logs)

    def test_node_pooled_out_of_memory(self):
        d = self.copy_function(function_dir("node-callback"), "node-oom", 128, {},
                               handler="handler.handler")
        self.deploy(d)
        self.let_the_pool_refill()
        first, _ = self.invoke("node-oom")
        self.assertTrue(first["pooled"], first)
        # Past its memory outside V8's heap: the memory cgroup kills it.
        err, logs = self.invoke("node-oom", '{"mode": "oom"}', ok=False)
        self.assertEqual(err["errorType"], "Runtime.OutOfMemory", err)
        self.assertRegex(err["errorMessage"],
                         r"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: "
                         r"signal: killed$")
        self.assertIn("Memory Size: 128 MB\tMax Memory Used: 128 MB", logs)
        # Discarded: the next invocation is a cold start in a new instance.
        after, logs = self.invoke("node-oom")
        self.assert_cold(logs)
        self.assertNotEqual(after["instance"], first["instance"])

    def test_node_handler_validation(self):
        for handler in ("index", "../up.handler", "index.", ".handler", "a b.handler"):
            with self.subTest(handler):
                d = self.make_function("node-bad-handler", "nodejs20.x", handler,
                                       {"index.js": ("", False)})
                r = self.server.cli("deploy", d)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("handler:", r.stderr)

    # ---- exec ----

    def test_exec_contract(self):
        self.deploy(function_dir("exec-probe"))
        first, logs = self.invoke("exec-probe", '{"n": 1}')
        second, _ = self.invoke("exec-probe", '{"n": 2}')
        self.assertEqual(first["event"], {"n": 1})
        self.assertEqual(first["color"], "red")
        self.assertEqual(first["fn"], "exec-probe")
        self.assertRegex(first["request_id"], r"^[0-9a-f-]{36}$")
        self.assertEqual(first["fd3"], "no")  # the channel is not handed to the executable
        self.assertIn("probe stderr for " + first["request_id"], logs)
        # One process per invocation, under the same warm shim.
        self.assertNotEqual(first["pid"], second["pid"])
        self.assertEqual(first["ppid"], second["ppid"])

        err, logs = self.invoke("exec-probe", '{"mode": "fail"}', ok=False)
        self.assertEqual(err["errorType"], "Runtime.ExitError")
        self.assertIn("probe.sh failed with exit status 3", err["errorMessage"])
        self.assertIn("about to exit 3", logs)
        err, _ = self.invoke("exec-probe", '{"mode": "notjson"}', ok=False)
        self.assertEqual(err["errorType"], "Runtime.InvalidResponse")
        self.assertIn("not JSON: 'this is not json'", err["errorMessage"])
        err, _ = self.invoke("exec-probe", '{"mode": "sleep"}', ok=False)
        self.assertEqual(err["errorType"], "Sandbox.Timedout")
        self.assertEqual(self.invoke("exec-probe", '{"n": 3}')[0]["event"], {"n": 3})

    def test_exec_init_and_validation_errors(self):
        d = self.make_function("exec-noexec", "exec", "run.sh", {"run.sh": ("#!/bin/sh\n", False)})
        self.deploy(d)
        err, _ = self.invoke("exec-noexec", ok=False)
        self.assertEqual(err["errorType"], "Runtime.InvalidEntrypoint")
        self.assertIn("not executable", err["errorMessage"])
        for handler in ("../x", "/bin/sh", "bin/", "a/./b"):
            with self.subTest(handler):
                d = self.make_function("exec-bad", "exec", handler, {"x": ("", True)})
                r = self.server.cli("deploy", d)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("handler:", r.stderr)

    # ---- provided (the Lambda Runtime API) ----

    def test_provided_runtime_api(self):
        self.deploy(function_dir("provided-probe"))
        first, logs = self.invoke("provided-probe", '{"q": 1}')
        second, _ = self.invoke("provided-probe", '{"q": 2}')
        self.assertEqual(first["event"], {"q": 1})
        h = first["headers"]
        self.assertRegex(h["lambda-runtime-aws-request-id"], r"^[0-9a-f-]{36}$")
        self.assertRegex(h["lambda-runtime-invoked-function-arn"],
                         r"^arn:aws:lambda:[^:]+:\d+:function:provided-probe$")
        self.assertRegex(h["lambda-runtime-deadline-ms"], r"^\d{13}$")
        self.assertEqual(h["content-type"], "application/json")
        env = first["env"]
        self.assertEqual(env["_HANDLER"], "probe.handler")
        self.assertEqual(env["COLOR"], "yellow")
        self.assertIsNone(env["AWS_EXECUTION_ENV"])
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128")
        self.assertIn("bootstrap handling " + h["lambda-runtime-aws-request-id"], logs)
        self.assertEqual((second["pid"], second["calls"]), (first["pid"], 2))

        err, _ = self.invoke("provided-probe", '{"mode": "error"}', ok=False)
        self.assertEqual(err, {"errorMessage": "custom failure", "errorType": "CustomError",
                               "stackTrace": []})
        err, _ = self.invoke("provided-probe", '{"mode": "exit"}', ok=False)
        self.assertEqual(err["errorType"], "Runtime.ExitError")
        self.assertIn("exit status 7", err["errorMessage"])
        self.assertEqual(self.invoke("provided-probe", '{"q": 3}')[0]["calls"], 1)

    def test_provided_init_error(self):
        self.deploy(function_dir("provided-init-error"))
        err, logs = self.invoke("provided-init-error", ok=False)
        self.assertEqual(err, {"errorMessage": "cannot load x",
                               "errorType": "Runtime.NoSuchHandler"})
        self.assertIn('init error posted: 202 {"status":"OK"}', logs)
        d = self.make_function("provided-nobootstrap", "provided", "x", {"README": ("", False)})
        self.deploy(d)
        r = self.server.cli("invoke", "provided-nobootstrap")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bootstrap", r.stdout + r.stderr)

    def test_provided_state_errors(self):
        self.deploy(function_dir("provided-misbehave"))
        seen, _ = self.invoke("provided-misbehave")

        def check(key, status, error_type):
            got_status, body = seen[key]
            self.assertEqual(got_status, status, (key, body))
            self.assertEqual(body["errorType"], error_type, (key, body))
            self.assertTrue(body["errorMessage"], (key, body))

        check("response_before_next", 403, "InvalidStateTransition")
        check("next_during_invocation", 403, "InvalidStateTransition")
        check("unknown_id", 400, "InvalidRequestID")
        check("init_error_after_init", 403, "InvalidStateTransition")
        check("unknown_path", 404, "InvalidRequest")
        check("too_large", 413, "RequestEntityTooLarge")
        self.assertIsNone(seen["previous"])
        # What happened after the first response is reported by the second invocation.
        seen, _ = self.invoke("provided-misbehave")
        self.assertEqual(seen["previous"]["response"], [202, {"status": "OK"}])
        answered_twice = seen["previous"]["answered_twice"]
        self.assertEqual(answered_twice[0], 400)
        self.assertEqual(answered_twice[1]["errorType"], "InvalidRequestID")

    def test_provided_oversize_response(self):
        d = self.make_function("provided-big", "provided", "x", {"bootstrap": (
            "#!/usr/bin/python3\n"
            "import http.client, os\n"
            "host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')\n"
            "c = http.client.HTTPConnection(host, int(port))\n"
            "c.request('GET', '/2018-06-01/runtime/invocation/next')\n"
            "r = c.getresponse(); r.read()\n"
            "rid = r.getheader('Lambda-Runtime-Aws-Request-Id')\n"
            "c.request('POST', '/2018-06-01/runtime/invocation/%s/response' % rid,\n"
            "          '\"' + 'x' * (6 * 1024 * 1024 + 200) + '\"')\n"
            "r = c.getresponse(); print('got', r.status, r.read().decode(), flush=True)\n"
            "import time; time.sleep(30)\n", True)})
        self.deploy(d)
        err, _ = self.invoke("provided-big", ok=False)
        self.assertEqual(err["errorType"], "Function.ResponseSizeTooLarge")

    # ---- timings ----

    def test_zz_cold_and_warm_timings(self):
        rows = []
        for name, src in (("hello-node", example("hello-node")),
                          ("hello-exec", example("hello-exec")),
                          ("hello-provided", example("hello-provided")),
                          ("provided-probe", function_dir("provided-probe"))):
            self.server.cli("rm", name)
            self.deploy(src)
            init_ms, cold_ms, warm_ms = self.timings(name)
            rows.append("{:16} init {:7.1f} ms  first invoke {:6.1f} ms  warm invoke {:6.1f} ms"
                        .format(name, init_ms, cold_ms, warm_ms))
        print("\n" + "\n".join(rows))


if __name__ == "__main__":
    unittest.main()
