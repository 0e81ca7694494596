// API keys and usage plans, as API Gateway has them: keys sent in `x-api-key`, plans giving each
// of their keys a throttle (rate, burst) and a quota (per UTC day, week or month) on the API
// stages they cover, and per-key usage per day. Transport-neutral: the gateway maps the control
// API onto it, and asks `admit` about every request to an API that requires a key.
//
// Key values: generated (40 letters and digits from a CSPRNG) or given by the user (20 to 128
// printable ASCII characters, no spaces). Only their SHA-256 is stored, so a value is shown once,
// when its key is created; a lost value is replaced by a new key.
//
// Usage: the requests `admit` allows are counted in memory and added to the store's per-day
// counts by `flush` (every second on the service's own thread, and at shutdown), off the
// request's path; `start` reads back the counts of the current quota periods, so quotas survive
// a restart (a crash loses at most the last second's counts).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "apigw/throttle.h"
#include "common/result.h"
#include "store/store.h"

namespace gust::control {

inline constexpr size_t kMinApiKeyValueLength = 20;  // API Gateway's minimum
inline constexpr size_t kMaxApiKeyValueLength = 128;
inline constexpr size_t kGeneratedApiKeyValueLength = 40;
inline constexpr int kMaxUsageReportDays = 366;

// What a caller asks for when creating an API key (from the control API's JSON).
struct ApiKeyRequest {
  std::string name;
  std::string description;
  bool enabled = true;
  std::optional<std::string> value;  // nullopt: generated
};

struct CreatedApiKey {
  store::ApiKeyRecord record;
  std::string value;  // the key's value, shown this once
};

// The control API's JSON (snake_case). Parsers take untrusted input and never throw; unknown
// fields are errors.
Result<ApiKeyRequest> parseApiKeyRequest(std::string_view body);
// A usage plan to create: {"name", "description", "throttle": {"rate_limit", "burst_limit"},
// "quota": {"limit", "period", "offset"}, "api_stages": [{"api_id", "stage"}]}.
Result<store::UsagePlanRecord> parseUsagePlanRequest(std::string_view body);
std::string apiKeyToJson(const store::ApiKeyRecord& key, const std::string* value = nullptr);
std::string usagePlanToJson(const store::UsagePlanRecord& plan);
std::string apiKeysToJson(const std::vector<store::ApiKeyRecord>& keys);
std::string usagePlansToJson(const std::vector<store::UsagePlanRecord>& plans);

// API Gateway's GetUsage: per key, one [used, remaining] pair per day from start to end
// (remaining: what the key's quota had left at the end of that day; -1 without a quota).
struct UsageReport {
  std::string plan_id;
  std::string start_date;
  std::string end_date;
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> items;  // key id -> days
};
std::string usageReportToJson(const UsageReport& report);  // usagePlanId, startDate, ... items

// What `admit` decided about one request; API Gateway's answers in parentheses.
enum class KeyVerdict {
  kAllowed,
  kForbidden,      // missing, unknown or disabled key, or no plan of the key covers the stage (403)
  kThrottled,      // the plan's rate or burst for this key is exceeded (429 Too Many Requests)
  kLimitExceeded,  // the key's quota for the period is spent (429 Limit Exceeded)
};
struct KeyDecision {
  KeyVerdict verdict = KeyVerdict::kForbidden;
  std::string key_id;  // of a known key
};

struct UsagePlanServiceOptions {
  std::chrono::milliseconds flush_interval{1000};
  // Wall clock in nanoseconds since the Unix epoch (tests inject theirs).
  std::function<int64_t()> now_ns;
};

// Thread-safety: every method may be called concurrently. `admit` reads an immutable snapshot of
// keys and plans (replaced after every change) and never touches the store. `store` must outlive
// the service.
class UsagePlanService {
 public:
  explicit UsagePlanService(store::Store& store, UsagePlanServiceOptions options = {});
  // Stops the flushing thread and flushes what is left.
  ~UsagePlanService();

  // Loads keys, plans and the usage of the current quota periods; starts flushing (unless the
  // flush interval is zero). Call once, before `admit`.
  Status start();

  // API keys. `ref` is a key's id or name.
  Result<CreatedApiKey> createApiKey(ApiKeyRequest request);
  Result<std::vector<store::ApiKeyRecord>> listApiKeys();
  Result<store::ApiKeyRecord> getApiKey(std::string_view ref);
  Result<store::ApiKeyRecord> setApiKeyEnabled(std::string_view ref, bool enabled);
  Status deleteApiKey(std::string_view ref);

  // Usage plans. `ref` is a plan's id or name. A key may be in several plans, but in only one
  // that covers a given API stage (kAlreadyExists otherwise), so each request has one plan.
  Result<store::UsagePlanRecord> createUsagePlan(store::UsagePlanRecord plan);
  Result<std::vector<store::UsagePlanRecord>> listUsagePlans();
  Result<store::UsagePlanRecord> getUsagePlan(std::string_view ref);
  Status deleteUsagePlan(std::string_view ref);
  Status addKeyToPlan(std::string_view plan_ref, std::string_view key_ref);
  Status removeKeyFromPlan(std::string_view plan_ref, std::string_view key_ref);
  Result<std::vector<store::ApiKeyRecord>> planKeys(std::string_view plan_ref);
  // Dates are YYYY-MM-DD (UTC), inclusive, at most kMaxUsageReportDays apart; `key_ref` empty:
  // every key of the plan. Flushes first, so the report includes requests just made.
  Result<UsageReport> usage(std::string_view plan_ref, std::string_view key_ref,
                            std::string_view start_date, std::string_view end_date);

  // The request path: checks `api_key` (the x-api-key header's value; empty when absent) for a
  // request to `stage` of `api_id`, applies the key's plan's throttle and quota, and counts it.
  KeyDecision admit(std::string_view api_key, std::string_view api_id, std::string_view stage);

  // Adds the counted requests to the store.
  Status flush();

 private:
  struct Index;
  int64_t nowNs() const;
  Status reload();  // rebuilds the snapshot from the store; callers hold write_mu_
  Result<store::ApiKeyRecord> resolveKey(std::string_view ref);
  Result<store::UsagePlanRecord> resolvePlan(std::string_view ref);
  // Declares the stored usage of the current period of each (plan, key) pair given.
  Status seedUsage(const store::UsagePlanRecord& plan, std::string_view key_id);

  store::Store& store_;
  UsagePlanServiceOptions options_;
  apigw::UsageLimiter limiter_;
  std::mutex write_mu_;  // serialises changes, so snapshots are rebuilt in order
  std::atomic<std::shared_ptr<const Index>> index_;
  std::mutex flush_mu_;  // one flush at a time (drained counts are written in order)
  std::vector<store::UsageRecord> unflushed_;  // drained, not yet stored; guarded by flush_mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace gust::control
