#include "events/topics.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "events/targets.h"

namespace gust::events {
namespace {

namespace json = boost::json;

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SNS's Timestamp: 2026-11-25T12:00:00.123Z.
std::string snsTime(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

bool isAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Status validateTopicName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxTopicNameLength &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return isAlnum(c) || c == '-' || c == '_'; });
  if (!ok)
    return Error::invalid(fmt::format(
        "topic name {} is not allowed; use 1 to 256 characters of A-Z, a-z, 0-9, '-' and '_', "
        "e.g. order-events",
        quotedValue(name)));
  return okStatus();
}

// SNS's rules for a subject: ASCII, no line breaks, at most 100 characters, starting with a
// letter, digit or punctuation mark.
Status validateSubject(std::string_view subject) {
  if (subject.empty()) return okStatus();
  if (subject.size() > kMaxSubjectChars)
    return Error::invalid(fmt::format("subject: is {} characters long; at most {} are allowed",
                                      subject.size(), kMaxSubjectChars));
  for (char c : subject) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      return Error::invalid(
          "subject: must be printable ASCII on one line (no line breaks or control characters)");
  }
  if (subject[0] == ' ')
    return Error::invalid("subject: must start with a letter, a digit or a punctuation mark");
  return okStatus();
}

Status validateAttributes(const std::map<std::string, MessageAttribute>& attributes) {
  if (attributes.size() > kMaxMessageAttributes)
    return Error::invalid(fmt::format("message_attributes: {} given; at most {} are allowed",
                                      attributes.size(), kMaxMessageAttributes));
  for (const auto& [name, attribute] : attributes) {
    bool name_ok = !name.empty() && name.size() <= 256 && name.front() != '.' &&
                   name.back() != '.' && name.find("..") == std::string::npos &&
                   !name.starts_with("AWS.") && !name.starts_with("Amazon.") &&
                   std::all_of(name.begin(), name.end(), [](char c) {
                     return isAlnum(c) || c == '-' || c == '_' || c == '.';
                   });
    if (!name_ok)
      return Error::invalid(fmt::format(
          "message_attributes: the name {} is not allowed; use up to 256 of A-Z, a-z, 0-9, '-', "
          "'_' and '.' (not at the start or end, not twice in a row, no AWS. or Amazon. prefix)",
          quotedValue(name)));
    std::string where = fmt::format("message_attributes.{}", name);
    const std::string& type = attribute.type;
    if (type != "String" && type != "String.Array" && type != "Number" && type != "Binary")
      return Error::invalid(
          fmt::format("{}: type {} is not one of String, String.Array, Number, Binary", where,
                      quotedValue(type)));
    if (attribute.value.empty())
      return Error::invalid(fmt::format("{}: the value is empty; give one", where));
    if (type == "Number") {
      char* end = nullptr;
      std::string value = attribute.value;
      (void)std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size())
        return Error::invalid(
            fmt::format("{}: {} is not a number", where, quotedValue(attribute.value)));
    } else if (type == "Binary") {
      std::string decoded;
      if (!base64Decode(attribute.value, decoded))
        return Error::invalid(fmt::format("{}: a Binary value is given in base64", where));
    } else if (type == "String.Array") {
      boost::system::error_code ec;
      json::value v = json::parse(attribute.value, ec);
      if (ec || !v.is_array())
        return Error::invalid(
            fmt::format("{}: a String.Array value is a JSON array, e.g. [\"a\", 1, true]", where));
    }
  }
  return okStatus();
}

}  // namespace

Topics::Topics(TopicsOptions options, store::Store& store, EnqueueFn enqueue)
    : options_(std::move(options)), store_(store), enqueue_(std::move(enqueue)) {
  if (!options_.now_ms) options_.now_ms = systemNowMs;
}

Result<std::pair<store::TopicRecord, bool>> Topics::create(std::string_view name) {
  GUST_TRY(validateTopicName(name));
  return store_.createTopic(name);
}

Result<store::TopicRecord> Topics::get(std::string_view name) { return store_.getTopic(name); }

Result<std::vector<store::TopicRecord>> Topics::list() { return store_.listTopics(); }

Status Topics::remove(std::string_view name) { return store_.deleteTopic(name); }

Result<store::SubscriptionRecord> Topics::subscribe(std::string_view topic,
                                                    std::string_view function,
                                                    std::string_view qualifier) {
  GUST_TRY(store_.getTopic(topic));
  GUST_TRY(checkTarget(&store_, function, qualifier));
  store::SubscriptionRecord record;
  record.topic = std::string(topic);
  record.function = std::string(function);
  record.qualifier = normalQualifier(qualifier);
  return store_.subscribe(std::move(record));
}

Result<std::vector<store::SubscriptionRecord>> Topics::subscriptions(std::string_view topic) {
  return store_.listSubscriptions(topic);
}

Status Topics::unsubscribe(std::string_view topic, std::string_view id) {
  return store_.unsubscribe(topic, id);
}

std::string Topics::topicArn(std::string_view topic) const {
  return fmt::format("arn:aws:sns:{}:{}:{}", options_.region, options_.account_id, topic);
}

std::string Topics::subscriptionArn(const store::SubscriptionRecord& subscription) const {
  return fmt::format("{}:{}", topicArn(subscription.topic), subscription.id);
}

