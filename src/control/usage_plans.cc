#include "control/usage_plans.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "control/function_config.h"

namespace gust::control {
namespace {

namespace json = boost::json;

constexpr size_t kIdLength = 10;
constexpr size_t kMaxRefNameLength = 128;
constexpr size_t kMaxDescriptionLength = 1024;
constexpr int64_t kMaxQuotaLimit = 1'000'000'000'000;

// `n` characters drawn uniformly from `alphabet` with a CSPRNG (rejection sampling: no bias).
std::string randomString(std::string_view alphabet, size_t n) {
  const size_t usable = 256 - 256 % alphabet.size();
  std::string out;
  while (out.size() < n) {
    for (unsigned char b : randomBytes(n * 2)) {
      if (b >= usable) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string newId() { return randomString("abcdefghijklmnopqrstuvwxyz0123456789", kIdLength); }

Status validateRefName(std::string_view what, std::string_view name) {
  bool ok =
      !name.empty() && name.size() <= kMaxRefNameLength &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!ok)
    return Error::invalid(
        fmt::format("{} name {} is not allowed: use 1 to {} letters, digits, '-', '_' or '.'", what,
                    quoted(name), kMaxRefNameLength));
  return okStatus();
}

Status validateFreeText(std::string_view field, std::string_view text) {
  if (text.size() > kMaxDescriptionLength)
    return Error::invalid(fmt::format("{} is {} bytes long; at most {} are allowed", field,
                                      text.size(), kMaxDescriptionLength));
  return okStatus();
}

Status validateKeyValue(std::string_view value) {
  bool printable =
      std::all_of(value.begin(), value.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (value.size() < kMinApiKeyValueLength || value.size() > kMaxApiKeyValueLength || !printable)
    return Error::invalid(fmt::format(
        "value: an API key's value must be {} to {} printable ASCII characters without spaces "
        "(got {} characters); leave it out to have one generated",
        kMinApiKeyValueLength, kMaxApiKeyValueLength, value.size()));
  return okStatus();
}

Status validatePlan(const store::UsagePlanRecord& plan) {
  GUST_TRY(validateRefName("usage plan", plan.name));
  GUST_TRY(validateFreeText("description", plan.description));
  if (plan.throttle_rate.has_value() != plan.throttle_burst.has_value())
    return Error::invalid(
        "throttle: give both rate_limit (requests per second) and burst_limit (requests at once)");
  if (plan.throttle_rate) {
    double rate = *plan.throttle_rate;
    if (!std::isfinite(rate) || rate < 0 || rate > apigw::kMaxRate ||
        (rate > 0 && rate < apigw::kMinRate))
      return Error::invalid(fmt::format(
          "throttle.rate_limit {} is not allowed: use 0 (refuse every request) or {} to {} "
          "requests per second",
          rate, apigw::kMinRate, apigw::kMaxRate));
    if (*plan.throttle_burst < 0 || *plan.throttle_burst > apigw::kMaxBurst)
      return Error::invalid(fmt::format("throttle.burst_limit {} is not allowed: use 0 to {}",
                                        *plan.throttle_burst, apigw::kMaxBurst));
  }
  if (plan.quota_limit) {
    if (*plan.quota_limit < 1 || *plan.quota_limit > kMaxQuotaLimit)
      return Error::invalid(fmt::format("quota.limit {} is not allowed: use 1 to {} requests",
                                        *plan.quota_limit, kMaxQuotaLimit));
    if (!apigw::parseQuotaPeriod(plan.quota_period))
      return Error::invalid(fmt::format("quota.period {} is not allowed: use DAY, WEEK or MONTH",
                                        quoted(plan.quota_period)));
    if (plan.quota_offset < 0 || plan.quota_offset >= *plan.quota_limit)
      return Error::invalid(fmt::format(
          "quota.offset {} is not allowed: use 0 to {} (requests fewer in the first period)",
          plan.quota_offset, *plan.quota_limit - 1));
  } else if (!plan.quota_period.empty() || plan.quota_offset != 0) {
    return Error::invalid("quota: give a limit with the period and offset");
  }
  std::set<store::ApiStageRef> seen;
  for (const auto& s : plan.api_stages) {
    if (s.api_id.empty() || s.stage.empty() || s.api_id.size() > kMaxRefNameLength ||
        s.stage.size() > kMaxRefNameLength)
      return Error::invalid(
          "api_stages: each entry needs a non-empty api_id and stage (at most 128 characters)");
    if (!seen.insert(s).second)
      return Error::invalid(fmt::format("api_stages: {} stage {} is listed twice", quoted(s.api_id),
                                        quoted(s.stage)));
  }
  return okStatus();
}

// --- JSON ------------------------------------------------------------------------------------

Result<json::object> parseBody(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object())
    return Error::invalid(fmt::format("the body must be a JSON object describing the {}", what));
  return std::move(v.get_object());
}

Status onlyFields(const json::object& o, std::string_view where,
                  std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : o) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(k)) == allowed.end())
      return Error::invalid(fmt::format("{}: unknown field {}; allowed: {}", where,
                                        quoted(std::string_view(k)), fmt::join(allowed, ", ")));
  }
  return okStatus();
}

