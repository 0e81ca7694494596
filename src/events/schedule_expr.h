// EventBridge schedule expressions, exactly as EventBridge defines them:
//
//   rate(VALUE UNIT)   VALUE a whole number >= 1; UNIT minute | hour | day when VALUE is 1, else
//                      minutes | hours | days. The first run is one period after the anchor (the
//                      schedule's creation), then every period.
//   cron(MINUTES HOURS DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)
//                      six fields, in UTC:
//                        minutes       0-59                  , - * /
//                        hours         0-23                  , - * /
//                        day-of-month  1-31                  , - * ? / L W
//                        month         1-12 or JAN-DEC       , - * /
//                        day-of-week   1-7 or SUN-SAT        , - * ? L #
//                        year          1970-2199             , - * /
//                      one of day-of-month and day-of-week must be '?' (and only one).
//                      L: the last day of the month (day-of-month; LW: its last weekday), the
//                      last given weekday of the month (day-of-week, 6L: the last Friday; L
//                      alone: Saturday). nW: the weekday nearest day n, within the month. n#k:
//                      the k-th weekday n of the month (2#1: the first Monday). L, W and # stand
//                      alone in their field. Ranges may wrap (hours 22-2; FRI-MON), except years.
//
// Parsing takes untrusted input (API, CLI, gust.yaml): it never throws, bounds its work, and
// its errors say what is wrong and show a valid example. Immutable once parsed; copyable and
// safe to share between threads.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::events {

inline constexpr size_t kMaxScheduleExpressionLength = 256;  // EventBridge's limit
inline constexpr int kFirstCronYear = 1970;
inline constexpr int kLastCronYear = 2199;

class ScheduleExpression {
 public:
  static Result<ScheduleExpression> parse(std::string_view text);

  // The first time strictly after `after_ms` (epoch milliseconds, UTC) at which the schedule
  // fires, or nullopt if it never fires after it (a cron expression past its last year).
  // Rate expressions fire at anchor_ms + k * period for k >= 1; cron expressions ignore
  // `anchor_ms` and fire at whole minutes.
  std::optional<int64_t> nextFire(int64_t after_ms, int64_t anchor_ms) const;

  const std::string& text() const { return text_; }
  bool isRate() const { return rate_period_ms_ > 0; }
  int64_t ratePeriodMs() const { return rate_period_ms_; }

 private:
  friend class CronParser;

  enum class DayOfMonth { kAny, kSet, kLast, kLastWeekday, kNearestWeekday };
  enum class DayOfWeek { kAny, kSet, kLastOf, kNth };

  bool dayMatches(int year, unsigned month, unsigned day) const;

  std::string text_;
  int64_t rate_period_ms_ = 0;  // > 0: a rate expression
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31, for DayOfMonth::kSet
  std::bitset<13> months_;   // 1-12
  std::bitset<8> weekdays_;  // 1-7 (SUN-SAT), for DayOfWeek::kSet
  std::bitset<kLastCronYear - kFirstCronYear + 1> years_;
  DayOfMonth dom_kind_ = DayOfMonth::kAny;
  DayOfWeek dow_kind_ = DayOfWeek::kAny;
  int dom_value_ = 0;  // kNearestWeekday: the day
  int dow_value_ = 0;  // kLastOf, kNth: the weekday (1-7)
  int dow_nth_ = 0;    // kNth: which one (1-5)
};

// Epoch milliseconds as EventBridge writes an event's time: 2026-11-25T12:00:00Z.
std::string eventTime(int64_t epoch_ms);

}  // namespace gust::events
