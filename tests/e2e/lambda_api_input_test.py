"""Bad input for every operation of the Lambda REST API on a real `gust serve`, over raw HTTP
(http.client, the bearer token): malformed JSON, wrong types, values out of range, unsupported
fields, hostile zips, oversize bodies, unknown operations and bad credentials. Every error must
have Lambda's shape (the x-amzn-ErrorType header and a {"Type", "message"} body) and a message
that names what is wrong; a refused change must change nothing, and a hostile zip must write
nothing outside the server's own directories."""
import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import tempfile
import unittest
import urllib.parse
import zipfile

from gustserver import GustServer
from lambda_story import ROLE, code_zip

F = "/2015-03-31/functions"
IPVE = "InvalidParameterValueException"
IRCE = "InvalidRequestContentException"
NOT_FOUND = "ResourceNotFoundException"
MB = 1024 * 1024


def b64(data):
    return base64.b64encode(data).decode()


def zip_of(entries):
    """A zip from (ZipInfo or name, bytes) pairs, exactly as given (no name cleaning)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for info, data in entries:
            z.writestr(info, data)
    return buf.getvalue()


def symlink_entry(name, target):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.create_system = 3  # Unix, so the mode bits below are read
    info.external_attr = 0o120777 << 16
    return info, target.encode()


def zip_bomb(unzipped_bytes):
    """A small zip that unzips to `unzipped_bytes` of zeros, plus a valid handler."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
        with z.open("padding.bin", "w", force_zip64=True) as f:
            chunk = bytes(MB)
            for _ in range(unzipped_bytes // MB):
                f.write(chunk)
    return buf.getvalue()


def create_body(name, **fields):
    body = {"FunctionName": name, "Runtime": "python3.11", "Handler": "app.handler",
            "Role": ROLE, "Code": {"ZipFile": b64(code_zip("one"))}}
    body.update(fields)
    return body


class LambdaHttp:
    """Raw requests to the server's Lambda API, with the bearer token unless told otherwise."""

    def __init__(self, server):
        self.token = server.token()
        self.host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
        self.port = int(port)

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method, path, body=None, headers=None, auth=True):
        """One request on a new connection: (status, headers, body bytes)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        if auth:
            all_headers["Authorization"] = "Bearer " + self.token
        all_headers.update(headers or {})
        conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=all_headers)
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    def ok(self, method, path, body, status):
        """The JSON answer of a request that must succeed with `status`."""
        got, _, data = self.request(method, path, body)
        if got != status:
            raise AssertionError(f"{method} {path}: {got} {data[:1000]!r}; expected {status}")
        return json.loads(data) if data else None


class LambdaApiInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GustServer().start()
        cls.outside = tempfile.mkdtemp(prefix="gust-e2e-outside-")
        try:
            cls.http = LambdaHttp(cls.server)
            # target: $LATEST, versions 1 and 2, alias live -> 1.
            cls.http.ok("POST", F, create_body("target"), 201)
            cls.http.ok("POST", F + "/target/versions", {}, 201)
            cls.http.ok("PUT", F + "/target/code", {"ZipFile": b64(code_zip("two"))}, 200)
            cls.http.ok("POST", F + "/target/versions", {}, 201)
            cls.http.ok("POST", F + "/target/aliases", {"Name": "live", "FunctionVersion": "1"},
                        201)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.outside, ignore_errors=True)

    def request(self, *args, **kwargs):
        return self.http.request(*args, **kwargs)

    def ok(self, *args):
        return self.http.ok(*args)

    def assertLambdaError(self, response, status, error_type, mentions=(), what=""):
        got, headers, body = response
        what = what or "the request"
        self.assertEqual(got, status, f"{what}: {body[:1000]!r}")
        self.assertEqual(headers.get("x-amzn-ErrorType"), error_type, f"{what}: {body[:1000]!r}")
        self.assertEqual(headers.get("Content-Type"), "application/json", what)
        error = json.loads(body)
        self.assertEqual(error.get("Type"), "User" if status < 500 else "Service", error)
        self.assertIsInstance(error.get("message"), str, error)
        self.assertTrue(error["message"], error)
        message = error["message"].lower()
        for word in mentions:
            # A field may be named in prose: "routing config" for RoutingConfig.
            self.assertTrue(word.lower() in message or word.lower() in message.replace(" ", ""),
                            f"{what}: {word!r} not in {error}")
        return error

    def check_cases(self, cases):
        """Each case (method, path, body, status, type, mentions[, headers]) is refused as said."""
        for method, path, body, status, error_type, mentions, *headers in cases:
            shown = body if not isinstance(body, (bytes, str)) or len(body) < 200 else "<large>"
            with self.subTest(f"{method} {path} {shown}"[:300]):
                self.assertLambdaError(self.request(method, path, body, *headers), status,
                                       error_type, mentions, f"{method} {path}")

    def function_names(self):
        listed = self.ok("GET", F + "/", None, 200)
        return [f["FunctionName"] for f in listed["Functions"]]

    def configuration(self, qualifier="$LATEST"):
        return self.ok("GET", F + "/target/configuration?Qualifier=" +
                       urllib.parse.quote(qualifier), None, 200)

    # ---- the tests ---------------------------------------------------------------------------

    def test_malformed_json_is_invalid_request_content(self):
        paths = [("POST", F), ("PUT", F + "/target/configuration"), ("PUT", F + "/target/code"),
                 ("POST", F + "/target/versions"), ("POST", F + "/target/aliases"),
                 ("PUT", F + "/target/aliases/live"),
                 ("PUT", "/2017-10-31/functions/target/concurrency"),
                 ("PUT", "/2019-09-30/functions/target/provisioned-concurrency?Qualifier=1"),
                 ("POST", F + "/target/invocations")]
        cases = []
        for method, path in paths:
            for body in (b'{"FunctionName": ', b"not json", b'{"a": 1}}', b"\xff\xfe{}"):
                cases.append((method, path, body, 400, IRCE, ["json"]))
            if not path.endswith("/invocations"):  # any JSON document is a valid payload
                cases.append((method, path, b"[1, 2]", 400, IRCE, ["object"]))
        self.check_cases(cases)
        self.assertEqual(self.function_names(), ["target"])

    def test_create_function_refuses_bad_fields_by_name(self):
        big_env = {"Variables": {"BIG": "x" * 4100}}
        cases = [
            ({"FunctionName": 5}, ["FunctionName", "string"]),
            ({"FunctionName": "bad name!"}, ["name", "bad name!"]),
            ({"FunctionName": "n" * 65}, ["name", "64"]),
            ({"FunctionName": "bad:1"}, ["FunctionName", "qualifier"]),
            ({"Runtime": 3}, ["Runtime", "string"]),
            ({"Runtime": "python2.7"}, ["runtime", "python2.7", "python3.11"]),
            ({"Handler": []}, ["Handler", "string"]),
            ({"Handler": ""}, ["handler"]),
            ({"Timeout": "10"}, ["Timeout", "integer"]),
            ({"Timeout": 1.5}, ["Timeout", "integer"]),
            ({"Timeout": 0}, ["Timeout", "1 to 900"]),
            ({"Timeout": 901}, ["Timeout", "1 to 900"]),
            ({"MemorySize": 64}, ["MemorySize", "128 to 10240"]),
            ({"MemorySize": 10241}, ["MemorySize", "128 to 10240"]),
            ({"MemorySize": 10 ** 30}, ["MemorySize"]),
            ({"MemorySize": True}, ["MemorySize", "integer"]),
            ({"Publish": "yes"}, ["Publish"]),
            ({"Description": 7}, ["Description", "string"]),
            ({"Description": "d" * 257}, ["description", "256"]),
            ({"Role": ["r"]}, ["Role", "string"]),
            ({"Environment": "A=1"}, ["Environment"]),
            ({"Environment": {"Vars": {}}}, ["Environment", "Vars"]),
            ({"Environment": {"Variables": ["A"]}}, ["Environment.Variables"]),
            ({"Environment": {"Variables": {"A": 1}}}, ["Environment.Variables.A", "string"]),
            ({"Environment": big_env}, ["environment", "4096"]),
            ({"Environment": {"Variables": {"1BAD": "x"}}}, ["environment", "1BAD"]),
            ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, ["AWS_REGION", "reserved"]),
            ({"EphemeralStorage": 512}, ["EphemeralStorage"]),
            ({"EphemeralStorage": {"Size": 511}}, ["EphemeralStorage", "512 to 10240"]),
            ({"EphemeralStorage": {"Size": 10241}}, ["EphemeralStorage", "512 to 10240"]),
            ({"Bogus": 1}, ["Bogus"]),
            ({"Code": "UEsDBA=="}, ["Code"]),
            ({"Code": {}}, ["Code.ZipFile", "required"]),
            ({"Code": {"ZipFile": 5}}, ["Code.ZipFile"]),
            ({"Code": {"ZipFile": "!!! not base64 !!!"}}, ["Code.ZipFile", "base64"]),
            ({"Code": {"ZipFile": ""}}, ["Code.ZipFile"]),
            ({"Code": {"ZipFile": b64(code_zip("one")), "Extra": 1}}, ["Extra"]),
            ({"Code": {"S3Bucket": "b", "S3Key": "k"}}, ["S3Bucket", "ZipFile"]),
            ({"Code": {"ImageUri": "repo/image:1"}}, ["ImageUri"]),
            # What Gust does not have is refused by name, not ignored.
            ({"VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}},
             ["VpcConfig", "not supported"]),
            ({"Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:deps:1"]},
             ["Layers", "not supported"]),
            ({"FileSystemConfigs": [{"Arn": "arn:aws:elasticfilesystem:us-east-1:1:x",
                                     "LocalMountPath": "/mnt/x"}]}, ["FileSystemConfigs"]),
            ({"Tags": {"team": "a"}}, ["Tags"]),
            ({"DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:1:q"}},
             ["DeadLetterConfig"]),
            ({"KMSKeyArn": "arn:aws:kms:us-east-1:1:key/k"}, ["KMSKeyArn"]),
            ({"CodeSigningConfigArn": "arn:aws:lambda:us-east-1:1:code-signing-config:c"},
             ["CodeSigningConfigArn"]),
            ({"ImageConfig": {"Command": ["x"]}}, ["ImageConfig"]),
            ({"PackageType": "Image"}, ["PackageType"]),
            ({"Architectures": ["arm64"]}, ["Architectures"]),
            ({"TracingConfig": {"Mode": "Active"}}, ["TracingConfig"]),
            ({"SnapStart": {"ApplyOn": "PublishedVersions"}}, ["SnapStart"]),
        ]
        self.check_cases([("POST", F, create_body("refused", **fields), 400, IPVE, mentions)
                          for fields, mentions in cases])
        for field in ("FunctionName", "Runtime", "Handler", "Code"):
            body = create_body("refused")
            del body[field]
            self.check_cases([("POST", F, body, 400, IPVE, [field, "required"])])
        self.assertEqual(self.function_names(), ["target"])
        # The same fields set to what means "not used" are accepted.
        created = self.ok("POST", F, create_body(
            "accepted", VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}, Layers=[],
            Architectures=["x86_64"], PackageType="Zip", TracingConfig={"Mode": "PassThrough"},
            MemorySize=128, Timeout=900, EphemeralStorage={"Size": 10240}), 201)
        self.assertEqual((created["MemorySize"], created["Timeout"]), (128, 900))
        self.check_cases([("POST", F, create_body("accepted"), 409,
                           "ResourceConflictException", ["accepted"])])
        self.ok("DELETE", F + "/accepted", None, 204)

    def test_update_configuration_and_code_change_nothing_when_refused(self):
        before = self.configuration()
        stale = "00000000-0000-4000-8000-000000000000"
        config = F + "/target/configuration"
        code = F + "/target/code"
        zip_b64 = b64(code_zip("refused"))
        self.check_cases([
            ("PUT", config, {"Timeout": 901}, 400, IPVE, ["Timeout"]),
            ("PUT", config, {"MemorySize": 64}, 400, IPVE, ["MemorySize"]),
            ("PUT", config, {"Environment": {"Variables": {"BIG": "x" * 4100}}}, 400, IPVE,
             ["environment"]),
            ("PUT", config, {"Runtime": "cobol"}, 400, IPVE, ["runtime", "cobol"]),
            ("PUT", config, {"Handler": 5}, 400, IPVE, ["Handler"]),
            ("PUT", config, {"Handler": "no_dot"}, 400, IPVE, ["handler"]),
            ("PUT", config, {"FunctionName": "renamed"}, 400, IPVE, ["FunctionName"]),
            ("PUT", config, {"VpcConfig": {"SubnetIds": ["subnet-1"]}}, 400, IPVE,
             ["VpcConfig"]),
            ("PUT", config, {"Layers": ["arn:aws:lambda:us-east-1:1:layer:l:1"]}, 400, IPVE,
             ["Layers"]),
            ("PUT", config, {"LoggingConfig": {"LogFormat": "JSON"}}, 400, IPVE,
             ["LoggingConfig"]),
            ("PUT", config, {"RevisionId": 5}, 400, IPVE, ["RevisionId"]),
            ("PUT", config, {"Timeout": 30, "RevisionId": stale}, 412,
             "PreconditionFailedException", ["Revision"]),
            ("PUT", F + "/target:1/configuration", {"Timeout": 30}, 400, IPVE, ["qualified"]),
            ("PUT", F + "/nope/configuration", {"Timeout": 30}, 404, NOT_FOUND, ["nope"]),
            ("PUT", code, {}, 400, IPVE, ["ZipFile", "required"]),
            ("PUT", code, {"ZipFile": 5}, 400, IPVE, ["ZipFile"]),
            ("PUT", code, {"ZipFile": "%%%"}, 400, IPVE, ["ZipFile", "base64"]),
            ("PUT", code, {"ZipFile": ""}, 400, IPVE, ["ZipFile"]),
            ("PUT", code, {"ZipFile": b64(b"not a zip at all")}, 400, IPVE, ["zip"]),
            ("PUT", code, {"S3Bucket": "b", "S3Key": "k"}, 400, IPVE, ["S3Bucket"]),
            ("PUT", code, {"ZipFile": zip_b64, "Publish": "yes"}, 400, IPVE, ["Publish"]),
            ("PUT", code, {"ZipFile": zip_b64, "Bogus": 1}, 400, IPVE, ["Bogus"]),
            ("PUT", code, {"ZipFile": zip_b64, "Architectures": ["arm64"]}, 400, IPVE,
             ["Architectures"]),
            ("PUT", code, {"ZipFile": zip_b64, "RevisionId": stale}, 412,
             "PreconditionFailedException", ["Revision"]),
            ("PUT", F + "/nope/code", {"ZipFile": zip_b64}, 404, NOT_FOUND, ["nope"]),
        ])
        self.assertEqual(self.configuration(), before)

    def test_hostile_zips_are_refused_and_write_nothing_outside(self):
        outside = self.outside
        depth = "../" * 24
        cases = [
            ("path traversal", zip_of([("app.py", b"x = 1\n"),
                                       (depth + outside.lstrip("/") + "/escaped", b"pwned")]),
             400, IPVE, ["escapes"]),
            ("a dot-dot inside", zip_of([("app.py", b"x = 1\n"), ("lib/../../up", b"pwned")]),
             400, IPVE, ["escapes"]),
            ("absolute path", zip_of([("app.py", b"x = 1\n"), (outside + "/absolute", b"pwned")]),
             400, IPVE, ["absolute"]),
            ("symlink out", zip_of([("app.py", b"x = 1\n"), symlink_entry("link", outside),
                                    ("link/through", b"pwned")]), 400, IPVE, ["link"]),
            ("symlink to a secret", zip_of([("app.py", b"x = 1\n"),
                                            symlink_entry("passwd", "/etc/passwd")]),
             400, IPVE, ["link"]),
            ("not a zip", b"MZ\x90\x00 this is no zip" * 10, 400, IPVE, ["zip"]),
            ("truncated zip", code_zip("one")[:60], 400, IPVE, ["zip"]),
            ("nothing in it", zip_of([]), 400, IPVE, ["zip"]),
            ("only a directory", zip_of([("lib/", b"")]), 400, IPVE, ["no files"]),
            ("over 20000 entries", zip_of([(f"f{i}", b"") for i in range(20001)]), 413,
             "RequestTooLargeException", ["20000"]),
            ("over 250 MB unzipped", zip_bomb(260 * MB), 413, "RequestTooLargeException",
             ["unzipped", str(250 * MB)]),
        ]
        for what, data, status, error_type, mentions in cases:
            with self.subTest(what):
                self.assertLambdaError(
                    self.request("POST", F, create_body("hostile", Code={"ZipFile": b64(data)})),
                    status, error_type, mentions, "CreateFunction with " + what)
                self.assertLambdaError(
                    self.request("PUT", F + "/target/code", {"ZipFile": b64(data)}),
                    status, error_type, mentions, "UpdateFunctionCode with " + what)
        self.assertEqual(os.listdir(outside), [], "a hostile zip wrote outside the server's dirs")
        self.assertEqual(self.function_names(), ["target"])
        self.assertEqual(self.configuration()["CodeSha256"],
                         b64(hashlib.sha256(code_zip("two")).digest()))
        # Nothing of the refused extractions is left behind (the bomb alone would be 250 MB).
        total = sum(os.path.getsize(os.path.join(d, f))
                    for d, _, files in os.walk(self.server.data_dir) for f in files
                    if not os.path.islink(os.path.join(d, f)))
        self.assertLess(total, 50 * MB, "refused code left files in the data dir")

    def test_oversize_bodies_are_413(self):
        # Code over Lambda's 50 MB zipped limit (random bytes do not compress).
        big = zip_of([("app.py", b"x = 1\n"), ("blob.bin", os.urandom(51 * MB))])
        self.assertLambdaError(
            self.request("POST", F, create_body("huge", Code={"ZipFile": b64(big)})),
            413, "RequestTooLargeException", ["50"], "CreateFunction with a 51 MB zip")
        # Payloads over Invoke's limits: 6 MB synchronous, 1 MB asynchronous.
        payload = b'"' + b"x" * (6 * MB) + b'"'
        self.assertLambdaError(self.request("POST", F + "/target/invocations", payload),
                               413, "RequestTooLargeException", ["6291456"], "Invoke, 6 MB + 2")
        payload = b'"' + b"x" * MB + b'"'
        self.assertLambdaError(
            self.request("POST", F + "/target/invocations", payload,
                         {"X-Amz-Invocation-Type": "Event"}),
            413, "RequestTooLargeException", ["1048576"], "Invoke Event, 1 MB + 2")
        self.assertEqual(self.function_names(), ["target"])

    def post_over_the_servers_limit(self):
        """A CreateFunction whose Content-Length is over the server's 80 MB limit on any body:
        the head and a little of the body, as the server refuses on Content-Length alone."""
        conn = self.http.connect()
        try:
            conn.putrequest("POST", F)
            conn.putheader("Authorization", "Bearer " + self.http.token)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(81 * MB))
            conn.endheaders(b'{"FunctionName": "')
            res = conn.getresponse()
            return res.status, res.headers, res.read()
        finally:
            conn.close()

    def test_a_body_over_the_servers_limit_is_413_without_reading_it(self):
        status, _, body = self.post_over_the_servers_limit()
        self.assertEqual(status, 413, body)
        self.assertIn("limit", json.loads(body)["message"])
        self.assertEqual(self.function_names(), ["target"])

    # The HTTP server answers this 413 itself, before the gateway sees the request; the gateway
    # gives it Lambda's shape on the Lambda API's paths.
    def test_a_body_over_the_servers_limit_has_lambdas_error_shape(self):
        self.assertLambdaError(self.post_over_the_servers_limit(), 413,
                               "RequestTooLargeException", ["limit"], "an 81 MB body")

    def test_invoke_refuses_bad_input(self):
        inv = F + "/target/invocations"
        context = b64(json.dumps({"custom": "x" * 4000}).encode())
        self.check_cases([
            ("POST", inv, b"{}", 400, IPVE, ["X-Amz-Invocation-Type", "RequestResponse"],
             {"X-Amz-Invocation-Type": "Sometimes"}),
            ("POST", inv, b"{}", 400, IPVE, ["X-Amz-Log-Type", "Tail"],
             {"X-Amz-Log-Type": "Head"}),
            ("POST", inv, b"{}", 400, IPVE, ["X-Amz-Client-Context"],
             {"X-Amz-Client-Context": "!!!"}),
            ("POST", inv, b"{}", 400, IPVE, ["X-Amz-Client-Context"],
             {"X-Amz-Client-Context": b64(b"[1, 2]")}),
            ("POST", inv, b"{}", 400, IPVE, ["X-Amz-Client-Context", "3583"],
             {"X-Amz-Client-Context": context}),
            ("POST", F + "/nope/invocations", b"{}", 404, NOT_FOUND, ["nope"]),
            ("POST", inv + "?Qualifier=9", b"{}", 404, NOT_FOUND, ["9"]),
            ("POST", inv + "?Qualifier=nosuchalias", b"{}", 404, NOT_FOUND, ["nosuchalias"]),
            ("POST", inv + "?Qualifier=", b"{}", 400, IPVE, ["Qualifier"]),
            ("POST", F + "/target:1/invocations?Qualifier=2", b"{}", 400, IPVE,
             ["qualifier"]),
            ("POST", F + "/a:b:c:d/invocations", b"{}", 400, IPVE, ["FunctionName"]),
            ("POST", F + "/arn:aws:lambda:us-east-1:1:layer:x/invocations", b"{}", 400, IPVE,
             ["FunctionName"]),
        ])
        # The same function invoked well: DryRun checks it exists and runs nothing.
        status, _, body = self.request("POST", inv, b"{}", {"X-Amz-Invocation-Type": "DryRun"})
        self.assertEqual(status, 204, body)

    def test_reads_refuse_bad_parameters(self):
        self.check_cases([
            ("GET", F + "/?MaxItems=0", None, 400, IPVE, ["MaxItems"]),
            ("GET", F + "/?MaxItems=abc", None, 400, IPVE, ["MaxItems"]),
            ("GET", F + "/?MaxItems=10001", None, 400, IPVE, ["MaxItems"]),
            ("GET", F + "/?FunctionVersion=1", None, 400, IPVE, ["FunctionVersion", "ALL"]),
            ("GET", F + "/target/versions?MaxItems=-1", None, 400, IPVE, ["MaxItems"]),
            ("GET", F + "/target/aliases?MaxItems=x", None, 400, IPVE, ["MaxItems"]),
            ("GET", F + "/nope", None, 404, NOT_FOUND, ["nope"]),
            ("GET", F + "/nope/configuration", None, 404, NOT_FOUND, ["nope"]),
            ("GET", F + "/nope/versions", None, 404, NOT_FOUND, ["nope"]),
            ("GET", F + "/nope/aliases", None, 404, NOT_FOUND, ["nope"]),
            ("GET", F + "/target?Qualifier=9", None, 404, NOT_FOUND, ["9"]),
            ("GET", F + "/target?Qualifier=", None, 400, IPVE, ["Qualifier"]),
            ("GET", F + "/target:1?Qualifier=2", None, 400, IPVE, ["qualifier"]),
            ("GET", F + "/a:b:c:d", None, 400, IPVE, ["FunctionName"]),
            ("GET", F + "/" + "n" * 171, None, 400, IPVE, ["FunctionName"]),
        ])

    def test_versions_and_aliases_refuse_bad_input(self):
        other_sha = b64(hashlib.sha256(b"other code").digest())
        stale = "00000000-0000-4000-8000-000000000000"
        versions = F + "/target/versions"
        aliases = F + "/target/aliases"
        live = aliases + "/live"

        def alias(**fields):
            return {"Name": "refused", "FunctionVersion": "1", **fields}

        def weights(w):
            return alias(RoutingConfig={"AdditionalVersionWeights": w})

        self.check_cases([
            ("POST", versions, {"CodeSha256": "not-a-digest"}, 400, IPVE, ["CodeSha256"]),
            ("POST", versions, {"CodeSha256": other_sha}, 412, "PreconditionFailedException",
             ["code"]),
            ("POST", versions, {"RevisionId": stale}, 412, "PreconditionFailedException",
             ["Revision"]),
            ("POST", versions, {"Description": 5}, 400, IPVE, ["Description"]),
            ("POST", versions, {"Bogus": 1}, 400, IPVE, ["Bogus"]),
            ("POST", F + "/target:1/versions", {}, 400, IPVE, ["qualified"]),
            ("POST", F + "/nope/versions", {}, 404, NOT_FOUND, ["nope"]),
            ("POST", aliases, {}, 400, IPVE, ["Name", "required"]),
            ("POST", aliases, {"Name": "refused"}, 400, IPVE, ["FunctionVersion", "required"]),
            ("POST", aliases, alias(Name=5), 400, IPVE, ["Name"]),
            ("POST", aliases, alias(Name="123"), 400, IPVE, ["123"]),
            ("POST", aliases, alias(Name="bad name"), 400, IPVE, ["bad name"]),
            ("POST", aliases, alias(Name="a" * 129), 400, IPVE, ["128"]),
            ("POST", aliases, alias(FunctionVersion=1), 400, IPVE, ["FunctionVersion"]),
            ("POST", aliases, alias(FunctionVersion="9"), 404, NOT_FOUND, ["9"]),
            ("POST", aliases, alias(RevisionId="x"), 400, IPVE, ["RevisionId"]),
            ("POST", aliases, alias(Bogus=1), 400, IPVE, ["Bogus"]),
            ("POST", aliases, alias(RoutingConfig="x"), 400, IPVE, ["RoutingConfig"]),
            ("POST", aliases, alias(RoutingConfig={"Weights": {}}), 400, IPVE,
             ["RoutingConfig", "Weights"]),
            ("POST", aliases, weights([0.5]), 400, IPVE, ["AdditionalVersionWeights"]),
            ("POST", aliases, weights({"2": "half"}), 400, IPVE,
             ["AdditionalVersionWeights.2"]),
            ("POST", aliases, weights({"2": 1.5}), 400, IPVE, ["RoutingConfig"]),
            ("POST", aliases, weights({"2": -0.1}), 400, IPVE, ["RoutingConfig"]),
            ("POST", aliases, weights({"2": 0.1, "$LATEST": 0.1}), 400, IPVE,
             ["RoutingConfig"]),
            ("POST", aliases, weights({"$LATEST": 0.5}), 400, IPVE, ["RoutingConfig"]),
            ("POST", aliases, weights({"1": 0.5}), 400, IPVE, ["RoutingConfig"]),
            ("POST", aliases, weights({"9": 0.5}), 404, NOT_FOUND, ["9"]),
            ("POST", aliases, alias(Name="live"), 409, "ResourceConflictException", ["live"]),
            ("POST", F + "/nope/aliases", alias(), 404, NOT_FOUND, ["nope"]),
            ("PUT", live, {"Name": "renamed"}, 400, IPVE, ["Name"]),
            ("PUT", live, {"FunctionVersion": 2}, 400, IPVE, ["FunctionVersion"]),
            ("PUT", live, {"FunctionVersion": "9"}, 404, NOT_FOUND, ["9"]),
            ("PUT", live, {"RevisionId": stale}, 412, "PreconditionFailedException", ["Revision"]),
            ("PUT", live, {"RoutingConfig": {"AdditionalVersionWeights": {"2": 2}}}, 400, IPVE,
             ["RoutingConfig"]),
            ("PUT", aliases + "/nope", {"FunctionVersion": "1"}, 404, NOT_FOUND, ["nope"]),
            ("GET", aliases + "/nope", None, 404, NOT_FOUND, ["nope"]),
            ("DELETE", aliases + "/nope", None, 404, NOT_FOUND, ["nope"]),
            # DeleteFunction with a qualifier deletes a version, nothing else.
            ("DELETE", F + "/target?Qualifier=%24LATEST", None, 400, IPVE, ["$LATEST"]),
            ("DELETE", F + "/target?Qualifier=live", None, 400, IPVE, ["alias"]),
            ("DELETE", F + "/target?Qualifier=9", None, 404, NOT_FOUND, ["9"]),
            ("DELETE", F + "/target?Qualifier=1", None, 409, "ResourceConflictException",
             ["live"]),
            ("DELETE", F + "/nope", None, 404, NOT_FOUND, ["nope"]),
        ])
        got = self.ok("GET", live, None, 200)
        self.assertEqual(got["FunctionVersion"], "1")
        self.assertNotIn("RoutingConfig", got)
        listed = self.ok("GET", aliases, None, 200)
        self.assertEqual([a["Name"] for a in listed["Aliases"]], ["live"])
        listed = self.ok("GET", versions, None, 200)
        self.assertEqual([v["Version"] for v in listed["Versions"]], ["$LATEST", "1", "2"])

    def test_concurrency_refuses_bad_input(self):
        reserved = "/2017-10-31/functions/target/concurrency"
        provisioned = "/2019-09-30/functions/target/provisioned-concurrency"
        field = "ReservedConcurrentExecutions"
        pfield = "ProvisionedConcurrentExecutions"
        self.check_cases([
            ("PUT", reserved, {}, 400, IPVE, [field, "required"]),
            ("PUT", reserved, {field: "5"}, 400, IPVE, [field, "integer"]),
            ("PUT", reserved, {field: -1}, 400, IPVE, [field]),
            ("PUT", reserved, {field: 1001}, 400, IPVE, [field]),
            ("PUT", reserved, {field: 5, "Bogus": 1}, 400, IPVE, ["Bogus"]),
            ("PUT", "/2017-10-31/functions/nope/concurrency", {field: 5}, 404, NOT_FOUND,
             ["nope"]),
            ("GET", "/2019-09-30/functions/nope/concurrency", None, 404, NOT_FOUND, ["nope"]),
            ("DELETE", "/2017-10-31/functions/nope/concurrency", None, 404, NOT_FOUND, ["nope"]),
            ("PUT", provisioned, {pfield: 1}, 400, IPVE, ["Qualifier"]),
            ("PUT", provisioned + "?Qualifier=%24LATEST", {pfield: 1}, 400, IPVE, ["$LATEST"]),
            ("PUT", provisioned + "?Qualifier=1", {}, 400, IPVE, [pfield, "required"]),
            ("PUT", provisioned + "?Qualifier=1", {pfield: 0}, 400, IPVE, [pfield]),
            ("PUT", provisioned + "?Qualifier=1", {pfield: "1"}, 400, IPVE, [pfield]),
            ("PUT", provisioned + "?Qualifier=1", {pfield: 1001}, 400, IPVE, [pfield]),
            ("PUT", provisioned + "?Qualifier=9", {pfield: 1}, 404, NOT_FOUND, ["9"]),
            ("PUT", provisioned + "?Qualifier=nosuchalias", {pfield: 1}, 404, NOT_FOUND,
             ["nosuchalias"]),
            ("GET", provisioned, None, 400, IPVE, ["Qualifier"]),
            ("GET", provisioned + "?Qualifier=1", None, 404,
             "ProvisionedConcurrencyConfigNotFoundException", ["1"]),
            ("DELETE", provisioned + "?Qualifier=1", None, 404, NOT_FOUND, ["1"]),
            ("GET", "/2019-09-30/functions/nope/provisioned-concurrency?List=ALL", None, 404,
             NOT_FOUND, ["nope"]),
        ])
        # The account keeps at least 100 unreserved: reserving 901 of 1000 is refused.
        self.assertLambdaError(self.request("PUT", reserved, {field: 901}), 400, IPVE,
                               ["100"], "PutFunctionConcurrency 901")
        self.assertEqual(self.ok("GET", "/2019-09-30/functions/target/concurrency", None, 200),
                         {})
        listed = self.ok("GET", provisioned + "?List=ALL", None, 200)
        self.assertEqual(listed["ProvisionedConcurrencyConfigs"], [])

    def test_unknown_operations_are_unsupported_by_name(self):
        cases = [
            ("GET", F + "/target/policy"),                          # GetPolicy
            ("POST", F + "/target/policy"),                         # AddPermission
            ("PATCH", F + "/target"),
            ("DELETE", F),
            ("POST", "/2021-10-31/functions/target/url"),           # CreateFunctionUrlConfig
            ("GET", "/2017-03-31/tags/arn:aws:lambda:us-east-1:1:function:target"),  # ListTags
            ("POST", "/2015-03-31/event-source-mappings/"),         # CreateEventSourceMapping
            ("GET", "/2020-06-30/functions/target/code-signing-config"),  # GetFunctionCodeSigningConfig
            ("GET", "/2018-10-31/layers"),                          # ListLayers
            ("POST", "/2021-11-15/functions/target/response-streaming-invocations"),
        ]
        for method, path in cases:
            with self.subTest(f"{method} {path}"):
                self.assertLambdaError(self.request(method, path, None), 404,
                                       "UnsupportedOperationException", [f"{method} {path}"],
                                       f"{method} {path}")

    def test_credentials_are_checked_in_lambdas_shape(self):
        path = F + "/"
        self.assertLambdaError(self.request("GET", path, auth=False), 403,
                               "MissingAuthenticationTokenException", ["Authorization"])
        self.assertLambdaError(self.request("GET", path, headers={"Authorization": "Bearer x"},
                                            auth=False), 403, "UnrecognizedClientException")
        self.assertLambdaError(self.request("GET", path, headers={"Authorization": "Basic eDp5"},
                                            auth=False), 403, "UnrecognizedClientException")
        # A signature header that cannot be parsed.
        self.assertLambdaError(
            self.request("GET", path, headers={"Authorization": "AWS4-HMAC-SHA256 garbage",
                                               "X-Amz-Date": "20260101T000000Z"}, auth=False),
            403, "IncompleteSignatureException")


if __name__ == "__main__":
    unittest.main()