Result<std::string> stringAt(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return Error::invalid(fmt::format("{} must be a string", field));
  return std::string(v->get_string());
}

Result<std::optional<int64_t>> intAt(const json::object& o, std::string_view where,
                                     std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return std::optional<int64_t>(static_cast<int64_t>(v->get_uint64()));
  if (v->is_double() && std::nearbyint(v->get_double()) == v->get_double() &&
      std::abs(v->get_double()) < 9e15)
    return std::optional<int64_t>(static_cast<int64_t>(v->get_double()));
  return Error::invalid(fmt::format("{}.{} must be a whole number", where, field));
}

}  // namespace

Result<ApiKeyRequest> parseApiKeyRequest(std::string_view body) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseBody(body, "API key"));
  GUST_TRY(onlyFields(o, "API key", {"name", "description", "enabled", "value"}));
  ApiKeyRequest r;
  GUST_ASSIGN_OR_RETURN(r.name, stringAt(o, "name"));
  GUST_ASSIGN_OR_RETURN(r.description, stringAt(o, "description"));
  if (const auto* e = o.if_contains("enabled"); e && !e->is_null()) {
    if (!e->is_bool()) return Error::invalid("enabled must be true or false");
    r.enabled = e->get_bool();
  }
  if (const auto* v = o.if_contains("value"); v && !v->is_null()) {
    if (!v->is_string()) return Error::invalid("value must be a string");
    r.value = std::string(v->get_string());
  }
  return r;
}

Result<store::UsagePlanRecord> parseUsagePlanRequest(std::string_view body) {
  GUST_ASSIGN_OR_RETURN(json::object o, parseBody(body, "usage plan"));
  GUST_TRY(onlyFields(o, "usage plan", {"name", "description", "throttle", "quota", "api_stages"}));
  store::UsagePlanRecord p;
  GUST_ASSIGN_OR_RETURN(p.name, stringAt(o, "name"));
  GUST_ASSIGN_OR_RETURN(p.description, stringAt(o, "description"));
  if (const auto* t = o.if_contains("throttle"); t && !t->is_null()) {
    if (!t->is_object())
      return Error::invalid("throttle must be an object {rate_limit, burst_limit}");
    const auto& to = t->get_object();
    GUST_TRY(onlyFields(to, "throttle", {"rate_limit", "burst_limit"}));
    if (const auto* r = to.if_contains("rate_limit"); r && !r->is_null()) {
      if (!r->is_number()) return Error::invalid("throttle.rate_limit must be a number");
      boost::system::error_code ec;
      p.throttle_rate = r->to_number<double>(ec);
    }
    GUST_ASSIGN_OR_RETURN(p.throttle_burst, intAt(to, "throttle", "burst_limit"));
  }
  if (const auto* q = o.if_contains("quota"); q && !q->is_null()) {
    if (!q->is_object()) return Error::invalid("quota must be an object {limit, period, offset}");
    const auto& qo = q->get_object();
    GUST_TRY(onlyFields(qo, "quota", {"limit", "period", "offset"}));
    GUST_ASSIGN_OR_RETURN(p.quota_limit, intAt(qo, "quota", "limit"));
    GUST_ASSIGN_OR_RETURN(p.quota_period, stringAt(qo, "period"));
    GUST_ASSIGN_OR_RETURN(std::optional<int64_t> offset, intAt(qo, "quota", "offset"));
    p.quota_offset = offset.value_or(0);
  }
  if (const auto* a = o.if_contains("api_stages"); a && !a->is_null()) {
    if (!a->is_array()) return Error::invalid("api_stages must be an array of {api_id, stage}");
    for (const auto& item : a->get_array()) {
      if (!item.is_object()) return Error::invalid("api_stages: each entry is {api_id, stage}");
      const auto& so = item.get_object();
      GUST_TRY(onlyFields(so, "api_stages entry", {"api_id", "stage"}));
      store::ApiStageRef ref;
      GUST_ASSIGN_OR_RETURN(ref.api_id, stringAt(so, "api_id"));
      GUST_ASSIGN_OR_RETURN(ref.stage, stringAt(so, "stage"));
      p.api_stages.push_back(std::move(ref));
    }
  }
  return p;
}

