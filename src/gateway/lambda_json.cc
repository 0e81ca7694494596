// Lambda's JSON shapes. Parsers take untrusted bodies: they never throw (Boost.JSON accessors that
// could are guarded by kind checks) and name the offending field in Lambda's own spelling.
#include "gateway/lambda_json.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/crypto.h"

namespace gust::gateway::lambda {
namespace {

namespace json = boost::json;

constexpr std::string_view kArnPrefix = "arn:aws:lambda:";

std::vector<std::string_view> splitColons(std::string_view s) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t colon = s.find(':');
    parts.push_back(s.substr(0, colon));
    if (colon == std::string_view::npos) return parts;
    s.remove_prefix(colon + 1);
  }
}

// A value quoted for an error message, truncated and with control bytes escaped.
std::string shown(std::string_view value) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < value.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  out += value.size() > kMax ? "...'" : "'";
  return out;
}

Result<json::object> parseObject(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec)
    return Error::invalid(fmt::format(
        "could not parse the request body as JSON ({}); send a JSON object", ec.message()));
  if (!v.is_object()) return Error::invalid("the request body must be a JSON object");
  return std::move(v.as_object());
}

Error typeError(std::string_view field, std::string_view want) {
  return Error::invalid(fmt::format("{}: must be {}", field, want));
}

Result<std::string> getString(const json::object& o, std::string_view field) {
  const json::value& v = o.at(field);
  if (!v.is_string()) return typeError(field, "a string");
  return std::string(v.as_string());
}

Result<bool> getBool(const json::object& o, std::string_view field) {
  const json::value& v = o.at(field);
  if (!v.is_bool()) return typeError(field, "true or false");
  return v.as_bool();
}

// An integer in [lo, hi]; the message says the range.
Result<int> getInt(const json::object& o, std::string_view field, int64_t lo, int64_t hi,
                   std::string_view unit = {}) {
  const json::value& v = o.at(field);
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.as_int64();
  } else if (v.is_uint64()) {
    n = v.as_uint64() > static_cast<uint64_t>(hi) ? hi + 1 : static_cast<int64_t>(v.as_uint64());
  } else if (v.is_double() && std::floor(v.as_double()) == v.as_double() &&
             std::abs(v.as_double()) < 1e12) {
    n = static_cast<int64_t>(v.as_double());
  } else {
    return typeError(field, "an integer");
  }
  if (n < lo || n > hi)
    return Error::invalid(fmt::format("{}: {} is out of range; allowed: {} to {}{}{}", field, n, lo,
                                      hi, unit.empty() ? "" : " ", unit));
  return static_cast<int>(n);
}

Result<std::map<std::string, std::string>> getVariables(const json::object& o) {
  const json::value& env = o.at("Environment");
  if (!env.is_object()) return typeError("Environment", "an object like {\"Variables\": {...}}");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : env.as_object()) {
    if (key != "Variables")
      return Error::invalid(fmt::format("Environment: unknown field {}; allowed: Variables",
                                        shown(std::string_view(key))));
    if (value.is_null()) continue;
    if (!value.is_object()) return typeError("Environment.Variables", "an object of strings");
    for (const auto& [name, v] : value.as_object()) {
      if (!v.is_string())
        return typeError(fmt::format("Environment.Variables.{}", std::string_view(name)),
                         "a string");
      out[std::string(name)] = std::string(v.as_string());
    }
  }
  return out;
}

Result<int> getEphemeralStorage(const json::object& o) {
  const json::value& v = o.at("EphemeralStorage");
  if (!v.is_object() || !v.as_object().contains("Size"))
    return typeError("EphemeralStorage", "an object like {\"Size\": 512}");
  auto size = getInt(v.as_object(), "Size", control::kMinEphemeralStorageMb,
                     control::kMaxEphemeralStorageMb, "(MB)");
  if (!size) return Error::invalid("EphemeralStorage." + size.error().message);  // the full name
  return size;
}

