// Parser and next-fire computation of EventBridge schedule expressions (see the header for the
// grammar). Fields are parsed into bit sets; the next fire time is a search over years, months,
// days, hours and minutes that skips whatever a field excludes, so it is bounded by the years
// 1970-2199 (at most ~85 000 day checks) whatever the expression.
#include "events/schedule_expr.h"

#include <array>
#include <chrono>
#include <ctime>
#include <vector>

#include <fmt/format.h>

namespace gust::events {
namespace {

constexpr std::string_view kExamples =
    "for example rate(5 minutes), rate(1 hour), cron(0 12 * * ? *) or cron(0/15 8-17 ? * MON-FRI "
    "*)";
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kMaxRateValue = 1'000'000'000;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

// What is shown of the user's text in an error: bounded, control bytes escaped.
std::string shown(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > 80) out += "...";
  return out;
}

Error invalidExpression(std::string_view text, std::string_view why) {
  return Error::invalid(
      fmt::format("schedule expression '{}': {}; {}", shown(text), why, kExamples));
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> splitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !isSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// A whole number of at most 9 digits; nullopt otherwise.
std::optional<int64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::string_view allowed;  // for errors: values and wildcards
  std::string_view example;  // a valid value of this field
  const std::string_view* names = nullptr;
  size_t name_count = 0;
  bool slash = true;  // '/' is allowed
  bool wraps = true;  // a range may wrap past the maximum
};

constexpr FieldSpec kMinutes{"minutes", 0, 59, "0-59 with , - * /", "0/15"};
constexpr FieldSpec kHours{"hours", 0, 23, "0-23 with , - * /", "8-17"};
constexpr FieldSpec kDaysOfMonth{"day-of-month", 1, 31, "1-31 with , - * ? / L W", "1,15"};
constexpr FieldSpec kMonths{
    "month", 1, 12, "1-12 or JAN-DEC with , - * /", "JAN-MAR", kMonthNames.data(), 12};
constexpr FieldSpec kDaysOfWeek{
    "day-of-week", 1, 7, "1-7 or SUN-SAT with , - * ? L #", "MON-FRI", kDayNames.data(), 7, false};
constexpr FieldSpec kYears{
    "year", kFirstCronYear, kLastCronYear, "1970-2199 with , - * /", "*", nullptr, 0, true, false};

}  // namespace

// Parses the six cron fields into a ScheduleExpression (a friend, so it can fill the bit sets).
class CronParser {
 public:
  CronParser(std::string_view text, ScheduleExpression& out) : text_(text), out_(out) {}

  Status parse(std::string_view inner) {
    auto fields = splitFields(inner);
    if (fields.size() != 6)
      return invalidExpression(
          text_, fmt::format("a cron expression has six fields (minutes hours day-of-month month "
                             "day-of-week year), this one has {}",
                             fields.size()));
    GUST_TRY(parseSet(kMinutes, fields[0], [&](int v) { out_.minutes_.set(v); }));
    GUST_TRY(parseSet(kHours, fields[1], [&](int v) { out_.hours_.set(v); }));
    GUST_TRY(parseDayOfMonth(fields[2]));
    GUST_TRY(parseSet(kMonths, fields[3], [&](int v) { out_.months_.set(v); }));
    GUST_TRY(parseDayOfWeek(fields[4]));
    GUST_TRY(parseSet(kYears, fields[5], [&](int v) { out_.years_.set(v - kFirstCronYear); }));
    bool dom_any = out_.dom_kind_ == ScheduleExpression::DayOfMonth::kAny;
    bool dow_any = out_.dow_kind_ == ScheduleExpression::DayOfWeek::kAny;
    if (dom_any == dow_any)
      return invalidExpression(
          text_, dom_any ? "day-of-month and day-of-week are both '?'; give one of them a value "
                           "(or *), e.g. cron(0 12 * * ? *)"
                         : "day-of-month and day-of-week cannot both have a value: put '?' in "
                           "one of them, e.g. cron(0 12 * * ? *) or cron(0 18 ? * MON-FRI *)");
    return okStatus();
  }

 private:
  Error fieldError(const FieldSpec& spec, std::string_view field, std::string_view why) const {
    return invalidExpression(
        text_, fmt::format("{} field '{}': {}; allowed: {}, e.g. {}", spec.name, shown(field), why,
                           spec.allowed, spec.example));
  }

