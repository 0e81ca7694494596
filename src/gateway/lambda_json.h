// The JSON shapes of AWS Lambda's REST API (2015-03-31): request bodies parsed into control-plane
// inputs, records rendered as Lambda's FunctionConfiguration / AliasConfiguration, and the
// FunctionName forms Lambda accepts. Pure functions over untrusted input (fuzzed); the HTTP side
// is in lambda_api.cc.
#pragma once

#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/function_config.h"
#include "store/store.h"

namespace gust::gateway::lambda {

// The account and region ARNs are made of.
struct Account {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// A function named by a FunctionName path parameter: "f", "f:qualifier",
// "123456789012:function:f[:qualifier]" or "arn:aws:lambda:REGION:ACCOUNT:function:f[:qualifier]",
// possibly with a Qualifier query parameter, which must then agree with the name's own.
struct FunctionRef {
  std::string name;
  std::string qualifier;  // empty: unqualified ($LATEST)
};
Result<FunctionRef> parseFunctionRef(std::string_view function_name,
                                     std::optional<std::string_view> qualifier);

std::string functionArn(const Account& account, std::string_view name,
                        std::string_view qualifier = {});

// Lambda's FunctionConfiguration of a $LATEST or published version. `qualified_arn` adds
// ":$LATEST" to $LATEST's ARN (ListVersionsByFunction does; GetFunction does not). Published
// versions always have a qualified ARN.
boost::json::object functionConfiguration(const Account& account,
                                          const store::FunctionRecord& record,
                                          bool qualified_arn = false);
boost::json::object aliasConfiguration(const Account& account, const store::AliasRecord& alias);

// Lambda reports CodeSha256 as base64 of the digest; Gust stores hex.
std::string hexToBase64(std::string_view hex);
// nullopt if `b64` is not the base64 of a 32-byte digest.
std::optional<std::string> base64ToHex(std::string_view b64);

// Every parser below expects a JSON object body (the caller has checked that it parses) and
// answers kInvalidArgument with a message naming the field and what is allowed. Fields Gust does
// not support with a non-default value (VPC, layers, images, S3 code, ...) are refused by name,
// never silently ignored.

// CreateFunction.
struct CreateFunctionInput {
  control::DeployRequest deploy;
  std::string role;
  bool publish = false;
};
Result<CreateFunctionInput> parseCreateFunction(std::string_view body);

// UpdateFunctionConfiguration: only the fields present are changed.
struct ConfigurationUpdate {
  std::optional<std::string> runtime, handler, description, role;
  std::optional<int> memory_mb, timeout_s, ephemeral_storage_mb;
  std::optional<std::map<std::string, std::string>> environment;
  std::string revision_id;  // empty: unconditional
};
Result<ConfigurationUpdate> parseUpdateConfiguration(std::string_view body);
void applyUpdate(const ConfigurationUpdate& update, control::FunctionConfig& config);

// UpdateFunctionCode.
struct CodeUpdate {
  std::string zip;  // decoded
  bool publish = false;
  bool dry_run = false;
  std::string revision_id;
};
Result<CodeUpdate> parseUpdateCode(std::string_view body);

// PublishVersion.
struct PublishInput {
  std::string code_sha256_hex;  // empty: unconditional
  std::string description;
  std::string revision_id;
};
Result<PublishInput> parsePublishVersion(std::string_view body);

// CreateAlias (`create`: Name and FunctionVersion required) and UpdateAlias (fields present are
// changed; `has_*` say which).
struct AliasInput {
  std::string name;
  std::string function_version;
  std::string description;
  std::map<std::string, double> weights;
  std::string revision_id;
  bool has_version = false, has_description = false, has_routing = false;
};
Result<AliasInput> parseAlias(std::string_view body, bool create);

// PutFunctionConcurrency's ReservedConcurrentExecutions (0 … account limit).
Result<int> parseReservedConcurrency(std::string_view body);
// PutProvisionedConcurrencyConfig's ProvisionedConcurrentExecutions (≥ 1).
Result<int> parseProvisionedConcurrency(std::string_view body);

}  // namespace gust::gateway::lambda