namespace {

json::object apiKeyObject(const store::ApiKeyRecord& key) {
  return json::object{
      {"id", key.id},           {"name", key.name},       {"description", key.description},
      {"enabled", key.enabled}, {"created", key.created}, {"last_updated", key.last_updated}};
}

json::object usagePlanObject(const store::UsagePlanRecord& plan) {
  json::object o{{"id", plan.id}, {"name", plan.name}, {"description", plan.description}};
  if (plan.throttle_rate && plan.throttle_burst)
    o["throttle"] =
        json::object{{"rate_limit", *plan.throttle_rate}, {"burst_limit", *plan.throttle_burst}};
  if (plan.quota_limit)
    o["quota"] = json::object{
        {"limit", *plan.quota_limit}, {"period", plan.quota_period}, {"offset", plan.quota_offset}};
  json::array stages;
  for (const auto& s : plan.api_stages)
    stages.push_back(json::object{{"api_id", s.api_id}, {"stage", s.stage}});
  o["api_stages"] = std::move(stages);
  o["created"] = plan.created;
  return o;
}

}  // namespace

std::string apiKeyToJson(const store::ApiKeyRecord& key, const std::string* value) {
  json::object o = apiKeyObject(key);
  if (value) o["value"] = *value;
  return json::serialize(o);
}

std::string usagePlanToJson(const store::UsagePlanRecord& plan) {
  return json::serialize(usagePlanObject(plan));
}

std::string apiKeysToJson(const std::vector<store::ApiKeyRecord>& keys) {
  json::array arr;
  for (const auto& k : keys) arr.push_back(apiKeyObject(k));
  return json::serialize(json::object{{"api_keys", std::move(arr)}});
}

std::string usagePlansToJson(const std::vector<store::UsagePlanRecord>& plans) {
  json::array arr;
  for (const auto& p : plans) arr.push_back(usagePlanObject(p));
  return json::serialize(json::object{{"usage_plans", std::move(arr)}});
}

std::string usageReportToJson(const UsageReport& report) {
  json::object items;
  for (const auto& [key, days] : report.items) {
    json::array arr;
    for (const auto& [used, remaining] : days) arr.push_back(json::array{used, remaining});
    items[key] = std::move(arr);
  }
  return json::serialize(json::object{{"usagePlanId", report.plan_id},
                                      {"startDate", report.start_date},
                                      {"endDate", report.end_date},
                                      {"items", std::move(items)}});
}

// --- The service -------------------------------------------------------------------------------

namespace {

apigw::PlanLimits limitsOf(const store::UsagePlanRecord& plan) {
  apigw::PlanLimits limits;
  if (plan.throttle_rate && plan.throttle_burst)
    limits.throttle = apigw::ThrottleSettings{*plan.throttle_rate, *plan.throttle_burst};
  if (plan.quota_limit) {
    apigw::QuotaSettings q;
    q.limit = *plan.quota_limit;
    q.period = apigw::parseQuotaPeriod(plan.quota_period).value_or(apigw::QuotaPeriod::kDay);
    q.offset = plan.quota_offset;
    q.initial_day = apigw::parseDate(std::string_view(plan.created).substr(0, 10)).value_or(0);
    limits.quota = q;
  }
  return limits;
}

}  // namespace

struct UsagePlanService::Index {
  struct Plan {
    std::string id;
    apigw::PlanLimits limits;
    std::vector<store::ApiStageRef> stages;
  };
  struct Key {
    std::string id;
    bool enabled = false;
    std::vector<const Plan*> plans;
  };
  std::vector<std::unique_ptr<Plan>> plans;      // owns what Key::plans points to
  std::unordered_map<std::string, Key> by_hash;  // hex SHA-256 of the value -> key
};

UsagePlanService::UsagePlanService(store::Store& store, UsagePlanServiceOptions options)
    : store_(store), options_(std::move(options)), index_(std::make_shared<const Index>()) {}