  Result<int> value(const FieldSpec& spec, std::string_view field, std::string_view s) const {
    if (spec.names) {
      for (size_t i = 0; i < spec.name_count; ++i) {
        std::string_view name = spec.names[i];
        if (s.size() == name.size()) {
          bool same = true;
          for (size_t j = 0; j < s.size() && same; ++j)
            same = (s[j] & ~0x20) == name[j];  // ASCII letters, either case
          if (same) return static_cast<int>(i) + spec.min;
        }
      }
    }
    auto n = number(s);
    if (!n)
      return fieldError(spec, field,
                        s.empty() ? std::string("a value is missing")
                                  : fmt::format("'{}' is not a value of this field", shown(s)));
    if (*n < spec.min || *n > spec.max)
      return fieldError(spec, field,
                        fmt::format("{} is out of range {}-{}", *n, spec.min, spec.max));
    return static_cast<int>(*n);
  }

  // A list of *, values, ranges and increments.
  template <class Add>
  Status parseSet(const FieldSpec& spec, std::string_view field, Add add) {
    if (field == "?")
      return fieldError(spec, field,
                        "'?' is only allowed in day-of-month and "
                        "day-of-week");
    size_t start = 0;
    for (;;) {
      size_t comma = field.find(',', start);
      std::string_view item =
          field.substr(start, comma == std::string_view::npos ? comma : comma - start);
      GUST_TRY(parseItem(spec, field, item, add));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return okStatus();
  }

  template <class Add>
  Status parseItem(const FieldSpec& spec, std::string_view field, std::string_view item, Add add) {
    if (item.empty()) return fieldError(spec, field, "has an empty list item");
    int step = 1;
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      if (!spec.slash) return fieldError(spec, field, "'/' is not allowed in this field");
      std::string_view step_text = item.substr(slash + 1);
      auto n = number(step_text);
      if (!n || *n < 1 || *n > spec.max)
        return fieldError(spec, field,
                          fmt::format("the increment '{}' must be a number from 1 to {}",
                                      shown(step_text), spec.max));
      step = static_cast<int>(*n);
      item = item.substr(0, slash);
    }
    int first = spec.min;
    int last = spec.max;
    if (item == "*") {
      // every value (from the minimum, with the increment)
    } else {
      size_t dash = item.find('-');
      GUST_ASSIGN_OR_RETURN(first, value(spec, field, item.substr(0, dash)));
      if (dash != std::string_view::npos) {
        GUST_ASSIGN_OR_RETURN(last, value(spec, field, item.substr(dash + 1)));
      } else if (slash == std::string_view::npos) {
        last = first;  // a single value; "a/s" runs from a to the maximum
      }
    }
    if (last < first && !spec.wraps)
      return fieldError(
          spec, field,
          fmt::format("the range {}-{} runs backwards; write it low-high", first, last));
    // A wrapping range (22-2) runs past the maximum and continues from the minimum.
    int span = spec.max - spec.min + 1;
    int end = last < first ? last + span : last;
    for (int v = first; v <= end; v += step) add(v > spec.max ? v - span : v);
    return okStatus();
  }

  Status parseDayOfMonth(std::string_view field) {
    using Kind = ScheduleExpression::DayOfMonth;
    if (field == "?") return okStatus();  // kAny
    bool special = field.find_first_of("LWlw") != std::string_view::npos;
    if (!special) {
      out_.dom_kind_ = Kind::kSet;
      return parseSet(kDaysOfMonth, field, [&](int v) { out_.days_.set(v); });
    }
    if (field == "L" || field == "l") {
      out_.dom_kind_ = Kind::kLast;
      return okStatus();
    }
    if (field == "LW" || field == "lw") {
      out_.dom_kind_ = Kind::kLastWeekday;
      return okStatus();
    }
    if (field.size() >= 2 && (field.back() == 'W' || field.back() == 'w')) {
      auto n = number(field.substr(0, field.size() - 1));
      if (n && *n >= 1 && *n <= 31) {
        out_.dom_kind_ = Kind::kNearestWeekday;
        out_.dom_value_ = static_cast<int>(*n);
        return okStatus();
      }
    }
    return fieldError(kDaysOfMonth, field,
                      "L and W stand alone: L (the last day), LW (the last weekday) or nW (the "
                      "weekday nearest day n, e.g. 15W)");
  }