// Fields of CreateFunction / UpdateFunctionConfiguration that Gust accepts only with the value
// that means "not used": anything else is refused by name rather than ignored.
Status checkUnsupported(const json::object& o) {
  auto refuse = [](std::string_view field, std::string_view why) {
    return Error::invalid(fmt::format("{}: not supported by Gust ({}); remove it", field, why));
  };
  auto empty = [](const json::value& v) {
    return v.is_null() || (v.is_array() && v.as_array().empty()) ||
           (v.is_object() &&
            std::all_of(v.as_object().begin(), v.as_object().end(), [](const auto& kv) {
              const json::value& x = kv.value();
              return x.is_null() || (x.is_array() && x.as_array().empty()) ||
                     (x.is_string() && x.as_string().empty());
            }));
  };
  for (const auto& [key, value] : o) {
    std::string_view k = key;
    if (k == "VpcConfig" || k == "Layers" || k == "FileSystemConfigs" || k == "Tags" ||
        k == "DeadLetterConfig" || k == "ImageConfig") {
      if (!empty(value)) return refuse(k, "functions run on this host, without it");
    } else if (k == "KMSKeyArn" || k == "CodeSigningConfigArn") {
      if (!value.is_null() && !(value.is_string() && value.as_string().empty()))
        return refuse(k, "there is no key or signing service");
    } else if (k == "PackageType") {
      if (!value.is_string() || value.as_string() != "Zip")
        return refuse("PackageType other than Zip", "container images are not run");
    } else if (k == "Architectures") {
      bool ok = value.is_array() && value.as_array().size() <= 1 &&
                std::all_of(value.as_array().begin(), value.as_array().end(),
                            [](const json::value& a) { return a == "x86_64"; });
      if (!ok) return refuse("Architectures other than [\"x86_64\"]", "the host is x86_64");
    } else if (k == "TracingConfig") {
      bool ok = value.is_object() && (!value.as_object().contains("Mode") ||
                                      value.as_object().at("Mode") == "PassThrough");
      if (!ok) return refuse("TracingConfig.Mode other than PassThrough", "there is no tracer");
    } else if (k == "SnapStart") {
      bool ok = value.is_object() && (!value.as_object().contains("ApplyOn") ||
                                      value.as_object().at("ApplyOn") == "None");
      if (!ok) return refuse("SnapStart", "cold starts use pre-started runtimes instead");
    }
  }
  return okStatus();
}

template <size_t N>
Status checkKnown(const json::object& o, const std::array<std::string_view, N>& known,
                  std::string_view operation) {
  for (const auto& [key, value] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      return Error::invalid(fmt::format("{}: unknown field {}; see the {} request syntax",
                                        operation, shown(std::string_view(key)), operation));
  }
  return okStatus();
}

Result<std::string> decodeZip(const json::value& v, std::string_view field) {
  if (!v.is_string()) return typeError(field, "the base64 of a zip file");
  std::string zip;
  if (!base64Decode(v.as_string(), zip))
    return Error::invalid(
        fmt::format("{}: is not valid base64; send the zip file base64-encoded", field));
  return zip;
}

}  // namespace

Result<FunctionRef> parseFunctionRef(std::string_view function_name,
                                     std::optional<std::string_view> qualifier) {
  auto invalid = [&] {
    return Error::invalid(
        fmt::format("FunctionName: {} is not a function name; use a name (f), a name with a "
                    "qualifier (f:live), a partial ARN (123456789012:function:f) or a full ARN "
                    "(arn:aws:lambda:us-east-1:123456789012:function:f)",
                    shown(function_name)));
  };
  if (function_name.empty() || function_name.size() > 170) return invalid();
  std::vector<std::string_view> parts = splitColons(function_name);
  FunctionRef ref;
  std::string_view name, own_qualifier;
  bool has_qualifier = false;
  if (function_name.starts_with(kArnPrefix)) {
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    if (parts.size() < 7 || parts.size() > 8 || parts[5] != "function") return invalid();
    name = parts[6];
    has_qualifier = parts.size() == 8;
    if (has_qualifier) own_qualifier = parts[7];
  } else if (parts.size() >= 3 && parts[1] == "function") {
    // ACCOUNT:function:NAME[:QUALIFIER]
    if (parts.size() > 4) return invalid();
    name = parts[2];
    has_qualifier = parts.size() == 4;
    if (has_qualifier) own_qualifier = parts[3];
  } else {
    if (parts.size() > 2) return invalid();
    name = parts[0];
    has_qualifier = parts.size() == 2;
    if (has_qualifier) own_qualifier = parts[1];
  }
  if (name.empty() || (has_qualifier && own_qualifier.empty())) return invalid();
  ref.name = std::string(name);
  ref.qualifier = std::string(own_qualifier);
  if (qualifier) {
    if (qualifier->empty())
      return Error::invalid("Qualifier: is empty; give a version number, $LATEST or an alias");
    if (has_qualifier && *qualifier != own_qualifier)
      return Error::invalid(fmt::format(
          "The derived qualifier from the function name ({}) does not match the specified "
          "qualifier ({}); give the qualifier once",
          shown(own_qualifier), shown(*qualifier)));
    ref.qualifier = std::string(*qualifier);
  }
  return ref;
}

