#include "apigw/throttle.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

namespace gust::apigw {
namespace {

namespace chrono = std::chrono;

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

TokenBucket::TokenBucket(ThrottleSettings settings) : settings_(settings) {
  if (settings.rate > 0 && settings.burst > 0) {
    double rate = std::clamp(settings.rate, kMinRate, kMaxRate);
    interval_ns_ = std::max<int64_t>(1, std::llround(static_cast<double>(kNanosPerSecond) / rate));
    tolerance_ns_ = std::min(settings.burst, kMaxBurst) * interval_ns_;
  }
}

bool TokenBucket::tryAcquire(int64_t now_ns) {
  if (interval_ns_ == 0) return false;
  int64_t arrival = arrival_ns_.load(std::memory_order_relaxed);
  for (;;) {
    // The bucket is full when the theoretical arrival time is in the past; each request pushes it
    // one interval later, and a request is refused once that would put it more than `burst`
    // intervals ahead of now.
    int64_t next = std::max(arrival, now_ns) + interval_ns_;
    if (next - now_ns > tolerance_ns_) return false;
    if (arrival_ns_.compare_exchange_weak(arrival, next, std::memory_order_relaxed)) return true;
  }
}

std::string_view quotaPeriodName(QuotaPeriod period) {
  switch (period) {
    case QuotaPeriod::kDay:
      return "DAY";
    case QuotaPeriod::kWeek:
      return "WEEK";
    case QuotaPeriod::kMonth:
      return "MONTH";
  }
  return "DAY";
}

std::optional<QuotaPeriod> parseQuotaPeriod(std::string_view name) {
  for (QuotaPeriod p : {QuotaPeriod::kDay, QuotaPeriod::kWeek, QuotaPeriod::kMonth})
    if (quotaPeriodName(p) == name) return p;
  return std::nullopt;
}

int64_t epochDay(int64_t epoch_s) { return floorDiv(epoch_s, kSecondsPerDay); }

std::string formatDate(int64_t epoch_day) {
  chrono::year_month_day ymd{chrono::sys_days{chrono::days{epoch_day}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::optional<int64_t> parseDate(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  auto number = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    const char* begin = date.data() + pos;
    auto [end, ec] = std::from_chars(begin, begin + len, v);
    if (ec != std::errc() || end != begin + len) return std::nullopt;
    return v;
  };
  auto y = number(0, 4), m = number(5, 2), d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  chrono::year_month_day ymd{chrono::year{*y}, chrono::month{static_cast<unsigned>(*m)},
                             chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return chrono::sys_days{ymd}.time_since_epoch().count();
}

int64_t periodStartDay(QuotaPeriod period, int64_t epoch_day) {
  chrono::sys_days day{chrono::days{epoch_day}};
  switch (period) {
    case QuotaPeriod::kDay:
      return epoch_day;
    case QuotaPeriod::kWeek:
      return epoch_day - chrono::weekday{day}.c_encoding();  // c_encoding: 0 is Sunday
    case QuotaPeriod::kMonth: {
      chrono::year_month_day ymd{day};
      return chrono::sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch().count();
    }
  }
  return epoch_day;
}

int64_t QuotaSettings::limitFor(int64_t period_start_day) const {
  bool initial = periodStartDay(period, initial_day) == period_start_day;
  return initial ? std::max<int64_t>(0, limit - offset) : limit;
}

// --- UsageLimiter ---------------------------------------------------------------------------

namespace {

// One (plan, key) pair. Guarded by its shard's mutex.
struct PairState {
  std::string plan_id;
  std::unique_ptr<TokenBucket> bucket;  // made on the first request under a throttle
  int64_t period_start_day = std::numeric_limits<int64_t>::min();
  int64_t used = 0;  // requests allowed in the period starting on period_start_day
  int64_t pending_day = 0;
  int64_t pending = 0;  // requests allowed on pending_day, not yet drained
};

}  // namespace

struct UsageLimiter::Shard {
  mutable std::mutex mu;
  // API key id -> the plans it was used under (a key is in few plans: a short vector).
  std::unordered_map<std::string, std::vector<PairState>, StringHash, std::equal_to<>> keys;
  std::vector<DayCount> drained_days;  // pending counts of days that ended before a drain

  PairState* find(std::string_view plan_id, std::string_view key_id) {
    auto it = keys.find(key_id);
    if (it == keys.end()) return nullptr;
    for (auto& p : it->second)
      if (p.plan_id == plan_id) return &p;
    return nullptr;
  }

  PairState& get(std::string_view plan_id, std::string_view key_id) {
    auto it = keys.find(key_id);
    if (it == keys.end()) it = keys.emplace(std::string(key_id), std::vector<PairState>()).first;
    for (auto& p : it->second)
      if (p.plan_id == plan_id) return p;
    it->second.emplace_back().plan_id = std::string(plan_id);
    return it->second.back();
  }
};

UsageLimiter::UsageLimiter(size_t shards) {
  shards_.reserve(std::max<size_t>(1, shards));
  for (size_t i = 0; i < std::max<size_t>(1, shards); ++i)
    shards_.push_back(std::make_unique<Shard>());
}

UsageLimiter::~UsageLimiter() = default;

UsageLimiter::Shard& UsageLimiter::shardFor(std::string_view key_id) const {
  return *shards_[std::hash<std::string_view>{}(key_id) % shards_.size()];
}

Admission UsageLimiter::admit(std::string_view plan_id, std::string_view key_id,
                              const PlanLimits& limits, int64_t now_ns) {
  int64_t day = epochDay(floorDiv(now_ns, kNanosPerSecond));
  Shard& shard = shardFor(key_id);
  std::lock_guard lock(shard.mu);
  PairState& pair = shard.get(plan_id, key_id);
  // The quota is checked before the throttle takes a token, so a key whose quota is spent gets
  // "Limit Exceeded" however fast it calls, and burns no tokens doing so.
  if (limits.quota) {
    int64_t start = periodStartDay(limits.quota->period, day);
    if (pair.period_start_day != start) {
      pair.period_start_day = start;
      pair.used = 0;
    }
    if (pair.used >= limits.quota->limitFor(start)) return Admission::kQuotaExceeded;
  }
  if (limits.throttle) {
    if (!pair.bucket || pair.bucket->settings() != *limits.throttle)
      pair.bucket = std::make_unique<TokenBucket>(*limits.throttle);
    if (!pair.bucket->tryAcquire(now_ns)) return Admission::kThrottled;
  }
  ++pair.used;
  if (pair.pending > 0 && pair.pending_day != day) {
    shard.drained_days.push_back(
        DayCount{pair.plan_id, std::string(key_id), pair.pending_day, pair.pending});
    pair.pending = 0;
  }
  pair.pending_day = day;
  ++pair.pending;
  return Admission::kAllowed;
}

void UsageLimiter::seed(std::string_view plan_id, std::string_view key_id, int64_t period_start_day,
                        int64_t used) {
  Shard& shard = shardFor(key_id);
  std::lock_guard lock(shard.mu);
  PairState& pair = shard.get(plan_id, key_id);
  if (pair.period_start_day < period_start_day) {
    pair.period_start_day = period_start_day;
    pair.used = used;
  }
}

int64_t UsageLimiter::used(std::string_view plan_id, std::string_view key_id,
                           const PlanLimits& limits, int64_t now_ns) const {
  Shard& shard = shardFor(key_id);
  std::lock_guard lock(shard.mu);
  const PairState* pair = shard.find(plan_id, key_id);
  if (!pair) return 0;
  if (limits.quota) {
    int64_t day = epochDay(floorDiv(now_ns, kNanosPerSecond));
    if (pair->period_start_day != periodStartDay(limits.quota->period, day)) return 0;
  }
  return pair->used;
}

std::vector<DayCount> UsageLimiter::drain() {
  std::vector<DayCount> out;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    for (auto& d : shard->drained_days) out.push_back(std::move(d));
    shard->drained_days.clear();
    for (auto& [key_id, pairs] : shard->keys) {
      for (auto& p : pairs) {
        if (p.pending == 0) continue;
        out.push_back(DayCount{p.plan_id, key_id, p.pending_day, p.pending});
        p.pending = 0;
      }
    }
  }
  return out;
}

}  // namespace gust::apigw
