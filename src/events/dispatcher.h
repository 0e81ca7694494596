// The dispatcher delivers queued events to their functions: it claims due events from the
// EventQueue (at most max_in_flight at once), looks up the function's asynchronous invocation
// settings, invokes it, and records the outcome in the queue, as Lambda does:
//   - success: the event is removed (and the record sent to the OnSuccess destination);
//   - a function error: retried after retry_delays (Lambda: 1 min, then 2 min) up to the
//     function's MaximumRetryAttempts, then sent to OnFailure with RetriesExhausted;
//   - throttled (429) or not started (5xx): re-queued with a backoff from backoff_min doubling
//     to backoff_max (Lambda: 1 s to 5 min), not counted as a retry;
//   - older than MaximumEventAgeInSeconds when due: sent to OnFailure with EventAgeExceeded;
//   - reserved concurrency 0: sent to OnFailure at once, without an invocation;
//   - the function was deleted: dropped, as its settings and destinations went with it.
// An event without a destination for its outcome is removed (a failure is logged).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "events/destinations.h"
#include "events/event.h"

namespace gust::events {

class EventQueue;

// The outcome of an invocation that ran.
struct DeliveryResult {
  std::string payload;          // the result, or the error object on a function error
  bool function_error = false;  // Lambda's X-Amz-Function-Error: Unhandled
  std::string executed_version;
};

// What the dispatcher learns of a function before delivering to it.
struct FunctionTarget {
  InvokeConfig config;        // its EventInvokeConfig for the event's qualifier, or defaults
  bool switched_off = false;  // reserved concurrency 0
};

struct DispatcherHooks {
  // Runs one delivery of `event` (its id is the invocation's request id); `done` is called
  // exactly once, from any thread. Errors: kNotFound (the function or qualifier is gone), and
  // anything else — kResourceExhausted when throttled, kUnavailable when no instance could
  // start — is retried with the backoff.
  std::function<void(const Event& event, std::function<void(Result<DeliveryResult>)> done)> invoke;
  // The function's settings. Blocking (reads the store); kNotFound when the function is gone.
  std::function<Result<FunctionTarget>(std::string_view function, std::string_view qualifier)>
      lookup;
  TopicPublisher publish_topic;  // empty: topic destinations fail (logged)
};

struct DispatcherOptions {
  int max_in_flight = 32;  // deliveries at once (the engine's limits apply beyond this)
  std::vector<std::chrono::milliseconds> retry_delays{std::chrono::minutes(1),
                                                      std::chrono::minutes(2)};
  std::chrono::milliseconds backoff_min{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  // A claimed event is claimed again if no outcome came by then: longer than any function's
  // timeout (900 s) plus a cold start.
  std::chrono::milliseconds lease{std::chrono::minutes(16)};
  int threads = 2;  // for settings lookups and outcomes (blocking SQLite reads)
  // A function destination's event is one deeper than the event it reports on; beyond this
  // depth (a loop of destinations, A -> B -> A) the record is not sent, and the server logs it.
  int max_cascade_depth = 16;
  std::string region = "us-east-1";  // of the function ARNs in invocation records
  std::string account_id = "000000000000";
  std::function<int64_t()> now_ms;  // the wall clock in epoch ms; the queue's, in tests
};

// Thread-safety: every method may be called from any thread. `queue` must outlive it.
class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, DispatcherHooks hooks, EventQueue& queue);
  ~Dispatcher();  // stop()

  // Starts the dispatching thread. Sets the queue's on_enqueued hook.
  void start();
  // Stops claiming new events (deliveries in flight go on). Idempotent.
  void stopClaiming();
  // Stops claiming and waits for the deliveries in flight to end and their outcomes to be
  // stored. Idempotent.
  void stop();
  // Looks at the queue now (after a clock change in tests, or new events).
  void wake();

  int inFlight() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gust::events