std::string functionArn(const Account& account, std::string_view name, std::string_view qualifier) {
  std::string arn =
      fmt::format("{}{}:{}:function:{}", kArnPrefix, account.region, account.account_id, name);
  if (!qualifier.empty()) fmt::format_to(std::back_inserter(arn), ":{}", qualifier);
  return arn;
}

std::string hexToBase64(std::string_view hex) {
  std::string raw;
  raw.reserve(hex.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    raw += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  return base64Encode(raw);
}

std::optional<std::string> base64ToHex(std::string_view b64) {
  std::string raw;
  if (!base64Decode(b64, raw) || raw.size() != 32) return std::nullopt;
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

json::object functionConfiguration(const Account& account, const store::FunctionRecord& record,
                                   bool qualified_arn) {
  bool latest = record.version == "$LATEST";
  json::object o;
  o["FunctionName"] = record.name;
  o["FunctionArn"] =
      functionArn(account, record.name, latest && !qualified_arn ? "" : record.version);
  o["Runtime"] = record.runtime;
  o["Role"] = record.role.empty()
                  ? fmt::format("arn:aws:iam::{}:role/gust-function", account.account_id)
                  : record.role;
  o["Handler"] = record.handler;
  o["CodeSize"] = record.code_size;
  o["Description"] = record.description;
  o["Timeout"] = record.timeout_s;
  o["MemorySize"] = record.memory_mb;
  o["LastModified"] = record.last_modified;
  o["CodeSha256"] = hexToBase64(record.code_sha256);
  o["Version"] = record.version;
  if (!record.environment.empty()) {
    json::object vars;
    for (const auto& [k, v] : record.environment) vars[k] = v;
    o["Environment"] = json::object{{"Variables", std::move(vars)}};
  }
  o["TracingConfig"] = json::object{{"Mode", "PassThrough"}};
  o["RevisionId"] = record.revision_id;
  o["State"] = "Active";
  o["LastUpdateStatus"] = "Successful";
  o["PackageType"] = "Zip";
  o["Architectures"] = json::array{"x86_64"};
  o["EphemeralStorage"] = json::object{{"Size", record.ephemeral_storage_mb}};
  o["SnapStart"] = json::object{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}};
  o["LoggingConfig"] =
      json::object{{"LogFormat", "Text"}, {"LogGroup", fmt::format("/aws/lambda/{}", record.name)}};
  return o;
}

json::object aliasConfiguration(const Account& account, const store::AliasRecord& alias) {
  json::object o;
  o["AliasArn"] = functionArn(account, alias.function, alias.name);
  o["Name"] = alias.name;
  o["FunctionVersion"] = alias.function_version;
  o["Description"] = alias.description;
  if (!alias.additional_weights.empty()) {
    json::object weights;
    for (const auto& [version, weight] : alias.additional_weights) weights[version] = weight;
    o["RoutingConfig"] = json::object{{"AdditionalVersionWeights", std::move(weights)}};
  }
  o["RevisionId"] = alias.revision_id;
  return o;
}

Result<CreateFunctionInput> parseCreateFunction(std::string_view body) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  static constexpr std::array<std::string_view, 23> kKnown = {"FunctionName",
                                                              "Runtime",
                                                              "Role",
                                                              "Handler",
                                                              "Code",
                                                              "Description",
                                                              "Timeout",
                                                              "MemorySize",
                                                              "Publish",
                                                              "Environment",
                                                              "EphemeralStorage",
                                                              "VpcConfig",
                                                              "Layers",
                                                              "FileSystemConfigs",
                                                              "Tags",
                                                              "KMSKeyArn",
                                                              "PackageType",
                                                              "Architectures",
                                                              "TracingConfig",
                                                              "DeadLetterConfig",
                                                              "ImageConfig",
                                                              "CodeSigningConfigArn",
                                                              "SnapStart"};
  GUST_TRY(checkKnown(o, kKnown, "CreateFunction"));
  GUST_TRY(checkUnsupported(o));
  for (std::string_view required : {"FunctionName", "Runtime", "Handler", "Code"}) {
    if (!o.contains(required))
      return Error::invalid(fmt::format(
          "{}: is required; CreateFunction needs FunctionName, Runtime, Handler and Code "
          "({{\"ZipFile\": <base64 zip>}})",
          required));
  }
  CreateFunctionInput in;
  control::FunctionConfig& c = in.deploy.config;
  GUST_ASSIGN_OR_RETURN(std::string name, getString(o, "FunctionName"));
  // CreateFunction takes a plain name or an unqualified ARN.
  GUST_ASSIGN_OR_RETURN(FunctionRef ref, parseFunctionRef(name, std::nullopt));
  if (!ref.qualifier.empty())
    return Error::invalid(fmt::format(
        "FunctionName: {} has a qualifier; create the function under its plain name, then "
        "publish versions and create aliases",
        shown(name)));
  c.name = ref.name;
  GUST_ASSIGN_OR_RETURN(c.runtime, getString(o, "Runtime"));
  GUST_ASSIGN_OR_RETURN(c.handler, getString(o, "Handler"));
  if (o.contains("Role")) {
    GUST_ASSIGN_OR_RETURN(in.role, getString(o, "Role"));
  }
  if (o.contains("Description")) {
    GUST_ASSIGN_OR_RETURN(c.description, getString(o, "Description"));
  }
  if (o.contains("Timeout")) {
    GUST_ASSIGN_OR_RETURN(c.timeout_s,
                          getInt(o, "Timeout", control::kMinTimeoutS, control::kMaxTimeoutS, "s"));
  }
  if (o.contains("MemorySize")) {
    GUST_ASSIGN_OR_RETURN(
        c.memory_mb, getInt(o, "MemorySize", control::kMinMemoryMb, control::kMaxMemoryMb, "(MB)"));
  }
  if (o.contains("Publish")) {
    GUST_ASSIGN_OR_RETURN(in.publish, getBool(o, "Publish"));
  }
  if (o.contains("Environment")) {
    GUST_ASSIGN_OR_RETURN(c.environment, getVariables(o));
  }
  if (o.contains("EphemeralStorage")) {
    GUST_ASSIGN_OR_RETURN(c.ephemeral_storage_mb, getEphemeralStorage(o));
  }

  const json::value& code = o.at("Code");
  if (!code.is_object()) return typeError("Code", "an object like {\"ZipFile\": <base64 zip>}");
  for (const auto& [key, value] : code.as_object()) {
    std::string_view k = key;
    if (k == "ZipFile") {
      GUST_ASSIGN_OR_RETURN(in.deploy.zip, decodeZip(value, "Code.ZipFile"));
    } else if (k == "S3Bucket" || k == "S3Key" || k == "S3ObjectVersion" || k == "ImageUri") {
      return Error::invalid(fmt::format(
          "Code.{}: code from S3 or images is not supported by Gust; send the zip inline as "
          "Code.ZipFile (the AWS CLI: --zip-file fileb://function.zip)",
          k));
    } else {
      return Error::invalid(
          fmt::format("Code: unknown field {}; allowed: ZipFile", shown(std::string_view(k))));
    }
  }
  if (in.deploy.zip.empty())
    return Error::invalid("Code.ZipFile: is required and must not be empty");
  return in;
}

