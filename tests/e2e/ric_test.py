"""The `provided` runtime's acceptance test: AWS's Node runtime interface client (npm
aws-lambda-ric, pinned by functions/provided-ric/ric/package-lock.json) runs a plain Node handler
through Gust's Runtime API, unchanged.

Installing the client builds its native part (about 2 minutes; needs autoconf, automake, libtool
and a C++ toolchain), so the install is cached in $GUST_RIC_CACHE by the lock file's hash and
the first run of the suite takes that long (later runs reuse the cache; `-DGUST_E2E_RIC=OFF`
leaves the test out). If the npm registry cannot be reached the test is skipped, saying why."""
import json
import os
import re
import shutil
import tempfile
import unittest

from gustserver import GustServer, function_dir, npm_install

FUNCTION = function_dir("provided-ric")


def install_ric():
    """The installed client's package dir, from the cache or a fresh `npm ci`."""
    # package.json's allowScripts lets npm run the client's native build.
    root = npm_install(os.path.join(FUNCTION, "ric"), "GUST_RIC_CACHE",
                       os.path.join("node_modules", "aws-lambda-ric", "dist", "rapid-client.node"),
                       hint=" (it needs autoconf, automake and libtool: apt-get install -y "
                       "autoconf automake libtool)")
    return os.path.join(root, "node_modules", "aws-lambda-ric")


class RicTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        package = install_ric()
        cls.work = tempfile.mkdtemp(prefix="gust-e2e-ric-")
        os.chmod(cls.work, 0o755)
        cls.fn = os.path.join(cls.work, "provided-ric")
        shutil.copytree(FUNCTION, cls.fn, ignore=shutil.ignore_patterns("ric"))
        # Only what the client needs at run time: its JS and the built native module.
        dest = os.path.join(cls.fn, "node_modules", "aws-lambda-ric")
        os.makedirs(dest)
        for part in ("bin", "dist"):
            shutil.copytree(os.path.join(package, part), os.path.join(dest, part))
        shutil.copy(os.path.join(package, "package.json"), dest)
        for d, _, _ in os.walk(cls.work):
            os.chmod(d, 0o755)
        cls.server = GustServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def invoke(self, payload, ok=True):
        r = self.server.cli("invoke", "provided-ric", "--payload", payload, "--tail")
        self.assertEqual(r.returncode, 0 if ok else 1, (r.stdout[:2000], r.stderr[:3000]))
        return json.loads(r.stdout), r.stderr

    def test_aws_node_client_runs_a_handler_unchanged(self):
        r = self.server.cli("deploy", self.fn)
        self.assertEqual(r.returncode, 0, r.stderr)
        result, logs = self.invoke('{"hello": "ric"}')
        self.assertEqual(result["statusCode"], 200)
        self.assertEqual(json.loads(result["body"]), {"hello": "ric"})
        self.assertEqual(result["functionName"], "provided-ric")
        self.assertEqual(result["memoryLimitInMB"], "256")
        self.assertTrue(result["remainingPositive"])
        self.assertRegex(result["requestId"], r"^[0-9a-f-]{36}$")
        self.assertIn("Executing 'index.handler' in function directory", logs)
        self.assertRegex(logs, r"Z\t%s\tINFO\tric handling %s" % (result["requestId"],
                                                                  result["requestId"]))
        cold = re.search(r"Init Duration: ([\d.]+) ms", logs)
        self.assertIsNotNone(cold, logs)

        warm, logs = self.invoke('{"again": true}')
        self.assertNotIn("Init Duration", logs)
        self.assertNotEqual(warm["requestId"], result["requestId"])

        err, logs = self.invoke('{"fail": true}', ok=False)
        self.assertEqual(err["errorType"], "RangeError")
        self.assertEqual(err["errorMessage"], "ric failure")
        self.assertEqual(err["trace"][0], "RangeError: ric failure")
        # The instance keeps serving after a function error.
        self.assertEqual(self.invoke("{}")[0]["statusCode"], 200)
        print("\naws-lambda-ric init {} ms".format(cold.group(1)))


if __name__ == "__main__":
    unittest.main()
