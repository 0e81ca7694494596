#include "apigw/throttle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace gust::apigw {
namespace {

constexpr int64_t kSecond = kNanosPerSecond;

// Nanoseconds since the epoch of a UTC date and time.
int64_t at(std::string_view date, int64_t seconds_into_day = 0) {
  auto day = parseDate(date);
  EXPECT_TRUE(day) << date;
  return ((day ? *day : 0) * kSecondsPerDay + seconds_into_day) * kSecond;
}

int64_t day(std::string_view date) { return *parseDate(date); }

TEST(TokenBucketTest, AllowsTheBurstAtOnceThenTheRate) {
  TokenBucket bucket({1, 3});
  int64_t t0 = at("2026-11-25", 3600);
  EXPECT_TRUE(bucket.tryAcquire(t0));
  EXPECT_TRUE(bucket.tryAcquire(t0));
  EXPECT_TRUE(bucket.tryAcquire(t0));
  EXPECT_FALSE(bucket.tryAcquire(t0));
  EXPECT_FALSE(bucket.tryAcquire(t0 + kSecond - 1));  // a token takes a whole second
  EXPECT_TRUE(bucket.tryAcquire(t0 + kSecond));
  EXPECT_FALSE(bucket.tryAcquire(t0 + kSecond));
  // Idle time refills up to the burst, never beyond.
  int64_t later = t0 + 100 * kSecond;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += bucket.tryAcquire(later);
  EXPECT_EQ(allowed, 3);
}

TEST(TokenBucketTest, FractionalRates) {
  TokenBucket bucket({0.5, 1});
  int64_t t0 = at("2026-11-25");
  EXPECT_TRUE(bucket.tryAcquire(t0));
  EXPECT_FALSE(bucket.tryAcquire(t0 + kSecond));
  EXPECT_TRUE(bucket.tryAcquire(t0 + 2 * kSecond));
}

TEST(TokenBucketTest, RateOrBurstZeroThrottlesEverything) {
  TokenBucket no_rate({0, 10});
  TokenBucket no_burst({10, 0});
  int64_t t0 = at("2026-11-25");
  EXPECT_FALSE(no_rate.tryAcquire(t0));
  EXPECT_FALSE(no_burst.tryAcquire(t0 + 1000 * kSecond));
}

TEST(TokenBucketTest, ConcurrentCallersShareTheBurstExactly) {
  TokenBucket bucket({0.001, 1000});
  int64_t t0 = at("2026-11-25");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) allowed += bucket.tryAcquire(t0) ? 1 : 0;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(QuotaPeriodTest, Names) {
  EXPECT_EQ(parseQuotaPeriod("WEEK"), QuotaPeriod::kWeek);
  EXPECT_EQ(quotaPeriodName(QuotaPeriod::kMonth), "MONTH");
  EXPECT_FALSE(parseQuotaPeriod("week"));
  EXPECT_FALSE(parseQuotaPeriod("YEAR"));
}

TEST(QuotaPeriodTest, DatesRoundTripAndInvalidOnesAreRefused) {
  EXPECT_EQ(day("1970-01-01"), 0);
  EXPECT_EQ(formatDate(day("2028-02-29")), "2028-02-29");
  EXPECT_EQ(formatDate(day("2026-12-31") + 1), "2027-01-01");
  for (std::string_view bad : {"2026-02-29", "2026-13-01", "2026-1-01", "2026/01/01", "",
                               "2026-01-01T00:00:00Z", "abcd-ef-gh"})
    EXPECT_FALSE(parseDate(bad)) << bad;
  EXPECT_EQ(epochDay(-1), -1);  // before the epoch, days round down
}

TEST(QuotaPeriodTest, PeriodStartsInUtc) {
  EXPECT_EQ(periodStartDay(QuotaPeriod::kDay, day("2026-11-25")), day("2026-11-25"));
  // 2026-11-25 is a Wednesday; weeks start on Sunday, also across months and years.
  EXPECT_EQ(periodStartDay(QuotaPeriod::kWeek, day("2026-11-25")), day("2026-11-22"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kWeek, day("2026-11-22")), day("2026-11-22"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kWeek, day("2026-11-28")), day("2026-11-22"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kWeek, day("2027-01-01")), day("2026-12-27"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kMonth, day("2026-01-31")), day("2026-01-01"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kMonth, day("2026-02-01")), day("2026-02-01"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kMonth, day("2028-02-29")), day("2028-02-01"));
  EXPECT_EQ(periodStartDay(QuotaPeriod::kMonth, day("2026-12-31")), day("2026-12-01"));
}

TEST(QuotaSettingsTest, OffsetLowersOnlyTheInitialPeriod) {
  QuotaSettings q{10, QuotaPeriod::kMonth, 4, day("2026-11-20")};
  EXPECT_EQ(q.limitFor(day("2026-11-01")), 6);
  EXPECT_EQ(q.limitFor(day("2026-12-01")), 10);
  q.offset = 50;
  EXPECT_EQ(q.limitFor(day("2026-11-01")), 0);
}

PlanLimits quota(int64_t limit, QuotaPeriod period) {
  return PlanLimits{std::nullopt, QuotaSettings{limit, period, 0, 0}};
}

// Requests allowed out of `n` at time `t`.
int admitN(UsageLimiter& limiter, std::string_view key, const PlanLimits& limits, int64_t t, int n,
           Admission* last = nullptr) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) {
    Admission a = limiter.admit("plan", key, limits, t);
    allowed += a == Admission::kAllowed;
    if (last) *last = a;
  }
  return allowed;
}

