// Throttling and quotas as API Gateway applies them: a token bucket per rate/burst pair (the
// account's, and each API key's under its usage plan), and request quotas per UTC day, week or
// month. Pure and thread-safe; the caller passes the time, so tests drive a clock of their own.
//
// The warm path costs one compare-and-swap for the account's bucket and one short lock of the
// shard that holds the API key (keys hash to independent shards, so unrelated keys do not wait
// for each other).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gust::apigw {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kSecondsPerDay = 86'400;

// A steady request rate (requests per second, fractions allowed) with bursts of up to `burst`
// requests at once: API Gateway's throttle (rateLimit, burstLimit). A rate or burst of 0 throttles
// every request.
struct ThrottleSettings {
  double rate = 0;
  int64_t burst = 0;

  bool operator==(const ThrottleSettings&) const = default;
};

// The limits a usage plan, or the account, may be given.
inline constexpr double kMinRate = 0.001;  // one request every 1000 s; smaller (but 0) is refused
inline constexpr double kMaxRate = 10'000'000;
inline constexpr int64_t kMaxBurst = 1'000'000;

// A token bucket of `burst` tokens refilled at `rate` per second, starting full, implemented as
// the generic cell rate algorithm: one atomic "theoretical arrival time", so tryAcquire is a
// compare-and-swap loop without locks. Thread-safe.
class TokenBucket {
 public:
  explicit TokenBucket(ThrottleSettings settings);

  // Takes a token at `now_ns` (any monotonic or wall clock in nanoseconds, the same for every
  // call); false when the bucket is empty (the request is throttled).
  bool tryAcquire(int64_t now_ns);

  const ThrottleSettings& settings() const { return settings_; }

 private:
  ThrottleSettings settings_;
  int64_t interval_ns_ = 0;   // time to earn one token; 0: every request is throttled
  int64_t tolerance_ns_ = 0;  // burst * interval: how far ahead of now the arrival time may run
  std::atomic<int64_t> arrival_ns_{0};
};

enum class QuotaPeriod { kDay, kWeek, kMonth };

std::string_view quotaPeriodName(QuotaPeriod period);  // "DAY", "WEEK", "MONTH"
std::optional<QuotaPeriod> parseQuotaPeriod(std::string_view name);

// Days since 1970-01-01 (UTC) of the epoch second `epoch_s`, and back.
int64_t epochDay(int64_t epoch_s);
// "2026-11-25" for an epoch day; parseDate is its inverse (nullopt unless YYYY-MM-DD is a date).
std::string formatDate(int64_t epoch_day);
std::optional<int64_t> parseDate(std::string_view date);

// The first day of the quota period that contains `epoch_day`, in UTC as API Gateway counts:
// DAY the day itself, WEEK the Sunday before (or on) it, MONTH the 1st of its month.
int64_t periodStartDay(QuotaPeriod period, int64_t epoch_day);

// A quota: `limit` requests per period. In the period containing `initial_day` (the day the
// usage plan was created), `offset` requests less are allowed (API Gateway's offset).
struct QuotaSettings {
  int64_t limit = 0;
  QuotaPeriod period = QuotaPeriod::kDay;
  int64_t offset = 0;
  int64_t initial_day = 0;

  // The limit of the period that starts on `period_start_day`.
  int64_t limitFor(int64_t period_start_day) const;

  bool operator==(const QuotaSettings&) const = default;
};

// What one usage plan imposes on each of its keys.
struct PlanLimits {
  std::optional<ThrottleSettings> throttle;
  std::optional<QuotaSettings> quota;
};

enum class Admission { kAllowed, kThrottled, kQuotaExceeded };

// Requests allowed for one key under one plan on one UTC day.
struct DayCount {
  std::string plan_id;
  std::string key_id;
  int64_t epoch_day = 0;
  int64_t count = 0;

  bool operator==(const DayCount&) const = default;
};

// The throttle and quota state of every (usage plan, API key) pair, and the requests each
// allowed, per day, until they are drained (to be stored). Thread-safe; state for a pair is made
// on its first request and lives as long as the limiter.
class UsageLimiter {
 public:
  explicit UsageLimiter(size_t shards = 64);
  ~UsageLimiter();

  // Admits one request of `key_id` under `plan_id` at wall-clock `now_ns` (nanoseconds since
  // the Unix epoch: quota periods are UTC dates): first the plan's throttle (rate and burst, per
  // key), then its quota. An allowed request is counted; a refused one is not.
  Admission admit(std::string_view plan_id, std::string_view key_id, const PlanLimits& limits,
                  int64_t now_ns);

  // Declares that `used` requests were already allowed in the quota period starting on
  // `period_start_day` (read back from the store, so quotas survive a restart). Ignored when the
  // limiter already counts the pair in that period or a later one: what it counted itself since
  // it started is in the store already or about to be.
  void seed(std::string_view plan_id, std::string_view key_id, int64_t period_start_day,
            int64_t used);

  // Requests counted in the current quota period (0 for a pair never seen, or whose period has
  // ended by `now_ns`).
  int64_t used(std::string_view plan_id, std::string_view key_id, const PlanLimits& limits,
               int64_t now_ns) const;

  // The requests allowed since the last drain, per pair and day (order unspecified).
  std::vector<DayCount> drain();

 private:
  struct Shard;
  Shard& shardFor(std::string_view key_id) const;

  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace gust::apigw
