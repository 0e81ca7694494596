// Topics: the built-in publish/subscribe. A topic has subscriptions of functions (optionally
// qualified); publishing a message enqueues one asynchronous invocation per subscriber in the
// durable event queue (EnqueueFn), with SNS's Lambda event
//   {"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","EventSubscriptionArn":...,
//    "Sns":{"Type":"Notification","MessageId":...,"TopicArn":...,"Subject":...,"Message":...,
//    "Timestamp":...,"SignatureVersion":"1","Signature":...,"SigningCertUrl":...,
//    "UnsubscribeUrl":...,"MessageAttributes":{...}}}]}
// so each delivery gets the queue's durability, retries and destinations. publish() returns
// the MessageId only once every subscriber's event is on disk. Topics and subscriptions live in
// the Store.
//
// Signature: Gust does not hold SNS's signing certificate; the field carries a base64 SHA-256
// digest of SNS's string to sign (an integrity check, not an AWS signature).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "events/enqueue.h"
#include "store/store.h"

namespace gust::events {

inline constexpr size_t kMaxTopicNameLength = 256;      // SNS's topic names
inline constexpr size_t kMaxMessageBytes = 256 * 1024;  // SNS: message and attributes
inline constexpr size_t kMaxSubjectChars = 100;         // SNS
inline constexpr size_t kMaxMessageAttributes = 10;     // SNS (for Lambda subscribers)

struct MessageAttribute {
  std::string type;  // String, String.Array, Number or Binary (base64)
  std::string value;

  bool operator==(const MessageAttribute&) const = default;
};

struct PublishRequest {
  std::string message;
  std::string subject;  // empty: none (the event's Subject is null)
  std::map<std::string, MessageAttribute> attributes;
};

struct TopicsOptions {
  std::function<int64_t()> now_ms;  // the wall clock in epoch ms; empty: the system clock
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// Thread-safety: every method may be called from any thread. `store` must outlive it.
class Topics {
 public:
  Topics(TopicsOptions options, store::Store& store, EnqueueFn enqueue);

  // Creates a topic, or returns the existing one (second: whether it was created).
  // kInvalidArgument for a bad name.
  Result<std::pair<store::TopicRecord, bool>> create(std::string_view name);
  Result<store::TopicRecord> get(std::string_view name);
  Result<std::vector<store::TopicRecord>> list();
  Status remove(std::string_view name);

  // Subscribes a function (checked to exist, with its version or alias); the existing
  // subscription when it is already subscribed.
  Result<store::SubscriptionRecord> subscribe(std::string_view topic, std::string_view function,
                                              std::string_view qualifier);
  Result<std::vector<store::SubscriptionRecord>> subscriptions(std::string_view topic);
  Status unsubscribe(std::string_view topic, std::string_view id);

  // Validates the message, enqueues one event per subscriber durably and returns the message
  // id. A topic without subscribers accepts the message (it reaches no one).
  Result<std::string> publish(std::string_view topic, PublishRequest request);
  // For asynchronous invocation destinations: publishes `message` to the topic named by
  // arn:aws:sns:REGION:ACCOUNT:NAME.
  Status publishToArn(std::string_view topic_arn, std::string message);

  std::string topicArn(std::string_view topic) const;
  std::string subscriptionArn(const store::SubscriptionRecord& subscription) const;
  // SNS's Lambda event for one subscriber (exposed for tests).
  std::string eventFor(const store::SubscriptionRecord& subscription, std::string_view message_id,
                       const PublishRequest& request, int64_t now_ms) const;

 private:
  TopicsOptions options_;
  store::Store& store_;
  EnqueueFn enqueue_;
};

// The control API's JSON. A publish body: {"message": "...", "subject": "...",
// "message_attributes": {"NAME": {"type": "String", "value": "..."}}} (only "message" is
// required; unknown keys are errors).
Result<PublishRequest> publishRequestFromJson(std::string_view body);
std::string topicToJson(const store::TopicRecord& topic, std::string_view arn);

}  // namespace gust::events