Result<ConfigurationUpdate> parseUpdateConfiguration(std::string_view body) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  static constexpr std::array<std::string_view, 20> kKnown = {
      "Runtime",    "Role",          "Handler",          "Description",
      "Timeout",    "MemorySize",    "Environment",      "EphemeralStorage",
      "RevisionId", "VpcConfig",     "Layers",           "FileSystemConfigs",
      "KMSKeyArn",  "TracingConfig", "DeadLetterConfig", "ImageConfig",
      "SnapStart",  "LoggingConfig", "Architectures",    "PackageType"};
  GUST_TRY(checkKnown(o, kKnown, "UpdateFunctionConfiguration"));
  GUST_TRY(checkUnsupported(o));
  ConfigurationUpdate u;
  if (o.contains("Runtime")) {
    GUST_ASSIGN_OR_RETURN(u.runtime, getString(o, "Runtime"));
  }
  if (o.contains("Handler")) {
    GUST_ASSIGN_OR_RETURN(u.handler, getString(o, "Handler"));
  }
  if (o.contains("Role")) {
    GUST_ASSIGN_OR_RETURN(u.role, getString(o, "Role"));
  }
  if (o.contains("Description")) {
    GUST_ASSIGN_OR_RETURN(u.description, getString(o, "Description"));
  }
  if (o.contains("Timeout")) {
    GUST_ASSIGN_OR_RETURN(u.timeout_s,
                          getInt(o, "Timeout", control::kMinTimeoutS, control::kMaxTimeoutS, "s"));
  }
  if (o.contains("MemorySize")) {
    GUST_ASSIGN_OR_RETURN(
        u.memory_mb, getInt(o, "MemorySize", control::kMinMemoryMb, control::kMaxMemoryMb, "(MB)"));
  }
  if (o.contains("Environment")) {
    GUST_ASSIGN_OR_RETURN(u.environment, getVariables(o));
  }
  if (o.contains("EphemeralStorage")) {
    GUST_ASSIGN_OR_RETURN(u.ephemeral_storage_mb, getEphemeralStorage(o));
  }
  if (o.contains("RevisionId")) {
    GUST_ASSIGN_OR_RETURN(u.revision_id, getString(o, "RevisionId"));
  }
  if (o.contains("LoggingConfig")) {
    const json::value& v = o.at("LoggingConfig");
    bool ok = v.is_object() &&
              (!v.as_object().contains("LogFormat") || v.as_object().at("LogFormat") == "Text");
    if (!ok)
      return Error::invalid(
          "LoggingConfig: only LogFormat Text is supported by Gust (logs are kept per "
          "invocation); remove it");
  }
  return u;
}

