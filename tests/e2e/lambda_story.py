"""The story every AWS client goes through against a real `gust serve` speaking Lambda's REST API,
and what the clients' tests share: an access key issued by the server, an AWS environment isolated
from the machine's own configuration, the function's code, and the story's assertions.

A client's test is `class XTest(Story, unittest.TestCase)` with `make_client(url, env, work)`
returning an adapter: one method per step of the story, each running the operation through the
client and returning what the client returned in Lambda's own shape (the PascalCase fields that
the AWS CLI prints and boto3 and the JavaScript SDK return), or raising LambdaFailure with the
error code the client surfaced. An adapter also checks how its client surfaces errors (the CLI's
exit code, boto3's modelled exception classes, the JavaScript SDK's error classes)."""
import base64
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile

from gustserver import GustServer

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/gust-e2e"
RUNTIME = "python3.11"
HANDLER = "app.handler"

# The function's code; CODE tells which upload is running, the rest is what the invocation saw.
HANDLER_SOURCE = '''import os

CODE = "{marker}"


def handler(event, context):
    print("handling", CODE, "in version", context.function_version)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail: " + str(event["fail"]))
    return {{"code": CODE, "version": context.function_version,
            "greeting": os.environ.get("GREETING"), "event": event}}
'''

# How long a loop of the story may take, besides its bound on the number of calls.
ALIAS_CALLS = 200
ALIAS_SECONDS = 150
PROVISIONED_SECONDS = 90


class LambdaFailure(Exception):
    """A Lambda error as a client surfaced it: its code (x-amzn-ErrorType), message, and the HTTP
    status where the client tells it (the AWS CLI does not)."""

    def __init__(self, code, message, status=None):
        super().__init__(f"{code} ({status}): {message}")
        self.code = code
        self.message = message
        self.status = status


def code_zip(marker):
    """A zip of app.py whose handler reports `marker`; the same marker gives the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("app.py", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, HANDLER_SOURCE.format(marker=marker))
    return buf.getvalue()


def code_sha256(zip_bytes):
    """CodeSha256 as Lambda reports it: the base64 of the zip's SHA-256."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


def create_access_key(server, description):
    """A new access key from the server's credentials endpoint (bearer token): (id, secret)."""
    status, _, body = server.raw("POST", "/api/v1/credentials",
                                 json.dumps({"description": description}).encode(),
                                 headers={"Content-Type": "application/json"})
    if status != 201:
        raise AssertionError(f"POST /api/v1/credentials answered {status}: {body[:500]!r}")
    key = json.loads(body)
    if not re.fullmatch(r"[A-Z0-9]{16,128}", key.get("access_key_id", "")) or \
            len(key.get("secret_access_key", "")) < 20:
        raise AssertionError(f"POST /api/v1/credentials gave no usable key: {key}")
    return key["access_key_id"], key["secret_access_key"]


