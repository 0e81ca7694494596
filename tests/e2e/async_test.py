"""Asynchronous invocation through the real server: Event invokes answered 202 once stored,
delivered to real sandboxed functions, retried, expired and throttled as Lambda does, with
invocation records sent to destinations, and the dead-letter store's API and CLI."""
import json
import os
import time
import unittest

from asyncprobe import (ACCOUNT_ARN, create, dead_letter, dead_letters, event_config,
                        invoke_event, runs, wait_until)
from gustserver import GustServer

QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:"


@unittest.skipUnless(os.geteuid() == 0, "the namespace sandbox needs root")
class AsyncInvokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Lambda's retry delays (60 s, 120 s) and throttling backoff (1 s to 5 min), shortened.
        cls.server = GustServer().start(
            extra_args=["--async-retry-delays", "0.3,0.6", "--async-backoff", "0.2,1"])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def configure(self, name, body, qualifier=None):
        status, answer, error = event_config(self.server, "PUT", name, body, qualifier)
        self.assertEqual(status, 200, answer)
        return answer

    def test_event_invokes_run_once_each_with_their_request_id(self):
        create(self.server, "async-once")
        self.configure("async-once", {"DestinationConfig": {
            "OnSuccess": {"Destination": QUEUE_ARN + "once-ok"}}})
        ids = {}
        for i in range(5):
            status, rid, body = invoke_event(self.server, "async-once", {"tag": i})
            self.assertEqual(status, 202, body)
            self.assertEqual(body, b"")
            self.assertEqual(len(rid), 36)
            ids[rid] = i
        # The CLI's --async takes the same path.
        r = self.server.cli("invoke", "async-once", "--async", "--payload", '{"tag": 5}')
        self.assertEqual(r.returncode, 0, r.stderr)
        ids[r.stdout.strip()] = 5
        # Each event's success record is stored with its removal from the queue: once all six are
        # there, no delivery is pending, and each ran exactly once, under its own request id.
        wait_until(lambda: len(dead_letters(self.server, "once-ok")) == 6, what="six records")
        seen = wait_until(lambda: (lambda r: r if len(r) == 6 else None)(
            runs(self.server, "async-once")), what="six runs in the logs")
        self.assertEqual(set(seen), set(ids))
        for rid, tag in ids.items():
            self.assertEqual(len(seen[rid]), 1, f"event {rid} ran {len(seen[rid])} times")
            self.assertEqual(seen[rid][0][0], {"tag": tag})
        for d in dead_letters(self.server, "once-ok"):
            self.assertEqual(d["condition"], "Success")
            self.assertEqual(d["approximate_invoke_count"], 1)
            record = dead_letter(self.server, d["id"])["record"]
            self.assertEqual(record["requestContext"]["requestId"], d["request_id"])
            self.assertEqual(record["responsePayload"], {"tag": ids[d["request_id"]], "ok": True})

    def test_event_invoke_refusals_are_lambdas(self):
        status, _, body = invoke_event(self.server, "no-such-function", {})
        self.assertEqual(status, 404, body)
        self.assertIn(b"no-such-function", body)
        create(self.server, "async-big")
        status, headers, body = self.server.raw(
            "POST", "/2015-03-31/functions/async-big/invocations",
            b'{"x": "' + b"a" * (1024 * 1024) + b'"}', headers={"X-Amz-Invocation-Type": "Event"})
        self.assertEqual(status, 413, body)
        self.assertEqual({k.lower(): v for k, v in headers.items()}["x-amzn-errortype"],
                         "RequestTooLargeException")
        status, _, body = invoke_event(self.server, "async-big", {}, qualifier="missing-alias")
        self.assertEqual(status, 404, body)

    def test_a_failing_function_is_retried_then_its_record_goes_to_the_failure_queue(self):
        create(self.server, "async-fails")
        answer = self.configure("async-fails", {
            "MaximumRetryAttempts": 1,
            "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN + "fails"}}})
        self.assertEqual(answer["MaximumRetryAttempts"], 1)
        status, rid, _ = invoke_event(self.server, "async-fails", {"fail": True, "tag": "x"})
        self.assertEqual(status, 202)
        letters = wait_until(lambda: dead_letters(self.server, "fails"), what="a failure record")
        self.assertEqual(len(letters), 1)
        self.assertEqual(letters[0]["request_id"], rid)
        self.assertEqual(letters[0]["condition"], "RetriesExhausted")
        record = dead_letter(self.server, letters[0]["id"])["record"]
        self.assertEqual(record["version"], "1.0")
        self.assertEqual(record["requestContext"], {
            "requestId": rid, "functionArn": ACCOUNT_ARN + "async-fails:$LATEST",
            "condition": "RetriesExhausted", "approximateInvokeCount": 2})
        self.assertEqual(record["requestPayload"], {"fail": True, "tag": "x"})
        self.assertEqual(record["responseContext"], {
            "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
        self.assertEqual(record["responsePayload"]["errorMessage"], "asked to fail: x")
        self.assertRegex(record["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        seen = wait_until(lambda: (lambda r: r if len(r.get(rid, [])) == 2 else None)(
            runs(self.server, "async-fails")), what="two runs")
        self.assertEqual(len(seen[rid]), 2)  # the first try and one retry, no more

    def test_a_success_destination_function_receives_the_record(self):
        create(self.server, "async-source")
        create(self.server, "async-sink")
        self.configure("async-source", {"DestinationConfig": {
            "OnSuccess": {"Destination": ACCOUNT_ARN + "async-sink"}}})
        status, rid, _ = invoke_event(self.server, "async-source", {"tag": "to-sink"})
        self.assertEqual(status, 202)
        sink = wait_until(lambda: runs(self.server, "async-sink"), what="the sink to run")
        self.assertEqual(len(sink), 1)
        record = list(sink.values())[0][0][0]
        self.assertEqual(record["requestContext"]["requestId"], rid)
        self.assertEqual(record["requestContext"]["condition"], "Success")
        self.assertEqual(record["requestContext"]["approximateInvokeCount"], 1)
        self.assertEqual(record["requestPayload"], {"tag": "to-sink"})
        self.assertEqual(record["responseContext"], {"statusCode": 200,
                                                     "executedVersion": "$LATEST"})
        self.assertEqual(record["responsePayload"], {"tag": "to-sink", "ok": True})

    def test_throttled_events_are_requeued_until_they_run(self):
        create(self.server, "async-throttled")
        status, _, body = self.server.raw(
            "PUT", "/2017-10-31/functions/async-throttled/concurrency",
            b'{"ReservedConcurrentExecutions": 1}')
        self.assertEqual(status, 200, body)
        self.configure("async-throttled", {"DestinationConfig": {
            "OnSuccess": {"Destination": QUEUE_ARN + "throttled-ok"}}})
        ids = [invoke_event(self.server, "async-throttled", {"sleep": 1, "tag": i})[1]
               for i in range(3)]
        wait_until(lambda: len(dead_letters(self.server, "throttled-ok")) == 3, seconds=120,
                   what="three successes")
        seen = wait_until(lambda: (lambda r: r if len(r) == 3 else None)(
            runs(self.server, "async-throttled")), what="three runs")
        self.assertEqual(set(seen), set(ids))
        spans = sorted((start, end) for rid in ids for _, start, end in seen[rid])
        self.assertEqual(len(spans), 3, "each event ran exactly once")
        for (_, end), (start, _) in zip(spans, spans[1:]):
            self.assertLessEqual(end, start + 0.05, "runs overlapped despite the reservation of 1")
        for d in dead_letters(self.server, "throttled-ok"):
            # Throttled deliveries are not invocations.
            self.assertEqual(d["approximate_invoke_count"], 1)

    def test_reserved_concurrency_zero_sends_events_to_the_failure_destination(self):
        create(self.server, "async-off")
        self.configure("async-off", {"DestinationConfig": {
            "OnFailure": {"Destination": QUEUE_ARN + "off"}}})
        status, _, body = self.server.raw(
            "PUT", "/2017-10-31/functions/async-off/concurrency",
            b'{"ReservedConcurrentExecutions": 0}')
        self.assertEqual(status, 200, body)
        status, rid, _ = invoke_event(self.server, "async-off", {"tag": "off"})
        self.assertEqual(status, 202)
        letters = wait_until(lambda: dead_letters(self.server, "off"), what="a record")
        self.assertEqual(letters[0]["request_id"], rid)
        self.assertEqual(letters[0]["condition"], "ZeroReservedConcurrency")
        self.assertEqual(letters[0]["approximate_invoke_count"], 0)
        self.assertEqual(runs(self.server, "async-off"), {})

    def test_dead_letter_cli_lists_shows_redrives_and_purges(self):
        create(self.server, "async-dlq")
        self.configure("async-dlq", {"MaximumRetryAttempts": 0, "DestinationConfig": {
            "OnFailure": {"Destination": QUEUE_ARN + "cli"}}})
        _, rid, _ = invoke_event(self.server, "async-dlq", {"fail": True, "tag": "cli"})
        letters = wait_until(lambda: dead_letters(self.server, "cli"), what="a record")
        record_id = letters[0]["id"]

        r = self.server.cli("dlq", "ls", "--queue", "cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(record_id, r.stdout)
        self.assertIn("RetriesExhausted", r.stdout)
        r = self.server.cli("dlq", "ls", "-o", "json", "--function", "async-dlq")
        self.assertEqual([d["id"] for d in json.loads(r.stdout)["dead_letters"]], [record_id])
        r = self.server.cli("dlq", "show", record_id, "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["record"]["requestPayload"],
                         {"fail": True, "tag": "cli"})
        r = self.server.cli("dlq", "show", "no-such-record")
        self.assertEqual(r.returncode, 2)
        self.assertIn("gust dlq ls", r.stderr)

        # Redrive: the same event, under its request id, runs again (and fails again).
        r = self.server.cli("dlq", "redrive", record_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(rid, r.stdout)
        wait_until(lambda: len(runs(self.server, "async-dlq").get(rid, [])) == 2,
                   what="the redriven event to run")
        letters = wait_until(lambda: dead_letters(self.server, "cli"), what="a new record")
        self.assertNotEqual(letters[0]["id"], record_id)
        self.assertEqual(letters[0]["request_id"], rid)

        r = self.server.cli("dlq", "purge")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--queue", r.stderr)
        r = self.server.cli("dlq", "purge", "--queue", "cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Purged 1 record", r.stdout)
        self.assertEqual(dead_letters(self.server, "cli"), [])

    def test_event_invoke_config_operations(self):
        create(self.server, "async-config")
        name = "async-config"
        status, answer, error = event_config(self.server, "GET", name)
        self.assertEqual((status, error), (404, "ResourceNotFoundException"))
        self.assertIn("doesn't have an EventInvokeConfig", answer["message"])
        answer = self.configure(name, {"MaximumRetryAttempts": 0,
                                       "MaximumEventAgeInSeconds": 3600})
        self.assertEqual(answer["FunctionArn"], ACCOUNT_ARN + name + ":$LATEST")
        self.assertEqual(answer["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}})
        self.assertIsInstance(answer["LastModified"], float)
        # Update merges; Put replaces.
        status, answer, _ = event_config(self.server, "POST", name, {
            "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN + "q"}}})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["MaximumRetryAttempts"], 0)
        self.assertEqual(answer["DestinationConfig"]["OnFailure"], {"Destination": QUEUE_ARN + "q"})
        answer = self.configure(name, {"MaximumRetryAttempts": 2})
        self.assertNotIn("MaximumEventAgeInSeconds", answer)
        self.assertEqual(answer["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}})
        status, answer, _ = event_config(self.server, "GET", name)
        self.assertEqual(answer["MaximumRetryAttempts"], 2)
        status, answer, _ = event_config(self.server, "GET", name, suffix="/list")
        self.assertEqual(status, 200, answer)
        self.assertEqual([c["FunctionArn"] for c in answer["FunctionEventInvokeConfigs"]],
                         [ACCOUNT_ARN + name + ":$LATEST"])
        for body, words in [
                ({"MaximumRetryAttempts": 3}, ["MaximumRetryAttempts", "0 to 2"]),
                ({"MaximumEventAgeInSeconds": 59}, ["MaximumEventAgeInSeconds", "60 to 21600"]),
                ({"MaximumRetryAttempts": "1"}, ["MaximumRetryAttempts", "integer"]),
                ({"Unknown": 1}, ["Unknown", "allowed"]),
                ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::b"}}},
                 ["arn:aws:sqs:REGION:ACCOUNT:QUEUE"]),
                ({"DestinationConfig": {"OnFailure": {
                    "Destination": "arn:aws:sns:us-east-1:000000000000:news"}}},
                 ["topic \"news\" does not exist", "gust topic create news"]),
                ({"DestinationConfig": {"OnSuccess": {"Destination": ACCOUNT_ARN + name}}},
                 ["own destination"])]:
            status, answer, error = event_config(self.server, "PUT", name, body)
            self.assertEqual((status, error), (400, "InvalidParameterValueException"), body)
            for word in words:
                self.assertIn(word, answer["message"], body)
        status, answer, error = event_config(self.server, "PUT", name, {}, qualifier="7")
        self.assertEqual((status, error), (404, "ResourceNotFoundException"))
        status, _, _ = event_config(self.server, "DELETE", name)
        self.assertEqual(status, 204)
        status, _, error = event_config(self.server, "DELETE", name)
        self.assertEqual((status, error), (404, "ResourceNotFoundException"))


@unittest.skipUnless(os.geteuid() == 0, "the namespace sandbox needs root")
class AsyncEventAgeTest(unittest.TestCase):
    """MaximumEventAgeInSeconds is at least 60 s: this test takes a minute."""

    def test_an_event_too_old_for_its_next_retry_expires(self):
        # A retry delay longer than the event's maximum age: the event expires before it.
        server = GustServer().start(extra_args=["--async-retry-delays", "90,90"])
        try:
            create(server, "async-aging")
            status, answer, _ = event_config(server, "PUT", "async-aging", {
                "MaximumEventAgeInSeconds": 60,
                "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN + "aged"}}})
            self.assertEqual(status, 200, answer)
            accepted = time.time()
            status, rid, _ = invoke_event(server, "async-aging", {"fail": True})
            self.assertEqual(status, 202)
            letters = wait_until(lambda: dead_letters(server, "aged"), seconds=150,
                                 what="the expired event's record")
            self.assertEqual(letters[0]["request_id"], rid)
            self.assertEqual(letters[0]["condition"], "EventAgeExceeded")
            self.assertEqual(letters[0]["approximate_invoke_count"], 1)
            record = dead_letter(server, letters[0]["id"])["record"]
            self.assertEqual(record["responseContext"]["functionError"], "Unhandled")
            self.assertGreaterEqual(time.time() - accepted, 59)
            self.assertEqual(len(runs(server, "async-aging")[rid]), 1)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
