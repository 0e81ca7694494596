"""Lambda's REST API on `gust serve` through the AWS CLI (Debian's awscli, /usr/bin/aws, v2):
the story of lambda_story.py, signed with an access key the server issued."""
import json
import os
import re
import subprocess
import unittest

from lambda_story import HANDLER, ROLE, RUNTIME, LambdaFailure, Story

AWS = "/usr/bin/aws"

# How the CLI reports a service error on stderr; it then exits 254.
CLI_ERROR = re.compile(
    r"An error occurred \((\w+)\) when calling the (\w+) operation(?: \([^)]*\))?: (.*)")


class AwsCli:
    """The story's steps as `aws lambda ...` commands, one process each."""

    def __init__(self, url, env, work):
        self.url = url
        self.env = env
        self.work = work

    def close(self):
        pass

    def run(self, *args):
        cmd = [AWS, "--endpoint-url", self.url, "--output", "json", "--no-cli-pager", "lambda",
               *args]
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            return json.loads(r.stdout) if r.stdout.strip() else {}
        m = CLI_ERROR.search(r.stderr)
        if not m:
            raise AssertionError(f"aws lambda {args[0]} exited {r.returncode}:\n{r.stderr[-3000:]}")
        if r.returncode != 254:
            raise AssertionError(f"aws lambda {args[0]} failed with exit code {r.returncode}, not "
                                 f"the CLI's 254 for a service error:\n{r.stderr[-3000:]}")
        return self.fail(m)

    @staticmethod
    def fail(match):
        raise LambdaFailure(match.group(1), match.group(3).strip())

    def zip_file(self, zip_bytes):
        path = os.path.join(self.work, "function.zip")
        with open(path, "wb") as f:
            f.write(zip_bytes)
        return "fileb://" + path

    def create_function(self, name, zip_bytes):
        return self.run("create-function", "--function-name", name, "--runtime", RUNTIME,
                        "--handler", HANDLER, "--role", ROLE, "--memory-size", "128",
                        "--timeout", "10", "--zip-file", self.zip_file(zip_bytes))

    def invoke(self, name, event, qualifier=None, log_tail=False):
        out = os.path.join(self.work, "payload.out")
        if os.path.exists(out):
            os.remove(out)
        args = ["invoke", "--function-name", name, "--cli-binary-format", "raw-in-base64-out",
                "--payload", json.dumps(event)]
        if qualifier:
            args += ["--qualifier", qualifier]
        if log_tail:
            args += ["--log-type", "Tail"]
        result = self.run(*args, out)
        with open(out, "rb") as f:
            result["Payload"] = f.read()
        return result

    def update_function_code(self, name, zip_bytes):
        return self.run("update-function-code", "--function-name", name, "--zip-file",
                        self.zip_file(zip_bytes))

    def update_function_configuration(self, name, variables):
        return self.run("update-function-configuration", "--function-name", name,
                        "--environment", json.dumps({"Variables": variables}))

    def publish_version(self, name, description):
        return self.run("publish-version", "--function-name", name, "--description", description)

    def create_alias(self, name, alias, version, weights):
        return self.run("create-alias", "--function-name", name, "--name", alias,
                        "--function-version", version, "--routing-config",
                        json.dumps({"AdditionalVersionWeights": weights}))

    def get_alias(self, name, alias):
        return self.run("get-alias", "--function-name", name, "--name", alias)

    def list_aliases(self, name):
        return self.run("list-aliases", "--function-name", name)["Aliases"]

    def delete_alias(self, name, alias):
        return self.run("delete-alias", "--function-name", name, "--name", alias)

    def put_function_concurrency(self, name, n):
        return self.run("put-function-concurrency", "--function-name", name,
                        "--reserved-concurrent-executions", str(n))

    def get_function_concurrency(self, name):
        return self.run("get-function-concurrency", "--function-name", name)

    def delete_function_concurrency(self, name):
        return self.run("delete-function-concurrency", "--function-name", name)

    def put_provisioned_concurrency(self, name, qualifier, n):
        return self.run("put-provisioned-concurrency-config", "--function-name", name,
                        "--qualifier", qualifier, "--provisioned-concurrent-executions", str(n))

    def get_provisioned_concurrency(self, name, qualifier):
        return self.run("get-provisioned-concurrency-config", "--function-name", name,
                        "--qualifier", qualifier)

    def delete_provisioned_concurrency(self, name, qualifier):
        return self.run("delete-provisioned-concurrency-config", "--function-name", name,
                        "--qualifier", qualifier)

    def get_function(self, name, qualifier=None):
        return self.run("get-function", "--function-name", name,
                        *(["--qualifier", qualifier] if qualifier else []))

    def list_function_pages(self, page_size):
        """The CLI's own paging: --max-items a page, --starting-token for the next."""
        pages, token = [], None
        for _ in range(20):
            args = ["list-functions", "--page-size", str(page_size), "--max-items",
                    str(page_size)]
            out = self.run(*args, *(["--starting-token", token] if token else []))
            pages.append([f["FunctionName"] for f in out["Functions"]])
            token = out.get("NextToken")
            if not token:
                return pages
        raise AssertionError(f"list-functions never ended: {pages}")

    def list_versions(self, name):
        return self.run("list-versions-by-function", "--function-name", name)["Versions"]

    def delete_function(self, name, qualifier=None):
        return self.run("delete-function", "--function-name", name,
                        *(["--qualifier", qualifier] if qualifier else []))


class AwsCliTest(Story, unittest.TestCase):
    @classmethod
    def make_client(cls, url, env, work):
        r = subprocess.run([AWS, "--version"], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0 or not r.stdout.startswith("aws-cli/2."):
            raise RuntimeError(f"{AWS} is not the AWS CLI v2 (apt-get install awscli): "
                               f"{r.stdout}{r.stderr}")
        return AwsCli(url, env, work)


if __name__ == "__main__":
    unittest.main()
