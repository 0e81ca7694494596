// One asynchronous invocation as the queue keeps it, and what the queue's dead-letter store
// keeps of one that ended there. Plain data, shared by the queue, the dispatcher and whoever
// enqueues (the Lambda API's Event invocations, schedules, topics, sandbox-to-sandbox invokes).
#pragma once

#include <cstdint>
#include <string>

namespace gust::events {

struct Event {
  // Stable for the event's life: the request id answered in the 202, carried by every delivery
  // (the handler's context.aws_request_id) and by its invocation record. A UUID.
  std::string id;
  std::string function;        // function name
  std::string qualifier;       // version or alias as the caller named it; empty: unqualified
  std::string payload;         // the event, JSON text
  std::string client_context;  // JSON text or empty
  std::string trace_id;        // X-Amzn-Trace-Id or empty
  // How deeply nested the invocation is (a function invoking functions; 0 from outside). A
  // destination's event is one deeper than the event whose record it carries.
  int cascade_depth = 0;
  int64_t enqueued_ms = 0;  // wall clock when accepted: the event's age counts from here

  // Delivery state, kept by the queue and updated by the dispatcher.
  int64_t due_ms = 0;   // not delivered before this time
  int invocations = 0;  // times the function ran it (Lambda's approximateInvokeCount)
  int function_errors = 0;
  int throttles = 0;  // consecutive throttled or failed-to-start deliveries (the backoff's step)
  // The last delivery's outcome, for the invocation record of a later failure.
  int last_status = 0;  // 200 when the function ran, 429 throttled, 5xx when it could not start
  std::string last_version;         // executed version
  std::string last_function_error;  // "Unhandled" or empty
  std::string last_response;        // the function's result or error object, JSON text
};

// A record in the built-in dead-letter store: an invocation record sent to a destination
// `arn:aws:sqs:REGION:ACCOUNT:QUEUE` (destinations.h).
struct DeadLetter {
  std::string id;          // this record's id (a UUID); one event may leave several records
  std::string queue;       // the destination's queue name
  std::string request_id;  // the event's id
  std::string function;
  std::string qualifier;
  std::string condition;   // Success, RetriesExhausted, EventAgeExceeded, ...
  int64_t created_ms = 0;  // wall clock
  std::string payload;     // the original event (for redrive)
  std::string record;      // Lambda's invocation record, JSON text
};

}  // namespace gust::events
