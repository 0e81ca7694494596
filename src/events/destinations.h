// Where an asynchronous invocation's outcome goes (Lambda's DestinationConfig OnSuccess /
// OnFailure), the invocation record sent there, and the per-function settings of asynchronous
// invocation (Lambda's EventInvokeConfig as the dispatcher uses it).
//
// Destination ARNs:
//   arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]  another function, invoked
//                                                            asynchronously with the record
//   arn:aws:sns:REGION:ACCOUNT:TOPIC                         a topic (published through the
//                                                            TopicPublisher the server sets)
//   arn:aws:sqs:REGION:ACCOUNT:QUEUE                         the built-in dead-letter store,
//                                                            records kept under QUEUE
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/event.h"

namespace gust::events {

enum class DestinationKind { kFunction, kTopic, kDeadLetterStore };

struct Destination {
  DestinationKind kind = DestinationKind::kDeadLetterStore;
  std::string arn;        // as configured
  std::string name;       // function name, topic name or queue name
  std::string qualifier;  // of a function destination; empty: unqualified
};

// Validates a destination ARN (kInvalidArgument saying which forms are accepted).
Result<Destination> parseDestination(std::string_view arn);

// What the dispatcher needs to know of a function's asynchronous invocation settings.
struct InvokeConfig {
  int maximum_retry_attempts = 2;      // 0-2: retries after a function error
  int maximum_event_age_s = 6 * 3600;  // 60-21600: older events are not delivered
  std::optional<Destination> on_success;
  std::optional<Destination> on_failure;
};

// The `condition` of an invocation record.
inline constexpr std::string_view kConditionSuccess = "Success";
inline constexpr std::string_view kConditionRetriesExhausted = "RetriesExhausted";
inline constexpr std::string_view kConditionEventAgeExceeded = "EventAgeExceeded";
// Reserved concurrency 0: events go to the on-failure destination without being tried.
inline constexpr std::string_view kConditionZeroReservedConcurrency = "ZeroReservedConcurrency";

// Lambda's invocation record (JSON text) for the event's last delivery:
// {"version":"1.0","timestamp":ISO-8601,"requestContext":{"requestId","functionArn","condition",
// "approximateInvokeCount"},"requestPayload":...,"responseContext":{"statusCode",
// "executedVersion"[,"functionError"]},"responsePayload":...}. `function_arn` is the invoked
// function's ARN with the executed version; payloads that are not JSON are given as strings.
std::string invocationRecord(const Event& event, std::string_view condition,
                             std::string_view function_arn, int64_t now_ms);

// Publishes a message to a topic destination. Set by the server once topics exist; until then a
// topic destination fails with an error saying so. Must not block for long: it is called on the
// dispatcher's threads.
using TopicPublisher = std::function<Status(std::string_view topic_arn, std::string message)>;

}  // namespace gust::events
