// The Lambda API's answers (FunctionConfiguration, AliasConfiguration, provisioned concurrency
// configs) converted to the CLI's JSON output, which names fields like the control API does
// (snake_case, code_sha256 in hex), and their one-line descriptions for tables. Pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace gust::cli {

// {"function", "version", "description", "code_sha256" (hex), "code_size", "last_modified",
//  "revision_id"} of a FunctionConfiguration.
boost::json::object versionFromLambda(const boost::json::object& configuration);

// {"function", "name", "function_version", "description", "weights": {"2": 0.1}, "revision_id"}
// of an AliasConfiguration.
boost::json::object aliasFromLambda(const boost::json::object& alias);

// "1", or "1 + 2 at 10%" when the alias (as aliasFromLambda gives it) sends traffic to two.
std::string describeRouting(const boost::json::object& alias);

// {"qualifier", "requested", "available", "allocated", "status", "last_modified"} of a
// provisioned concurrency config; `qualifier` when the answer does not carry a FunctionArn.
boost::json::object provisionedFromLambda(const boost::json::object& config,
                                          std::string_view qualifier = {});

// Lower-case hex of a base64 digest (Lambda's CodeSha256), or "" when it is not base64.
std::string hexFromBase64(std::string_view b64);

}  // namespace gust::cli
