// gust credentials create|list|revoke: access keys for AWS Signature Version 4, so the AWS CLI
// and SDKs can use the server's Lambda API. The secret is shown once, at creation.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

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

struct CredentialsArgs {
  ClientOptions client;
  std::string description;
  std::string access_key_id;
  OutputFormat output = OutputFormat::kTable;
};

int runCreate(const CredentialsArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res =
      client->call("POST", "/api/v1/credentials",
                   json::serialize(json::object{{"description", args.description}}), kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  std::string id = stringField(*answer, "access_key_id");
  std::string secret = stringField(*answer, "secret_access_key");
  if (args.output == OutputFormat::kJson) {
    printJson(json::object{{"access_key_id", id},
                           {"secret_access_key", secret},
                           {"description", stringField(*answer, "description")},
                           {"created", stringField(*answer, "created")}});
    return kExitOk;
  }
  fmt::print(
      "{}"
      "The secret is shown only now: store it safely (revoke with `gust credentials revoke {}`).\n"
      "\n"
      "Use it with the AWS CLI, either from the environment:\n"
      "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1\n"
      "  aws --endpoint-url {} lambda list-functions\n"
      "or saved in a profile (enter the key id, the secret and the region us-east-1):\n"
      "  aws configure --profile gust\n"
      "  aws --profile gust --endpoint-url {} lambda list-functions\n",
      renderFields({{"Access key id", id},
                    {"Secret access key", secret},
                    {"Description", stringField(*answer, "description")},
                    {"Created", stringField(*answer, "created")}}),
      id, id, secret, client->endpointUrl(), client->endpointUrl());
  return kExitOk;
}

int runList(const CredentialsArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call("GET", "/api/v1/credentials", "", kTimeout);
  if (!res) return reportError(res.error());
  auto answer = parseObject(res->body);
  if (!answer) return reportError(answer.error());
  json::array credentials;
  for (const auto& c : arrayField(*answer, "credentials")) {
    if (!c.is_object()) continue;
    const auto& o = c.get_object();
    credentials.push_back(json::object{{"access_key_id", stringField(o, "access_key_id")},
                                       {"description", stringField(o, "description")},
                                       {"created", stringField(o, "created")}});
  }
  if (args.output == OutputFormat::kJson) {
    printJson(json::object{{"credentials", std::move(credentials)}});
    return kExitOk;
  }
  Table table({"ACCESS KEY ID", "DESCRIPTION", "CREATED"});
  for (const auto& c : credentials) {
    const auto& o = c.get_object();
    table.addRow({stringField(o, "access_key_id"), stringField(o, "description"),
                  stringField(o, "created")});
  }
  fmt::print("{}", table.render());
  return kExitOk;
}

int runRevoke(const CredentialsArgs& args) {
  auto client = Client::connect(args.client);
  if (!client) return reportError(client.error());
  auto res = client->call(
      "DELETE", "/api/v1/credentials/" + http::encodePathSegment(args.access_key_id), "", kTimeout);
  if (!res) {
    if (res.error().code == ErrorCode::kNotFound && !res.error().message.starts_with("no route"))
      return reportError(Error::notFound(fmt::format(
          "{}; list the access keys with `gust credentials list`", res.error().message)));
    return reportError(res.error());
  }
  fmt::print("Revoked {}: requests signed with it are refused from now on\n", args.access_key_id);
  return kExitOk;
}

}  // namespace

void addCredentialsCommand(CLI::App& app) {
  auto* credentials = app.add_subcommand(
      "credentials", "Access keys for the AWS CLI and SDKs (Signature Version 4)");
  credentials->require_subcommand(1);

  auto create = std::make_shared<CredentialsArgs>();
  auto* create_cmd = credentials->add_subcommand(
      "create", "Create an access key; prints its secret once, with how to use it");
  create_cmd->add_option("--description,-d", create->description,
                         "What the key is for, e.g. 'CI deploys'");
  addOutputOption(*create_cmd, create->output);
  addClientOptions(*create_cmd, create->client);
  onRun(*create_cmd, [create] { return runCreate(*create); });

  auto list = std::make_shared<CredentialsArgs>();
  auto* list_cmd = credentials->add_subcommand("list", "List access keys (never their secrets)");
  addOutputOption(*list_cmd, list->output);
  addClientOptions(*list_cmd, list->client);
  onRun(*list_cmd, [list] { return runList(*list); });

  auto revoke = std::make_shared<CredentialsArgs>();
  auto* revoke_cmd = credentials->add_subcommand("revoke", "Delete an access key");
  revoke_cmd->add_option("access_key_id", revoke->access_key_id, "The key's id")->required();
  addClientOptions(*revoke_cmd, revoke->client);
  onRun(*revoke_cmd, [revoke] { return runRevoke(*revoke); });
}

}  // namespace gust::cli