TEST(UsageLimiterTest, DailyQuotaResetsAtUtcMidnight) {
  UsageLimiter limiter;
  auto limits = quota(3, QuotaPeriod::kDay);
  Admission last{};
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-25", 10), 5, &last), 3);
  EXPECT_EQ(last, Admission::kQuotaExceeded);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-25", kSecondsPerDay - 1), 1), 0);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-26"), 5), 3);
  EXPECT_EQ(limiter.used("plan", "k", limits, at("2026-11-26", 5)), 3);
  EXPECT_EQ(limiter.used("plan", "k", limits, at("2026-11-27")), 0);
}

TEST(UsageLimiterTest, WeeklyQuotaResetsOnSunday) {
  UsageLimiter limiter;
  auto limits = quota(4, QuotaPeriod::kWeek);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-23"), 2), 2);         // Monday
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-28", 86399), 5), 2);  // Saturday
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-29"), 5), 4);         // Sunday: a new week
}

TEST(UsageLimiterTest, MonthlyQuotaAcrossMonthBoundaries) {
  UsageLimiter limiter;
  auto limits = quota(2, QuotaPeriod::kMonth);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2028-02-01"), 1), 1);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2028-02-29", 86399), 3), 1);  // leap day: February
  EXPECT_EQ(admitN(limiter, "k", limits, at("2028-03-01"), 3), 2);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2028-12-31", 86399), 3), 2);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2029-01-01"), 3), 2);
}

TEST(UsageLimiterTest, OffsetAppliesToTheFirstPeriod) {
  UsageLimiter limiter;
  PlanLimits limits{std::nullopt, QuotaSettings{5, QuotaPeriod::kDay, 3, day("2026-11-25")}};
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-25"), 10), 2);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-26"), 10), 5);
}

TEST(UsageLimiterTest, ThrottleIsPerKeyAndRefusedRequestsAreNotCounted) {
  UsageLimiter limiter;
  PlanLimits limits{ThrottleSettings{0.001, 3}, QuotaSettings{100, QuotaPeriod::kDay, 0, 0}};
  int64_t t = at("2026-11-25", 100);
  Admission last{};
  EXPECT_EQ(admitN(limiter, "a", limits, t, 5, &last), 3);
  EXPECT_EQ(last, Admission::kThrottled);
  EXPECT_EQ(admitN(limiter, "b", limits, t, 5), 3);  // another key has its own bucket
  EXPECT_EQ(limiter.used("plan", "a", limits, t), 3);
  EXPECT_EQ(limiter.admit("other-plan", "a", limits, t), Admission::kAllowed);
}