std::string Topics::eventFor(const store::SubscriptionRecord& subscription,
                             std::string_view message_id, const PublishRequest& request,
                             int64_t now_ms) const {
  std::string topic_arn = topicArn(subscription.topic);
  std::string timestamp = snsTime(now_ms);
  // SNS's string to sign for a notification, whose digest stands in for the signature.
  std::string to_sign =
      fmt::format("Message\n{}\nMessageId\n{}\n", request.message, message_id) +
      (request.subject.empty() ? std::string() : fmt::format("Subject\n{}\n", request.subject)) +
      fmt::format("Timestamp\n{}\nTopicArn\n{}\nType\nNotification\n", timestamp, topic_arn);
  json::object attributes;
  for (const auto& [name, attribute] : request.attributes)
    attributes[name] = json::object{{"Type", attribute.type}, {"Value", attribute.value}};
  json::object sns;
  sns["Type"] = "Notification";
  sns["MessageId"] = message_id;
  sns["TopicArn"] = topic_arn;
  if (request.subject.empty())
    sns["Subject"] = nullptr;
  else
    sns["Subject"] = request.subject;
  sns["Message"] = request.message;
  sns["Timestamp"] = timestamp;
  sns["SignatureVersion"] = "1";
  sns["Signature"] = sha256Base64(to_sign);
  sns["SigningCertUrl"] = fmt::format(
      "https://sns.{}.amazonaws.com/SimpleNotificationService-gust.pem", options_.region);
  sns["UnsubscribeUrl"] =
      fmt::format("https://sns.{}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={}",
                  options_.region, subscriptionArn(subscription));
  sns["MessageAttributes"] = std::move(attributes);
  json::object record;
  record["EventSource"] = "aws:sns";
  record["EventVersion"] = "1.0";
  record["EventSubscriptionArn"] = subscriptionArn(subscription);
  record["Sns"] = std::move(sns);
  return json::serialize(json::object{{"Records", json::array{std::move(record)}}});
}

Result<std::string> Topics::publish(std::string_view topic, PublishRequest request) {
  if (request.message.empty())
    return Error::invalid("message: is empty; publish a message of 1 byte to 256 KB");
  size_t bytes = request.message.size();
  for (const auto& [name, attribute] : request.attributes)
    bytes += name.size() + attribute.type.size() + attribute.value.size();
  if (bytes > kMaxMessageBytes)
    return Error::tooLarge(
        fmt::format("the message and its attributes take {} bytes; at most {} (256 KB) are allowed",
                    bytes, kMaxMessageBytes));
  GUST_TRY(validateSubject(request.subject));
  GUST_TRY(validateAttributes(request.attributes));
  GUST_ASSIGN_OR_RETURN(auto subscribers, store_.listSubscriptions(topic));
  std::string message_id = uuid4();
  int64_t now = options_.now_ms();
  std::vector<AsyncInvoke> events;
  events.reserve(subscribers.size());
  for (const auto& s : subscribers)
    events.push_back({s.function, s.qualifier, eventFor(s, message_id, request, now)});
  if (!events.empty()) {
    GUST_ASSIGN_OR_RETURN(auto ids, enqueue_(std::move(events)));
    spdlog::debug("topic {}: message {} queued for {} subscribers", topic, message_id, ids.size());
  }
  return message_id;
}

Status Topics::publishToArn(std::string_view topic_arn, std::string message) {
  // arn:aws:sns:REGION:ACCOUNT:NAME
  constexpr std::string_view kPrefix = "arn:aws:sns:";
  size_t last = topic_arn.rfind(':');
  if (!topic_arn.starts_with(kPrefix) || last == std::string_view::npos || last < kPrefix.size())
    return Error::invalid(fmt::format("{} is not a topic ARN; use arn:aws:sns:REGION:ACCOUNT:TOPIC",
                                      quotedValue(topic_arn)));
  PublishRequest request;
  request.message = std::move(message);
  GUST_TRY(publish(topic_arn.substr(last + 1), std::move(request)));
  return okStatus();
}

Result<PublishRequest> publishRequestFromJson(std::string_view body) {
  constexpr std::string_view kShape =
      "the body must be a JSON object like {\"message\": \"hello\", \"subject\": \"greeting\", "
      "\"message_attributes\": {\"kind\": {\"type\": \"String\", \"value\": \"demo\"}}}";
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object()) return Error::invalid(std::string(kShape));
  PublishRequest request;
  bool has_message = false;
  for (const auto& [key, val] : v.get_object()) {
    if (key == "message") {
      if (!val.is_string()) return Error::invalid("message: expected a string");
      request.message = std::string(val.get_string());
      has_message = true;
    } else if (key == "subject") {
      if (!val.is_string() && !val.is_null()) return Error::invalid("subject: expected a string");
      if (val.is_string()) request.subject = std::string(val.get_string());
    } else if (key == "message_attributes") {
      if (!val.is_object())
        return Error::invalid("message_attributes: expected an object of NAME: {type, value}");
      for (const auto& [name, attribute] : val.get_object()) {
        const json::object* o = attribute.if_object();
        const json::value* type = o ? o->if_contains("type") : nullptr;
        const json::value* value = o ? o->if_contains("value") : nullptr;
        if (!type || !value || !type->is_string() || !value->is_string() || o->size() != 2)
          return Error::invalid(fmt::format(
              "message_attributes.{}: expected {{\"type\": \"String\", \"value\": \"...\"}}",
              std::string_view(name).substr(0, 64)));
        request.attributes[std::string(name)] = {std::string(type->get_string()),
                                                 std::string(value->get_string())};
      }
    } else {
      return Error::invalid(
          fmt::format("unknown key {}; allowed keys: message, subject, message_attributes",
                      quotedValue(std::string_view(key))));
    }
  }
  if (!has_message) return Error::invalid("message: is missing; " + std::string(kShape));
  return request;
}

std::string topicToJson(const store::TopicRecord& topic, std::string_view arn) {
  return json::serialize(
      json::object{{"name", topic.name}, {"arn", arn}, {"created", topic.created}});
}

}  // namespace gust::events