void applyUpdate(const ConfigurationUpdate& u, control::FunctionConfig& c) {
  if (u.runtime) c.runtime = *u.runtime;
  if (u.handler) c.handler = *u.handler;
  if (u.description) c.description = *u.description;
  if (u.memory_mb) c.memory_mb = *u.memory_mb;
  if (u.timeout_s) c.timeout_s = *u.timeout_s;
  if (u.ephemeral_storage_mb) c.ephemeral_storage_mb = *u.ephemeral_storage_mb;
  if (u.environment) c.environment = *u.environment;
}

Result<CodeUpdate> parseUpdateCode(std::string_view body) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  static constexpr std::array<std::string_view, 9> kKnown = {
      "ZipFile", "Publish",         "DryRun",   "RevisionId",   "S3Bucket",
      "S3Key",   "S3ObjectVersion", "ImageUri", "Architectures"};
  GUST_TRY(checkKnown(o, kKnown, "UpdateFunctionCode"));
  GUST_TRY(checkUnsupported(o));
  CodeUpdate u;
  for (std::string_view k : {"S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"}) {
    if (o.contains(k))
      return Error::invalid(fmt::format(
          "{}: code from S3 or images is not supported by Gust; send the zip inline as ZipFile "
          "(the AWS CLI: --zip-file fileb://function.zip)",
          k));
  }
  if (!o.contains("ZipFile")) return Error::invalid("ZipFile: is required (the base64 of a zip)");
  GUST_ASSIGN_OR_RETURN(u.zip, decodeZip(o.at("ZipFile"), "ZipFile"));
  if (u.zip.empty()) return Error::invalid("ZipFile: must not be empty");
  if (o.contains("Publish")) {
    GUST_ASSIGN_OR_RETURN(u.publish, getBool(o, "Publish"));
  }
  if (o.contains("DryRun")) {
    GUST_ASSIGN_OR_RETURN(u.dry_run, getBool(o, "DryRun"));
  }
  if (o.contains("RevisionId")) {
    GUST_ASSIGN_OR_RETURN(u.revision_id, getString(o, "RevisionId"));
  }
  return u;
}