TEST(UsageLimiterTest, ASpentQuotaTakesNoTokens) {
  UsageLimiter limiter;
  PlanLimits limits{ThrottleSettings{0.001, 2}, QuotaSettings{1, QuotaPeriod::kDay, 0, 0}};
  int64_t t = at("2026-11-25", 100);
  EXPECT_EQ(limiter.admit("plan", "k", limits, t), Admission::kAllowed);
  EXPECT_EQ(limiter.admit("plan", "k", limits, t), Admission::kQuotaExceeded);
  EXPECT_EQ(limiter.admit("plan", "k", limits, t), Admission::kQuotaExceeded);
  // Without the quota, the same bucket still has its second token, and only that one.
  PlanLimits throttle_only{limits.throttle, std::nullopt};
  EXPECT_EQ(limiter.admit("plan", "k", throttle_only, t), Admission::kAllowed);
  EXPECT_EQ(limiter.admit("plan", "k", throttle_only, t), Admission::kThrottled);
}

TEST(UsageLimiterTest, SeededUsageCountsAgainstTheQuota) {
  UsageLimiter limiter;
  auto limits = quota(10, QuotaPeriod::kMonth);
  limiter.seed("plan", "k", day("2026-11-01"), 8);
  limiter.seed("plan", "k", day("2026-10-01"), 100);  // an older period changes nothing
  limiter.seed("plan", "k", day("2026-11-01"), 100);  // nor does the same one, once counted
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-11-25"), 5), 2);
  EXPECT_EQ(admitN(limiter, "k", limits, at("2026-12-01"), 5), 5);
}

TEST(UsageLimiterTest, DrainReportsAllowedRequestsPerDayOnce) {
  UsageLimiter limiter;
  PlanLimits unlimited;
  admitN(limiter, "k", unlimited, at("2026-11-25", 86399), 2);
  admitN(limiter, "k", unlimited, at("2026-11-26", 1), 3);
  admitN(limiter, "j", unlimited, at("2026-11-26", 1), 1);
  auto counts = limiter.drain();
  std::sort(counts.begin(), counts.end(), [](const DayCount& a, const DayCount& b) {
    return std::tie(a.key_id, a.epoch_day) < std::tie(b.key_id, b.epoch_day);
  });
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0], (DayCount{"plan", "j", day("2026-11-26"), 1}));
  EXPECT_EQ(counts[1], (DayCount{"plan", "k", day("2026-11-25"), 2}));
  EXPECT_EQ(counts[2], (DayCount{"plan", "k", day("2026-11-26"), 3}));
  EXPECT_TRUE(limiter.drain().empty());
  admitN(limiter, "k", unlimited, at("2026-11-26", 2), 1);
  EXPECT_EQ(limiter.drain(), (std::vector<DayCount>{{"plan", "k", day("2026-11-26"), 1}}));
}

TEST(UsageLimiterTest, ConcurrentKeysCountExactly) {
  UsageLimiter limiter(4);
  auto limits = quota(1000, QuotaPeriod::kDay);
  int64_t t = at("2026-11-25");
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&, th] {
      for (int i = 0; i < 600; ++i) {
        std::string key = "key" + std::to_string((i + th) % 3);
        allowed += limiter.admit("plan", key, limits, t) == Admission::kAllowed;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 2400);  // 800 per key, under the quota
  int64_t total = 0;
  for (const auto& c : limiter.drain()) total += c.count;
  EXPECT_EQ(total, 2400);
}

}  // namespace
}  // namespace gust::apigw