UsagePlanService::~UsagePlanService() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  if (auto st = flush(); !st)
    spdlog::error("API key usage of the last second is lost: {}", st.error().message);
}

int64_t UsagePlanService::nowNs() const {
  if (options_.now_ns) return options_.now_ns();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status UsagePlanService::start() {
  {
    std::lock_guard lock(write_mu_);
    GUST_TRY(reload());
    GUST_ASSIGN_OR_RETURN(auto plans, store_.listUsagePlans());
    GUST_ASSIGN_OR_RETURN(auto pairs, store_.listUsagePlanKeys(""));
    for (const auto& plan : plans) {
      if (!plan.quota_limit) continue;
      for (const auto& [plan_id, key_id] : pairs) {
        if (plan_id == plan.id) {
          GUST_TRY(seedUsage(plan, key_id));
        }
      }
    }
  }
  if (options_.flush_interval.count() > 0) {
    flusher_ = std::thread([this] {
      std::unique_lock lock(stop_mu_);
      while (!stop_cv_.wait_for(lock, options_.flush_interval, [this] { return stopping_; })) {
        lock.unlock();
        if (auto st = flush(); !st)
          spdlog::warn("cannot store API key usage (retried in a second): {}", st.error().message);
        lock.lock();
      }
    });
  }
  return okStatus();
}

Status UsagePlanService::seedUsage(const store::UsagePlanRecord& plan, std::string_view key_id) {
  apigw::PlanLimits limits = limitsOf(plan);
  if (!limits.quota) return okStatus();
  int64_t today = apigw::epochDay(nowNs() / apigw::kNanosPerSecond);
  int64_t start = apigw::periodStartDay(limits.quota->period, today);
  GUST_ASSIGN_OR_RETURN(auto rows, store_.queryUsage(plan.id, key_id, apigw::formatDate(start),
                                                     apigw::formatDate(today)));
  int64_t used = 0;
  for (const auto& r : rows) used += r.count;
  limiter_.seed(plan.id, key_id, start, used);
  return okStatus();
}

Status UsagePlanService::reload() {
  GUST_ASSIGN_OR_RETURN(auto keys, store_.listApiKeys());
  GUST_ASSIGN_OR_RETURN(auto plans, store_.listUsagePlans());
  GUST_ASSIGN_OR_RETURN(auto pairs, store_.listUsagePlanKeys(""));
  auto index = std::make_shared<Index>();
  std::unordered_map<std::string, const Index::Plan*> plan_by_id;
  for (const auto& p : plans) {
    index->plans.push_back(
        std::make_unique<Index::Plan>(Index::Plan{p.id, limitsOf(p), p.api_stages}));
    plan_by_id[p.id] = index->plans.back().get();
  }
  std::unordered_map<std::string, std::vector<const Index::Plan*>> plans_of_key;
  for (const auto& [plan_id, key_id] : pairs) {
    if (auto it = plan_by_id.find(plan_id); it != plan_by_id.end())
      plans_of_key[key_id].push_back(it->second);
  }
  for (const auto& k : keys)
    index->by_hash[k.value_sha256] = Index::Key{k.id, k.enabled, plans_of_key[k.id]};
  index_.store(std::move(index));
  return okStatus();
}

KeyDecision UsagePlanService::admit(std::string_view api_key, std::string_view api_id,
                                    std::string_view stage) {
  if (api_key.empty()) return {};
  std::shared_ptr<const Index> index = index_.load();
  auto it = index->by_hash.find(sha256Hex(api_key));
  if (it == index->by_hash.end()) return {};
  const Index::Key& key = it->second;
  KeyDecision decision{KeyVerdict::kForbidden, key.id};
  if (!key.enabled) return decision;
  for (const Index::Plan* plan : key.plans) {
    bool covers = std::any_of(plan->stages.begin(), plan->stages.end(), [&](const auto& s) {
      return s.api_id == api_id && s.stage == stage;
    });
    if (!covers) continue;
    switch (limiter_.admit(plan->id, key.id, plan->limits, nowNs())) {
      case apigw::Admission::kAllowed:
        decision.verdict = KeyVerdict::kAllowed;
        break;
      case apigw::Admission::kThrottled:
        decision.verdict = KeyVerdict::kThrottled;
        break;
      case apigw::Admission::kQuotaExceeded:
        decision.verdict = KeyVerdict::kLimitExceeded;
        break;
    }
    return decision;
  }
  return decision;
}

Status UsagePlanService::flush() {
  std::lock_guard lock(flush_mu_);
  for (const auto& c : limiter_.drain())
    unflushed_.push_back({c.plan_id, c.key_id, apigw::formatDate(c.epoch_day), c.count});
  if (unflushed_.empty()) return okStatus();
  GUST_TRY(store_.addUsage(unflushed_));  // on failure, kept for the next flush
  unflushed_.clear();
  return okStatus();
}

Result<store::ApiKeyRecord> UsagePlanService::resolveKey(std::string_view ref) {
  auto byId = store_.getApiKey(ref);
  if (byId.ok() || byId.error().code != ErrorCode::kNotFound) return byId;
  GUST_ASSIGN_OR_RETURN(auto keys, store_.listApiKeys());
  for (auto& k : keys)
    if (k.name == ref) return std::move(k);
  return Error::notFound(fmt::format(
      "API key {} does not exist (by id or name); list the API keys to see them", quoted(ref)));
}

Result<store::UsagePlanRecord> UsagePlanService::resolvePlan(std::string_view ref) {
  auto byId = store_.getUsagePlan(ref);
  if (byId.ok() || byId.error().code != ErrorCode::kNotFound) return byId;
  GUST_ASSIGN_OR_RETURN(auto plans, store_.listUsagePlans());
  for (auto& p : plans)
    if (p.name == ref) return std::move(p);
  return Error::notFound(
      fmt::format("usage plan {} does not exist (by id or name); list the usage plans to see them",
                  quoted(ref)));
}

Result<CreatedApiKey> UsagePlanService::createApiKey(ApiKeyRequest request) {
  GUST_TRY(validateRefName("API key", request.name));
  GUST_TRY(validateFreeText("description", request.description));
  if (request.value) {
    GUST_TRY(validateKeyValue(*request.value));
  }
  std::string value = request.value ? *request.value
                                    : randomString(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789",
                                          kGeneratedApiKeyValueLength);
  store::ApiKeyRecord record;
  record.id = newId();
  record.name = std::move(request.name);
  record.description = std::move(request.description);
  record.enabled = request.enabled;
  record.value_sha256 = sha256Hex(value);
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(record, store_.createApiKey(std::move(record)));
  GUST_TRY(reload());
  return CreatedApiKey{std::move(record), std::move(value)};
}

Result<std::vector<store::ApiKeyRecord>> UsagePlanService::listApiKeys() {
  return store_.listApiKeys();
}

Result<store::ApiKeyRecord> UsagePlanService::getApiKey(std::string_view ref) {
  return resolveKey(ref);
}

Result<store::ApiKeyRecord> UsagePlanService::setApiKeyEnabled(std::string_view ref, bool enabled) {
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(store::ApiKeyRecord key, resolveKey(ref));
  key.enabled = enabled;
  GUST_ASSIGN_OR_RETURN(key, store_.updateApiKey(std::move(key)));
  GUST_TRY(reload());
  return key;
}

Status UsagePlanService::deleteApiKey(std::string_view ref) {
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(store::ApiKeyRecord key, resolveKey(ref));
  GUST_TRY(store_.deleteApiKey(key.id));
  return reload();
}

Result<store::UsagePlanRecord> UsagePlanService::createUsagePlan(store::UsagePlanRecord plan) {
  GUST_TRY(validatePlan(plan));
  plan.id = newId();
  plan.created.clear();
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(plan, store_.createUsagePlan(std::move(plan)));
  GUST_TRY(reload());
  return plan;
}

Result<std::vector<store::UsagePlanRecord>> UsagePlanService::listUsagePlans() {
  return store_.listUsagePlans();
}

Result<store::UsagePlanRecord> UsagePlanService::getUsagePlan(std::string_view ref) {
  return resolvePlan(ref);
}

Status UsagePlanService::deleteUsagePlan(std::string_view ref) {
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord plan, resolvePlan(ref));
  GUST_TRY(store_.deleteUsagePlan(plan.id));
  return reload();
}

