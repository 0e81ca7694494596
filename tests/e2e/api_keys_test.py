"""API keys, usage plans and usage through the real server, its control API and the gust CLI."""
import json
import unittest

from gustserver import ServerTestCase


class ApiKeysTest(ServerTestCase):
    def gust(self, *args, code=0):
        r = self.server.cli(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r

    def gust_json(self, *args):
        return json.loads(self.gust(*args, "-o", "json").stdout)

    def api(self, method, path, body=None):
        status, _, data = self.server.raw(
            method, path, None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"})
        return status, json.loads(data) if data else None

    def test_keys_are_shown_once_and_validated(self):
        key = self.gust_json("api-key", "create", "shown-once", "-d", "for a test")
        self.assertRegex(key["value"], r"^[A-Za-z0-9]{40}$")
        self.assertRegex(key["id"], r"^[a-z0-9]{10}$")
        listed = self.gust_json("api-key", "ls")["api_keys"]
        mine = [k for k in listed if k["id"] == key["id"]]
        self.assertEqual(len(mine), 1)
        self.assertNotIn("value", mine[0])
        self.assertNotIn(key["value"], json.dumps(listed))
        status, described = self.api("GET", "/api/v1/api-keys/shown-once")
        self.assertEqual((status, described["id"]), (200, key["id"]))

        given = self.gust_json("api-key", "create", "given", "--value", "v" * 20)
        self.assertEqual(given["value"], "v" * 20)
        r = self.gust("api-key", "create", "too-short", "--value", "v" * 19, code=2)
        self.assertIn("20 to 128", r.stderr)
        r = self.gust("api-key", "create", "shown-once", code=2)
        self.assertIn("already exists", r.stderr)
        status, err = self.api("POST", "/api/v1/api-keys", {"name": "x", "colour": "red"})
        self.assertEqual((status, err["code"]), (400, "InvalidArgument"))
        self.assertIn("colour", err["message"])

        self.gust("api-key", "disable", "given")
        self.assertFalse(self.api("GET", "/api/v1/api-keys/given")[1]["enabled"])
        self.gust("api-key", "enable", given["id"])
        self.assertTrue(self.api("GET", "/api/v1/api-keys/given")[1]["enabled"])
        self.gust("api-key", "rm", "given")
        self.assertEqual(self.api("GET", "/api/v1/api-keys/given")[0], 404)
        r = self.gust("api-key", "rm", "given", code=2)
        self.assertIn("does not exist", r.stderr)

    def test_plans_keys_and_usage(self):
        key = self.gust_json("api-key", "create", "planned")
        plan = self.gust_json("usage-plan", "create", "silver", "--rate", "5", "--burst", "10",
                              "--quota", "1000", "--quota-period", "MONTH",
                              "--api-stage", "abc123:prod")
        self.assertEqual(plan["throttle"], {"rate_limit": 5.0, "burst_limit": 10})
        self.assertEqual(plan["quota"], {"limit": 1000, "period": "MONTH", "offset": 0})
        self.assertEqual(plan["api_stages"], [{"api_id": "abc123", "stage": "prod"}])
        r = self.gust("usage-plan", "create", "bad", "--rate", "5", code=2)
        self.assertIn("--burst", r.stderr)
        status, err = self.api("POST", "/api/v1/usage-plans",
                               {"name": "bad", "quota": {"limit": 5, "period": "YEAR"}})
        self.assertEqual(status, 400)
        self.assertIn("DAY, WEEK or MONTH", err["message"])

        self.gust("usage-plan", "add-key", "silver", "planned")
        r = self.gust("usage-plan", "add-key", "silver", "planned", code=2)
        self.assertIn("already", r.stderr)
        # A key is in one plan per API stage.
        self.gust("usage-plan", "create", "bronze", "--api-stage", "abc123:prod")
        r = self.gust("usage-plan", "add-key", "bronze", "planned", code=2)
        self.assertIn("one plan per API stage", r.stderr)
        status, keys = self.api("GET", f"/api/v1/usage-plans/{plan['id']}/keys")
        self.assertEqual([k["id"] for k in keys["api_keys"]], [key["id"]])

        report = self.gust_json("usage", "silver", "--from", "2026-01-30", "--to", "2026-02-02")
        self.assertEqual(report["usagePlanId"], plan["id"])
        self.assertEqual(report["items"], {key["id"]: [[0, 1000]] * 4})
        table = self.gust("usage", "silver", "--from", "2026-01-31", "--to", "2026-02-01").stdout
        self.assertRegex(table, r"planned\s+2026-01-31\s+0\s+1000")
        status, err = self.api("GET", f"/api/v1/usage-plans/{plan['id']}/usage?startDate=x&endDate=y")
        self.assertEqual(status, 400)
        status, _ = self.api("GET", f"/api/v1/usage-plans/{plan['id']}/usage?startDate=2026-01-01")
        self.assertEqual(status, 400)

        self.gust("usage-plan", "remove-key", "silver", "planned")
        self.assertEqual(self.api("GET", f"/api/v1/usage-plans/{plan['id']}/keys")[1]["api_keys"],
                         [])
        self.gust("usage-plan", "rm", "bronze")
        names = [p["name"] for p in self.gust_json("usage-plan", "ls")["usage_plans"]]
        self.assertIn("silver", names)
        self.assertNotIn("bronze", names)

    def test_keys_and_plans_survive_a_restart(self):
        key = self.gust_json("api-key", "create", "durable")
        self.gust("usage-plan", "create", "durable-plan", "--quota", "3",
                  "--api-stage", "zzz:prod")
        self.gust("usage-plan", "add-key", "durable-plan", "durable")
        self.server.stop()
        self.server.start()
        status, described = self.api("GET", "/api/v1/api-keys/durable")
        self.assertEqual((status, described["id"]), (200, key["id"]))
        status, keys = self.api("GET", "/api/v1/usage-plans/durable-plan/keys")
        self.assertEqual([k["id"] for k in keys["api_keys"]], [key["id"]])


if __name__ == "__main__":
    unittest.main()
