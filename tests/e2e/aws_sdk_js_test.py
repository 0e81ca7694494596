"""Lambda's REST API on `gust serve` through the AWS SDK for JavaScript v3 (npm
@aws-sdk/client-lambda, pinned by aws-sdk-js/package-lock.json, on /usr/bin/node): the story of
lambda_story.py, signed with an access key the server issued.

The SDK is installed with `npm ci` into $GUST_AWS_SDK_JS_CACHE (the build dir), keyed by the lock
file's hash, so only the first run downloads it. If the npm registry cannot be reached the test is
skipped, saying why; any other install failure fails it."""
import base64
import json
import os
import select
import subprocess
import tempfile
import unittest

from gustserver import SOURCE_DIR, npm_install
from lambda_operations import OperationClient
from lambda_story import LambdaFailure, Story

PACKAGE = os.path.join(SOURCE_DIR, "tests", "e2e", "aws-sdk-js")
CALL_SECONDS = 120  # one operation, including the SDK's own timeouts
# Errors that @aws-sdk/client-lambda has a class for (those the story meets).
MODELLED = {"ResourceNotFoundException", "ResourceConflictException", "TooManyRequestsException",
            "ProvisionedConcurrencyConfigNotFoundException", "InvalidParameterValueException"}


class JsSdkClient(OperationClient):
    """One node process running bridge.mjs; each call is a line to it and a line back."""

    def __init__(self, root, url, env, work):
        self.stderr = tempfile.TemporaryFile(dir=work)
        self.proc = subprocess.Popen(
            ["/usr/bin/node", os.path.join(PACKAGE, "bridge.mjs"), root, url], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True)

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()

    def send(self, op, params):
        self.proc.stdin.write(json.dumps({"op": op, "input": params}) + "\n")
        self.proc.stdin.flush()
        # The bridge answers every line, or exits.
        if not select.select([self.proc.stdout], [], [], CALL_SECONDS)[0]:
            self.proc.kill()
            raise AssertionError(f"{op} took over {CALL_SECONDS} s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=CALL_SECONDS)
            self.stderr.seek(0)
            raise AssertionError(f"the SDK bridge exited ({self.proc.returncode}):\n" +
                                 self.stderr.read()[-3000:].decode(errors="replace"))
        answer = json.loads(line)
        if "error" in answer:
            error = answer["error"]
            if not error["serviceException"]:
                raise AssertionError(f"{op} failed in the SDK, not with a service error: {error}")
            # The SDK names the error after x-amzn-ErrorType and, when Lambda's model has that
            # exception, makes it an instance of its class.
            if error["name"] in MODELLED and error["className"] != error["name"]:
                raise AssertionError(f"{op}: the SDK made a {error['className']} for "
                                     f"{error['name']}: {error}")
            raise LambdaFailure(error["name"], error["message"], error["status"])
        return answer["output"]

    def call(self, operation, params):
        params = dict(params)
        if "Code" in params:
            params["Code"] = {"ZipFile": base64.b64encode(params["Code"]["ZipFile"]).decode()}
        for blob in ("ZipFile", "Payload"):
            if blob in params:
                params[blob] = base64.b64encode(params[blob]).decode()
        out = self.send(operation, params)
        out.pop("$httpStatusCode")
        if operation == "Invoke":
            out["Payload"] = base64.b64decode(out.get("Payload", ""))
        return out

    def list_function_pages(self, page_size):
        """The SDK's paginateListFunctions, which follows NextMarker."""
        return self.send("paginateListFunctions", {"pageSize": page_size})["pages"]



class AwsSdkJsTest(Story, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = npm_install(PACKAGE, "GUST_AWS_SDK_JS_CACHE",
                               os.path.join("node_modules", "@aws-sdk", "client-lambda",
                                            "package.json"))
        super().setUpClass()

    @classmethod
    def make_client(cls, url, env, work):
        return JsSdkClient(cls.root, url, env, work)


if __name__ == "__main__":
    unittest.main()