Status UsagePlanService::addKeyToPlan(std::string_view plan_ref, std::string_view key_ref) {
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord plan, resolvePlan(plan_ref));
  GUST_ASSIGN_OR_RETURN(store::ApiKeyRecord key, resolveKey(key_ref));
  // A key in two plans that share an API stage would leave a request with two throttles.
  GUST_ASSIGN_OR_RETURN(auto pairs, store_.listUsagePlanKeys(""));
  for (const auto& [other_id, key_id] : pairs) {
    if (key_id != key.id || other_id == plan.id) continue;
    GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord other, store_.getUsagePlan(other_id));
    for (const auto& s : plan.api_stages) {
      if (std::find(other.api_stages.begin(), other.api_stages.end(), s) != other.api_stages.end())
        return Error{
            ErrorCode::kAlreadyExists,
            fmt::format("API key {} is already in usage plan {}, which also covers "
                        "stage {} of API {}; a key may be in one plan per API stage — "
                        "remove it from that plan first",
                        quoted(key.name), quoted(other.name), quoted(s.stage), quoted(s.api_id))};
    }
  }
  GUST_TRY(store_.addUsagePlanKey(plan.id, key.id));
  GUST_TRY(seedUsage(plan, key.id));
  return reload();
}

Status UsagePlanService::removeKeyFromPlan(std::string_view plan_ref, std::string_view key_ref) {
  std::lock_guard lock(write_mu_);
  GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord plan, resolvePlan(plan_ref));
  GUST_ASSIGN_OR_RETURN(store::ApiKeyRecord key, resolveKey(key_ref));
  GUST_TRY(store_.removeUsagePlanKey(plan.id, key.id));
  return reload();
}