  Status parseDayOfWeek(std::string_view field) {
    using Kind = ScheduleExpression::DayOfWeek;
    if (field == "?") return okStatus();  // kAny
    size_t hash = field.find('#');
    // No day name contains an L, so an L anywhere is the wildcard.
    if (field.find_first_of("#Ll") == std::string_view::npos) {
      out_.dow_kind_ = Kind::kSet;
      return parseSet(kDaysOfWeek, field, [&](int v) { out_.weekdays_.set(v); });
    }
    constexpr std::string_view kAlone =
        "L and # stand alone in day-of-week: L (Saturday, the last day of the week), nL (the last "
        "weekday n of the month, e.g. 6L) or n#k (the k-th weekday n, e.g. 3#2); a list such as "
        "3#1,6#3 is not allowed";
    bool last = field.back() == 'L' || field.back() == 'l';
    if (field.find_first_of(",-/") != std::string_view::npos ||
        (hash == std::string_view::npos) != last)
      return fieldError(kDaysOfWeek, field, kAlone);
    if (hash != std::string_view::npos) {
      GUST_ASSIGN_OR_RETURN(int day, value(kDaysOfWeek, field, field.substr(0, hash)));
      auto nth = number(field.substr(hash + 1));
      if (!nth || *nth < 1 || *nth > 5)
        return fieldError(kDaysOfWeek, field,
                          "the number after # must be 1 to 5 (the first to fifth such weekday "
                          "of the month)");
      out_.dow_kind_ = Kind::kNth;
      out_.dow_value_ = day;
      out_.dow_nth_ = static_cast<int>(*nth);
      return okStatus();
    }
    if (field.size() == 1) {  // "L": the last day of the week, Saturday
      out_.dow_kind_ = Kind::kSet;
      out_.weekdays_.set(7);
      return okStatus();
    }
    GUST_ASSIGN_OR_RETURN(int day, value(kDaysOfWeek, field, field.substr(0, field.size() - 1)));
    out_.dow_kind_ = Kind::kLastOf;
    out_.dow_value_ = day;
    return okStatus();
  }

  std::string_view text_;
  ScheduleExpression& out_;
};

namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;
using std::chrono::year_month_day_last;

unsigned lastDay(int y, unsigned m) {
  return static_cast<unsigned>(
      year_month_day_last(year(y), std::chrono::month_day_last(month(m))).day());
}

// 1 = Sunday ... 7 = Saturday, as cron's day-of-week counts.
int weekday(int y, unsigned m, unsigned d) {
  return static_cast<int>(std::chrono::weekday(sys_days(year_month_day(year(y), month(m), day(d))))
                              .c_encoding()) +
         1;
}

int64_t epochMs(int y, unsigned m, unsigned d, int hour, int minute) {
  auto date = sys_days(year_month_day(year(y), month(m), day(d)));
  return (static_cast<int64_t>(date.time_since_epoch().count()) * 1440 + hour * 60 + minute) *
         kMinuteMs;
}

}  // namespace

bool ScheduleExpression::dayMatches(int y, unsigned m, unsigned d) const {
  unsigned last = lastDay(y, m);
  switch (dom_kind_) {
    case DayOfMonth::kAny:
      break;
    case DayOfMonth::kSet:
      return days_.test(d);
    case DayOfMonth::kLast:
      return d == last;
    case DayOfMonth::kLastWeekday: {
      int wd = weekday(y, m, last);
      unsigned target = wd == 7 ? last - 1 : wd == 1 ? last - 2 : last;
      return d == target;
    }
    case DayOfMonth::kNearestWeekday: {
      auto n = static_cast<unsigned>(dom_value_);
      if (n > last) return false;  // the month has no such day
      int wd = weekday(y, m, n);
      unsigned target = n;
      if (wd == 7) target = n == 1 ? 3 : n - 1;         // Saturday: Friday, or Monday the 3rd
      if (wd == 1) target = n == last ? n - 2 : n + 1;  // Sunday: Monday, or the Friday before
      return d == target;
    }
  }
  int wd = weekday(y, m, d);
  switch (dow_kind_) {
    case DayOfWeek::kAny:
      return true;  // not reached: one of the two fields is not '?'
    case DayOfWeek::kSet:
      return weekdays_.test(static_cast<size_t>(wd));
    case DayOfWeek::kLastOf:
      return wd == dow_value_ && d + 7 > last;
    case DayOfWeek::kNth:
      return wd == dow_value_ && static_cast<int>((d - 1) / 7 + 1) == dow_nth_;
  }
  return false;
}