Result<PublishInput> parsePublishVersion(std::string_view body) {
  if (body.empty()) return PublishInput{};
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  static constexpr std::array<std::string_view, 3> kKnown = {"CodeSha256", "Description",
                                                             "RevisionId"};
  GUST_TRY(checkKnown(o, kKnown, "PublishVersion"));
  PublishInput in;
  if (o.contains("CodeSha256")) {
    GUST_ASSIGN_OR_RETURN(std::string b64, getString(o, "CodeSha256"));
    auto hex = base64ToHex(b64);
    if (!hex)
      return Error::invalid(
          fmt::format("CodeSha256: {} is not a base64 SHA-256 digest; pass the CodeSha256 that "
                      "GetFunctionConfiguration reports",
                      shown(b64)));
    in.code_sha256_hex = *hex;
  }
  if (o.contains("Description")) {
    GUST_ASSIGN_OR_RETURN(in.description, getString(o, "Description"));
  }
  if (o.contains("RevisionId")) {
    GUST_ASSIGN_OR_RETURN(in.revision_id, getString(o, "RevisionId"));
  }
  return in;
}

Result<AliasInput> parseAlias(std::string_view body, bool create) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  static constexpr std::array<std::string_view, 5> kKnown = {
      "Name", "FunctionVersion", "Description", "RoutingConfig", "RevisionId"};
  GUST_TRY(checkKnown(o, kKnown, create ? "CreateAlias" : "UpdateAlias"));
  AliasInput in;
  if (create) {
    for (std::string_view required : {"Name", "FunctionVersion"}) {
      if (!o.contains(required))
        return Error::invalid(
            fmt::format("{}: is required; CreateAlias needs Name and FunctionVersion", required));
    }
    GUST_ASSIGN_OR_RETURN(in.name, getString(o, "Name"));
  } else if (o.contains("Name")) {
    return Error::invalid("Name: cannot be changed by UpdateAlias; it is part of the path");
  }
  if (o.contains("FunctionVersion")) {
    GUST_ASSIGN_OR_RETURN(in.function_version, getString(o, "FunctionVersion"));
    in.has_version = true;
  }
  if (o.contains("Description")) {
    GUST_ASSIGN_OR_RETURN(in.description, getString(o, "Description"));
    in.has_description = true;
  }
  if (o.contains("RevisionId")) {
    if (create) return Error::invalid("RevisionId: is not a CreateAlias field");
    GUST_ASSIGN_OR_RETURN(in.revision_id, getString(o, "RevisionId"));
  }
  if (o.contains("RoutingConfig")) {
    in.has_routing = true;
    const json::value& rc = o.at("RoutingConfig");
    if (rc.is_null()) return in;
    if (!rc.is_object())
      return typeError("RoutingConfig",
                       "an object like {\"AdditionalVersionWeights\": {\"2\": 0.1}}");
    for (const auto& [key, value] : rc.as_object()) {
      if (key != "AdditionalVersionWeights")
        return Error::invalid(
            fmt::format("RoutingConfig: unknown field {}; allowed: AdditionalVersionWeights",
                        shown(std::string_view(key))));
      if (value.is_null()) continue;
      if (!value.is_object())
        return typeError("RoutingConfig.AdditionalVersionWeights",
                         "an object of version to weight, e.g. {\"2\": 0.1}");
      for (const auto& [version, weight] : value.as_object()) {
        if (!weight.is_number())
          return typeError(
              fmt::format("RoutingConfig.AdditionalVersionWeights.{}", std::string_view(version)),
              "a number between 0.0 and 1.0");
        in.weights[std::string(version)] = weight.to_number<double>();
      }
    }
  }
  return in;
}

namespace {
Result<int> parseCount(std::string_view body, std::string_view field, int lo, int hi) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseObject(body));
  if (!o.contains(field)) return Error::invalid(fmt::format("{}: is required", field));
  for (const auto& [key, value] : o) {
    if (key != field)
      return Error::invalid(
          fmt::format("unknown field {}; allowed: {}", shown(std::string_view(key)), field));
  }
  return getInt(o, field, lo, hi);
}
}  // namespace

Result<int> parseReservedConcurrency(std::string_view body) {
  return parseCount(body, "ReservedConcurrentExecutions", 0, control::kAccountConcurrencyLimit);
}

Result<int> parseProvisionedConcurrency(std::string_view body) {
  return parseCount(body, "ProvisionedConcurrentExecutions", 1, control::kAccountConcurrencyLimit);
}

}  // namespace gust::gateway::lambda