def aws_environment(work, key_id, secret):
    """The environment for an AWS client: these credentials and region only, nothing read from the
    machine's AWS configuration, no instance metadata, no pager, no proxy, and no retries (so a
    throttled call fails at once, as the story expects)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.lower().endswith("_proxy")}
    config = os.path.join(work, "aws-config")
    credentials = os.path.join(work, "aws-credentials")
    for path in (config, credentials):
        open(path, "w").close()
    env.update({
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,  # the JavaScript SDK reads this one
        "AWS_CONFIG_FILE": config,
        "AWS_SHARED_CREDENTIALS_FILE": credentials,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    return env


class Story:
    """The Lambda story through one client (mixed into a unittest.TestCase)."""

    @classmethod
    def make_client(cls, url, env, work):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start()
        cls.work = tempfile.mkdtemp(prefix="gust-e2e-aws-")
        try:
            cls.key_id, cls.secret = create_access_key(cls.server, "e2e " + cls.__name__)
            cls.env = aws_environment(cls.work, cls.key_id, cls.secret)
            cls.client = cls.make_client(cls.server.url, cls.env, cls.work)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        client = getattr(cls, "client", None)
        if client is not None:
            client.close()
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def log_on_failure(self):
        return "server log:\n" + self.server.server_log()[-3000:]

    def assertFails(self, code, status, call, *args, **kwargs):
        """`call` fails with Lambda error `code` (and HTTP `status` where the client tells it)."""
        try:
            result = call(*args, **kwargs)
        except LambdaFailure as e:
            self.assertEqual(e.code, code, str(e))
            if e.status is not None:
                self.assertEqual(e.status, status, str(e))
            self.assertTrue(e.message, "the error has no message")
            return e
        self.fail(f"{call.__name__}{args} succeeded ({result}); expected {code}")

    def assertInvoked(self, result, version, code, greeting, event):
        self.assertEqual(result["StatusCode"], 200, result)
        self.assertEqual(result["ExecutedVersion"], version, result)
        self.assertIsNone(result.get("FunctionError"), result)
        self.assertEqual(json.loads(result["Payload"]),
                         {"code": code, "version": version, "greeting": greeting, "event": event})

    def assertConfiguration(self, config, name, version, zip_bytes):
        self.assertEqual(config["FunctionName"], name)
        arn = f"arn:aws:lambda:{REGION}:"
        self.assertTrue(config["FunctionArn"].startswith(arn), config["FunctionArn"])
        suffix = f":function:{name}" + ("" if version == "$LATEST" else ":" + version)
        self.assertTrue(config["FunctionArn"].endswith(suffix), config["FunctionArn"])
        self.assertEqual(config["Version"], version)
        self.assertEqual(config["Runtime"], RUNTIME)
        self.assertEqual(config["Handler"], HANDLER)
        self.assertEqual(config["Role"], ROLE)
        self.assertEqual(config["MemorySize"], 128)
        self.assertEqual(config["Timeout"], 10)
        self.assertEqual(config["CodeSha256"], code_sha256(zip_bytes))
        self.assertEqual(config["CodeSize"], len(zip_bytes))
        self.assertEqual(config["State"], "Active")
        self.assertRegex(config["RevisionId"], r"^[0-9a-f-]{36}$")

    def test_story(self):
        started = time.monotonic()
        c = self.client
        name = "story"
        other = "story-other"  # for paging ListFunctions
        zips = {marker: code_zip(marker) for marker in ("one", "two", "three")}

        # CreateFunction, then Invoke.
        config = c.create_function(name, zips["one"])
        self.assertConfiguration(config, name, "$LATEST", zips["one"])
        self.assertNotIn("Environment", config)
        created_revision = config["RevisionId"]
        self.assertEqual(c.create_function(other, zips["one"])["FunctionName"], other)
        self.assertFails("ResourceConflictException", 409, c.create_function, name, zips["one"])
        self.assertInvoked(c.invoke(name, {"n": 1}), "$LATEST", "one", None, {"n": 1})

        # UpdateFunctionCode, UpdateFunctionConfiguration: the next invocation sees each.
        config = c.update_function_code(name, zips["two"])
        self.assertConfiguration(config, name, "$LATEST", zips["two"])
        self.assertNotEqual(config["RevisionId"], created_revision)
        self.assertInvoked(c.invoke(name, {"n": 2}), "$LATEST", "two", None, {"n": 2})
        config = c.update_function_configuration(name, {"GREETING": "hello"})
        self.assertConfiguration(config, name, "$LATEST", zips["two"])
        self.assertEqual(config["Environment"]["Variables"], {"GREETING": "hello"})
        self.assertInvoked(c.invoke(name, {"n": 3}), "$LATEST", "two", "hello", {"n": 3})

        # PublishVersion twice, with new code between.
        v1 = c.publish_version(name, "first")
        self.assertConfiguration(v1, name, "1", zips["two"])
        self.assertEqual(v1["Description"], "first")
        self.assertEqual(v1["Environment"]["Variables"], {"GREETING": "hello"})
        c.update_function_code(name, zips["three"])
        v2 = c.publish_version(name, "second")
        self.assertConfiguration(v2, name, "2", zips["three"])
        self.assertInvoked(c.invoke(name, {"n": 4}, qualifier="1"), "1", "two", "hello", {"n": 4})

        # An alias on version 1 that sends half of its invocations to version 2: invoke it until
        # both have run.
        alias = c.create_alias(name, "live", "1", {"2": 0.5})
        self.assertEqual(alias["Name"], "live")
        self.assertEqual(alias["FunctionVersion"], "1")
        self.assertEqual(alias["RoutingConfig"], {"AdditionalVersionWeights": {"2": 0.5}})
        self.assertTrue(alias["AliasArn"].endswith(f":function:{name}:live"), alias["AliasArn"])
        self.assertEqual(c.get_alias(name, "live")["FunctionVersion"], "1")
        code_of = {"1": "two", "2": "three"}
        seen = {}
        deadline = time.monotonic() + ALIAS_SECONDS
        for i in range(ALIAS_CALLS):
            if len(seen) == 2 or time.monotonic() > deadline:
                break
            result = c.invoke(name, {"i": i}, qualifier="live")
            version = result["ExecutedVersion"]
            self.assertIn(version, code_of, result)
            self.assertInvoked(result, version, code_of[version], "hello", {"i": i})
            seen[version] = seen.get(version, 0) + 1
        self.assertEqual(set(seen), {"1", "2"}, f"versions run by the alias: {seen}")

        # Reserved concurrency: 0 throttles with 429.
        self.assertEqual(c.put_function_concurrency(name, 5), {"ReservedConcurrentExecutions": 5})
        self.assertEqual(c.get_function_concurrency(name), {"ReservedConcurrentExecutions": 5})
        self.assertEqual(c.get_function(name)["Concurrency"], {"ReservedConcurrentExecutions": 5})
        self.assertEqual(c.put_function_concurrency(name, 0), {"ReservedConcurrentExecutions": 0})
        e = self.assertFails("TooManyRequestsException", 429, c.invoke, name, {"n": 5})
        self.assertIn("Rate Exceeded", e.message)
        c.delete_function_concurrency(name)
        self.assertEqual(c.get_function_concurrency(name), {})
        self.assertInvoked(c.invoke(name, {"n": 6}), "$LATEST", "three", "hello", {"n": 6})

        # Provisioned concurrency on the alias, polled until READY.
        pc = c.put_provisioned_concurrency(name, "live", 1)
        self.assertEqual(pc["RequestedProvisionedConcurrentExecutions"], 1)
        self.assertIn(pc["Status"], ("IN_PROGRESS", "READY"))
        deadline = time.monotonic() + PROVISIONED_SECONDS
        while pc["Status"] != "READY" and time.monotonic() < deadline:
            time.sleep(0.2)
            pc = c.get_provisioned_concurrency(name, "live")
            self.assertEqual(pc["RequestedProvisionedConcurrentExecutions"], 1)
        self.assertEqual(pc["Status"], "READY", self.log_on_failure())
        self.assertEqual(pc["AvailableProvisionedConcurrentExecutions"], 1)
        self.assertEqual(pc["AllocatedProvisionedConcurrentExecutions"], 1)
        c.delete_provisioned_concurrency(name, "live")
        self.assertFails("ProvisionedConcurrencyConfigNotFoundException", 404,
                         c.get_provisioned_concurrency, name, "live")

        # LogType Tail: the invocation's log, START to REPORT.
        result = c.invoke(name, {"n": 7}, log_tail=True)
        self.assertInvoked(result, "$LATEST", "three", "hello", {"n": 7})
        log = base64.b64decode(result["LogResult"]).decode()
        start = re.search(r"^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$", log, re.M)
        self.assertIsNotNone(start, log)
        request_id = start.group(1)
        self.assertIn("handling three in version $LATEST\n", log)
        self.assertRegex(log, rf"(?m)^END RequestId: {request_id}$")
        self.assertRegex(log, rf"(?m)^REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\t")
        self.assertLess(log.index("START"), log.index("handling"))
        self.assertLess(log.index("handling"), log.index("END"))

        # A function error is a 200 with X-Amz-Function-Error and the error as payload.
        result = c.invoke(name, {"fail": "boom"})
        self.assertEqual(result["StatusCode"], 200, result)
        self.assertEqual(result["FunctionError"], "Unhandled")
        self.assertEqual(result["ExecutedVersion"], "$LATEST")
        error = json.loads(result["Payload"])
        self.assertEqual(error["errorType"], "ValueError")
        self.assertEqual(error["errorMessage"], "asked to fail: boom")
        self.assertIsInstance(error["stackTrace"], list)

        # The reads: GetFunction, ListFunctions a page at a time, ListVersions, ListAliases.
        got = c.get_function(name)
        self.assertConfiguration(got["Configuration"], name, "$LATEST", zips["three"])
        self.assertNotIn("Concurrency", got)
        got = c.get_function(name, qualifier="1")
        self.assertConfiguration(got["Configuration"], name, "1", zips["two"])
        got = c.get_function(name, qualifier="live")
        self.assertEqual(got["Configuration"]["Version"], "1")
        pages = c.list_function_pages(1)
        self.assertEqual(pages, [[name], [other]])
        versions = c.list_versions(name)
        self.assertEqual([v["Version"] for v in versions], ["$LATEST", "1", "2"])
        self.assertEqual([v["CodeSha256"] for v in versions],
                         [code_sha256(zips[m]) for m in ("three", "two", "three")])
        aliases = c.list_aliases(name)
        self.assertEqual([(a["Name"], a["FunctionVersion"], a["RoutingConfig"]) for a in aliases],
                         [("live", "1", {"AdditionalVersionWeights": {"2": 0.5}})])

        # Deletes: the alias, version 2, the function; then each is gone.
        c.delete_alias(name, "live")
        self.assertFails("ResourceNotFoundException", 404, c.get_alias, name, "live")
        self.assertEqual(c.list_aliases(name), [])
        c.delete_function(name, qualifier="2")
        self.assertEqual([v["Version"] for v in c.list_versions(name)], ["$LATEST", "1"])
        self.assertFails("ResourceNotFoundException", 404, c.get_function, name, qualifier="2")
        c.delete_function(name)
        self.assertFails("ResourceNotFoundException", 404, c.get_function, name)
        self.assertFails("ResourceNotFoundException", 404, c.invoke, name, {})
        self.assertFails("ResourceNotFoundException", 404, c.delete_function, name)
        c.delete_function(other)
        self.assertEqual(c.list_function_pages(1), [[]])
        print(f"\n{type(self).__name__}: the story took {time.monotonic() - started:.1f} s")

    def test_signature_errors(self):
        # A secret that is not the key's: the signature does not verify.
        wrong_secret = self.secret[:-1] + ("A" if self.secret[-1] != "A" else "B")
        client = self.make_client(self.server.url, aws_environment(
            self.work, self.key_id, wrong_secret), self.work)
        try:
            self.assertFails("InvalidSignatureException", 403, client.list_function_pages, 50)
        finally:
            client.close()
        # A key the server never issued.
        client = self.make_client(self.server.url, aws_environment(
            self.work, "GKIA" + "Q" * 16, self.secret), self.work)
        try:
            self.assertFails("UnrecognizedClientException", 403, client.list_function_pages, 50)
        finally:
            client.close()
        # The right key still works.
        self.assertIsInstance(self.client.list_function_pages(50), list)