Result<std::vector<store::ApiKeyRecord>> UsagePlanService::planKeys(std::string_view plan_ref) {
  GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord plan, resolvePlan(plan_ref));
  GUST_ASSIGN_OR_RETURN(auto pairs, store_.listUsagePlanKeys(plan.id));
  std::vector<store::ApiKeyRecord> keys;
  for (const auto& [plan_id, key_id] : pairs) {
    auto key = store_.getApiKey(key_id);
    if (key) keys.push_back(std::move(*key));
  }
  return keys;
}

Result<UsageReport> UsagePlanService::usage(std::string_view plan_ref, std::string_view key_ref,
                                            std::string_view start_date,
                                            std::string_view end_date) {
  auto start = apigw::parseDate(start_date);
  auto end = apigw::parseDate(end_date);
  if (!start || !end)
    return Error::invalid(fmt::format(
        "startDate {} and endDate {} must be dates as YYYY-MM-DD (UTC), e.g. 2026-11-25",
        quoted(start_date), quoted(end_date)));
  if (*end < *start || *end - *start >= kMaxUsageReportDays)
    return Error::invalid(
        fmt::format("endDate must be on or after startDate and at most {} days later",
                    kMaxUsageReportDays - 1));
  GUST_ASSIGN_OR_RETURN(store::UsagePlanRecord plan, resolvePlan(plan_ref));
  std::vector<std::string> key_ids;
  if (!key_ref.empty()) {
    GUST_ASSIGN_OR_RETURN(store::ApiKeyRecord key, resolveKey(key_ref));
    key_ids.push_back(key.id);
  } else {
    GUST_ASSIGN_OR_RETURN(auto pairs, store_.listUsagePlanKeys(plan.id));
    for (auto& [p, k] : pairs) key_ids.push_back(std::move(k));
  }
  GUST_TRY(flush());
  apigw::PlanLimits limits = limitsOf(plan);
  // Read from the start of the quota period holding startDate, for the remaining quota.
  int64_t from = limits.quota ? apigw::periodStartDay(limits.quota->period, *start) : *start;
  UsageReport report{plan.id, apigw::formatDate(*start), apigw::formatDate(*end), {}};
  for (const auto& key_id : key_ids) {
    GUST_ASSIGN_OR_RETURN(auto rows, store_.queryUsage(plan.id, key_id, apigw::formatDate(from),
                                                       apigw::formatDate(*end)));
    std::map<int64_t, int64_t> by_day;
    for (const auto& r : rows)
      if (auto d = apigw::parseDate(r.date)) by_day[*d] += r.count;
    auto& days = report.items[key_id];
    int64_t period = std::numeric_limits<int64_t>::min();
    int64_t used_in_period = 0;
    for (int64_t d = from; d <= *end; ++d) {
      int64_t used = by_day.count(d) ? by_day[d] : 0;
      int64_t remaining = -1;
      if (limits.quota) {
        int64_t p = apigw::periodStartDay(limits.quota->period, d);
        if (p != period) {
          period = p;
          used_in_period = 0;
        }
        used_in_period += used;
        remaining = std::max<int64_t>(0, limits.quota->limitFor(p) - used_in_period);
      }
      if (d >= *start) days.emplace_back(used, remaining);
    }
  }
  return report;
}

}  // namespace gust::control