Result<ScheduleExpression> ScheduleExpression::parse(std::string_view text) {
  if (text.size() > kMaxScheduleExpressionLength)
    return invalidExpression(text, fmt::format("is {} characters long; at most {} are allowed",
                                               text.size(), kMaxScheduleExpressionLength));
  ScheduleExpression out;
  out.text_ = std::string(text);
  bool rate = text.starts_with("rate(");
  bool cron = text.starts_with("cron(");
  if (!rate && !cron)
    return invalidExpression(text, "must be rate(value unit) or cron(six fields)");
  if (!text.ends_with(")")) return invalidExpression(text, "is missing its closing ')'");
  std::string_view inner = text.substr(5, text.size() - 6);
  if (inner.find_first_of("()") != std::string_view::npos)
    return invalidExpression(text, "has a parenthesis inside the expression");
  if (cron) {
    GUST_TRY(CronParser(text, out).parse(inner));
    return out;
  }
  auto fields = splitFields(inner);
  if (fields.size() != 2)
    return invalidExpression(text, "a rate expression is rate(value unit), e.g. rate(5 minutes)");
  auto value = number(fields[0]);
  if (!value)
    return invalidExpression(text,
                             fmt::format("the value '{}' is not a whole number", shown(fields[0])));
  if (*value < 1 || *value > kMaxRateValue)
    return invalidExpression(
        text, fmt::format("the value {} is out of range; allowed: 1 to {}", *value, kMaxRateValue));
  std::string_view unit = fields[1];
  int64_t unit_ms = 0;
  std::string_view singular;
  if (unit == "minute" || unit == "minutes") {
    unit_ms = kMinuteMs, singular = "minute";
  } else if (unit == "hour" || unit == "hours") {
    unit_ms = 60 * kMinuteMs, singular = "hour";
  } else if (unit == "day" || unit == "days") {
    unit_ms = 1440 * kMinuteMs, singular = "day";
  } else {
    return invalidExpression(
        text, fmt::format("the unit '{}' is not one of minute, minutes, hour, hours, day, days",
                          shown(unit)));
  }
  bool plural = unit.size() != singular.size();
  if (*value == 1 && plural)
    return invalidExpression(
        text, fmt::format("with the value 1 the unit is singular: rate(1 {})", singular));
  if (*value > 1 && !plural)
    return invalidExpression(text, fmt::format("with a value above 1 the unit is plural: "
                                               "rate({} {}s)",
                                               *value, singular));
  out.rate_period_ms_ = *value * unit_ms;
  return out;
}

std::optional<int64_t> ScheduleExpression::nextFire(int64_t after_ms, int64_t anchor_ms) const {
  if (isRate()) {
    __int128 k = 1;
    if (after_ms >= anchor_ms)
      k = (static_cast<__int128>(after_ms) - anchor_ms) / rate_period_ms_ + 1;
    __int128 next = anchor_ms + k * rate_period_ms_;
    if (next > INT64_MAX) return std::nullopt;
    return static_cast<int64_t>(next);
  }
  // The first whole minute strictly after `after_ms`, no earlier than 1970.
  int64_t start_min = after_ms < 0 ? 0 : after_ms / kMinuteMs + 1;
  auto start_day = sys_days(days(start_min / 1440));
  year_month_day start(start_day);
  int sy = static_cast<int>(start.year());
  auto sm = static_cast<unsigned>(start.month());
  auto sd = static_cast<unsigned>(start.day());
  int sh = static_cast<int>(start_min % 1440 / 60);
  int smin = static_cast<int>(start_min % 60);
  for (int y = sy; y <= kLastCronYear; ++y) {
    if (!years_.test(static_cast<size_t>(y - kFirstCronYear))) continue;
    for (unsigned m = y == sy ? sm : 1; m <= 12; ++m) {
      if (!months_.test(m)) continue;
      bool first_month = y == sy && m == sm;
      unsigned last = lastDay(y, m);
      for (unsigned d = first_month ? sd : 1; d <= last; ++d) {
        if (!dayMatches(y, m, d)) continue;
        bool first_day = first_month && d == sd;
        for (int h = first_day ? sh : 0; h < 24; ++h) {
          if (!hours_.test(static_cast<size_t>(h))) continue;
          for (int mi = first_day && h == sh ? smin : 0; mi < 60; ++mi)
            if (minutes_.test(static_cast<size_t>(mi))) return epochMs(y, m, d, h, mi);
        }
      }
    }
  }
  return std::nullopt;
}

std::string eventTime(int64_t epoch_ms) {
  auto secs = static_cast<std::time_t>(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace gust::events
