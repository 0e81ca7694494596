#include "cli/lambda_shapes.h"

#include <boost/json.hpp>

#include <cmath>

#include <fmt/format.h>

#include "cli/json_util.h"
#include "common/crypto.h"

namespace gust::cli {

namespace json = boost::json;

std::string hexFromBase64(std::string_view b64) {
  std::string raw;
  if (!base64Decode(b64, raw)) return "";
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

json::object versionFromLambda(const json::object& c) {
  return json::object{{"function", stringField(c, "FunctionName")},
                      {"version", stringField(c, "Version")},
                      {"description", stringField(c, "Description")},
                      {"code_sha256", hexFromBase64(stringField(c, "CodeSha256"))},
                      {"code_size", intField(c, "CodeSize")},
                      {"last_modified", stringField(c, "LastModified")},
                      {"revision_id", stringField(c, "RevisionId")}};
}

json::object aliasFromLambda(const json::object& a) {
  // The function's name is the ARN's part after ":function:".
  std::string arn = stringField(a, "AliasArn");
  std::string function;
  if (auto at = arn.find(":function:"); at != std::string::npos) {
    function = arn.substr(at + 10);
    function = function.substr(0, function.find(':'));
  }
  json::object weights;
  const auto& routing = objectField(a, "RoutingConfig");
  for (const auto& [version, weight] : objectField(routing, "AdditionalVersionWeights")) {
    if (weight.is_number()) weights[version] = weight.to_number<double>();
  }
  return json::object{{"function", function},
                      {"name", stringField(a, "Name")},
                      {"function_version", stringField(a, "FunctionVersion")},
                      {"description", stringField(a, "Description")},
                      {"weights", std::move(weights)},
                      {"revision_id", stringField(a, "RevisionId")}};
}

std::string describeRouting(const json::object& alias) {
  std::string out = stringField(alias, "function_version");
  for (const auto& [version, weight] : objectField(alias, "weights")) {
    double share = weight.is_number() ? weight.to_number<double>() * 100 : 0;
    // Up to two decimals, without trailing zeros: 10%, 12.5%, 0.25%.
    std::string percent = fmt::format("{:.2f}", share);
    while (percent.back() == '0') percent.pop_back();
    if (percent.back() == '.') percent.pop_back();
    out += fmt::format(" + {} at {}%", std::string_view(version), percent);
  }
  return out;
}

json::object provisionedFromLambda(const json::object& c, std::string_view qualifier) {
  std::string q(qualifier);
  std::string arn = stringField(c, "FunctionArn");
  if (auto at = arn.find(":function:"); at != std::string::npos) {
    auto colon = arn.find(':', at + 10);
    if (colon != std::string::npos) q = arn.substr(colon + 1);
  }
  return json::object{{"qualifier", q},
                      {"requested", intField(c, "RequestedProvisionedConcurrentExecutions")},
                      {"available", intField(c, "AvailableProvisionedConcurrentExecutions")},
                      {"allocated", intField(c, "AllocatedProvisionedConcurrentExecutions")},
                      {"status", stringField(c, "Status")},
                      {"last_modified", stringField(c, "LastModified")}};
}

}  // namespace gust::cli
