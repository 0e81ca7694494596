// gust topic create|ls|describe|rm|publish|subscribe|unsubscribe: the built-in publish/subscribe.
// Publishing fans a message out to every subscribed function asynchronously, with SNS's event.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/json_util.h"
#include "cli/output.h"

namespace gust::cli {
namespace {

namespace json = boost::json;

constexpr std::chrono::seconds kTimeout{30};

struct TopicArgs {
  ClientOptions client;
  std::string topic;
  std::string function;  // NAME or NAME:QUALIFIER
  std::string subscription;
  std::string message;
  bool message_from_stdin = false;
  std::string subject;
  std::vector<std::string> attributes;  // NAME=VALUE or NAME:TYPE=VALUE
  OutputFormat output = OutputFormat::kTable;
};

std::string topicPath(std::string_view topic) {
  return "/api/v1/topics/" + http::encodePathSegment(topic);
}

std::string target(const json::object& s) {
  std::string q = stringField(s, "qualifier");
  return q.empty() ? stringField(s, "function") : stringField(s, "function") + ":" + q;
}

// --attribute NAME=VALUE (a String) or NAME:TYPE=VALUE (String, String.Array, Number, Binary).
Result<json::object> attributesJson(const std::vector<std::string>& texts) {
  json::object out;
  for (const auto& text : texts) {
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error::invalid(fmt::format(
          "--attribute '{}' is not NAME=VALUE or NAME:TYPE=VALUE; e.g. --attribute kind=order or "
          "--attribute count:Number=3",
          text.substr(0, 64)));
    std::string name = text.substr(0, eq);
    std::string type = "String";
    if (size_t colon = name.find(':'); colon != std::string::npos) {
      type = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
    out[name] = json::object{{"type", type}, {"value", text.substr(eq + 1)}};
  }
  return out;
}

int runCreate(const TopicArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("POST", "/api/v1/topics",
                          json::serialize(json::object{{"name", args.topic}}), kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  fmt::print("{} topic {} ({})\n", res->status == 201 ? "Created" : "Topic exists:", args.topic,
             stringField(*answer, "arn"));
  return kExitOk;
}

int runList(const TopicArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/topics", "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  Table table({"TOPIC", "ARN", "CREATED"});
  for (const auto& v : arrayField(*answer, "topics")) {
    if (!v.is_object()) continue;
    const auto& t = v.get_object();
    table.addRow({stringField(t, "name"), stringField(t, "arn"), stringField(t, "created")});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int runDescribe(const TopicArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", topicPath(args.topic), "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  fmt::print("{}", renderFields({{"Topic", stringField(*answer, "name")},
                                 {"ARN", stringField(*answer, "arn")},
                                 {"Created", stringField(*answer, "created")}}));
  Table table({"SUBSCRIPTION", "FUNCTION", "CREATED"});
  for (const auto& v : arrayField(*answer, "subscriptions")) {
    if (!v.is_object()) continue;
    const auto& s = v.get_object();
    table.addRow({stringField(s, "id"), target(s), stringField(s, "created")});
  }
  fmt::print("\n{}", table.render());
  return kExitOk;
}

int runRemove(const TopicArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("DELETE", topicPath(args.topic), "", kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("Deleted topic {} and its subscriptions\n", args.topic);
  return kExitOk;
}

int runPublish(const TopicArgs& args) {
  std::string message = args.message;
  if (args.message_from_stdin) {
    message.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  json::object body{{"message", message}};
  if (!args.subject.empty()) body["subject"] = args.subject;
  auto attributes = attributesJson(args.attributes);
  if (!attributes) return reportError(attributes.error());
  if (!attributes->empty()) body["message_attributes"] = std::move(*attributes);
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res =
      client->call("POST", topicPath(args.topic) + "/publish", json::serialize(body), kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  fmt::print("{}\n", stringField(*answer, "message_id"));
  return kExitOk;
}

int runSubscribe(const TopicArgs& args) {
  json::object body;
  size_t colon = args.function.find(':');
  body["function"] = args.function.substr(0, colon);
  if (colon != std::string::npos) body["qualifier"] = args.function.substr(colon + 1);
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("POST", topicPath(args.topic) + "/subscriptions", json::serialize(body),
                          kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  if (args.output == OutputFormat::kJson) {
    printJson(*answer);
    return kExitOk;
  }
  fmt::print("{} {} to topic {}: subscription {}\n",
             res->status == 201 ? "Subscribed" : "Already subscribed:", target(*answer), args.topic,
             stringField(*answer, "id"));
  return kExitOk;
}

int runUnsubscribe(const TopicArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call(
      "DELETE",
      topicPath(args.topic) + "/subscriptions/" + http::encodePathSegment(args.subscription), "",
      kTimeout);
  if (!res) return reportError(res.error());
  fmt::print("Deleted subscription {} of topic {}\n", args.subscription, args.topic);
  return kExitOk;
}

CLI::App* subcommand(CLI::App& parent, const char* name, const char* description,
                     const std::shared_ptr<TopicArgs>& args, bool with_topic, bool prints) {
  auto* cmd =
      addServerCommand(parent, name, description, args->client, prints ? &args->output : nullptr);
  if (with_topic) cmd->add_option("topic", args->topic, "Topic name, e.g. orders")->required();
  return cmd;
}

}  // namespace

void addTopicCommand(CLI::App& app) {
  auto* topic = app.add_subcommand(
      "topic", "Manage topics: publish a message to every subscribed function (asynchronously)");
  topic->require_subcommand(1);

  auto create = std::make_shared<TopicArgs>();
  auto* create_cmd =
      subcommand(*topic, "create", "Create a topic (or show the existing one)", create, true, true);
  onRun(*create_cmd, [create] { return runCreate(*create); });

  auto ls = std::make_shared<TopicArgs>();
  auto* ls_cmd = subcommand(*topic, "ls", "List topics", ls, false, true);
  onRun(*ls_cmd, [ls] { return runList(*ls); });

  auto describe = std::make_shared<TopicArgs>();
  auto* describe_cmd =
      subcommand(*topic, "describe", "Show a topic and its subscriptions", describe, true, true);
  onRun(*describe_cmd, [describe] { return runDescribe(*describe); });

  auto rm = std::make_shared<TopicArgs>();
  auto* rm_cmd = subcommand(*topic, "rm", "Delete a topic and its subscriptions", rm, true, false);
  onRun(*rm_cmd, [rm] { return runRemove(*rm); });

  auto publish = std::make_shared<TopicArgs>();
  auto* publish_cmd = subcommand(*topic, "publish",
                                 "Publish a message; prints its message id once every "
                                 "subscriber's event is queued",
                                 publish, true, true);
  auto* message_opt =
      publish_cmd->add_option("--message,-m", publish->message, "The message (any text)");
  publish_cmd
      ->add_flag("--stdin", publish->message_from_stdin, "Read the message from standard input")
      ->excludes(message_opt);
  publish_cmd->add_option("--subject,-s", publish->subject, "Subject (up to 100 ASCII characters)");
  publish_cmd
      ->add_option("--attribute,-a", publish->attributes,
                   "Message attribute NAME=VALUE (a String) or NAME:TYPE=VALUE (TYPE: String, "
                   "String.Array, Number, Binary)")
      ->allow_extra_args(false);
  onRun(*publish_cmd, [publish] { return runPublish(*publish); });

  auto subscribe = std::make_shared<TopicArgs>();
  auto* subscribe_cmd =
      subcommand(*topic, "subscribe", "Subscribe a function to a topic", subscribe, true, true);
  subscribe_cmd
      ->add_option("function", subscribe->function,
                   "The function, optionally NAME:VERSION or NAME:ALIAS")
      ->required();
  onRun(*subscribe_cmd, [subscribe] { return runSubscribe(*subscribe); });

  auto unsubscribe = std::make_shared<TopicArgs>();
  auto* unsubscribe_cmd =
      subcommand(*topic, "unsubscribe", "Delete a subscription", unsubscribe, true, false);
  unsubscribe_cmd
      ->add_option("subscription", unsubscribe->subscription,
                   "The subscription id (gust topic describe TOPIC shows them)")
      ->required();
  onRun(*unsubscribe_cmd, [unsubscribe] { return runUnsubscribe(*unsubscribe); });
}

}  // namespace gust::cli
