#include "events/schedule_expr.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace gust::events {
namespace {

// "2026-11-25T10:30:00Z" as epoch milliseconds.
int64_t ms(const char* iso) {
  std::tm tm{};
  int sec = 0;
  std::sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

ScheduleExpression parsed(const std::string& text) {
  auto e = ScheduleExpression::parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : ScheduleExpression();
}

// The next fire time of a cron expression after `after`, as text ("never" if none).
std::string next(const std::string& text, const char* after) {
  auto fire = parsed(text).nextFire(ms(after), 0);
  return fire ? eventTime(*fire) : "never";
}

std::string errorOf(const std::string& text) {
  auto e = ScheduleExpression::parse(text);
  EXPECT_FALSE(e.ok()) << text << " was accepted";
  return e.ok() ? "" : e.error().message;
}

// AWS's documented examples of cron expressions (EventBridge user guide).
TEST(ScheduleExprTest, AwsDocumentedCronExamples) {
  // 10:00 every day.
  EXPECT_EQ(next("cron(0 10 * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-26T10:00:00Z");
  // 12:15 every day.
  EXPECT_EQ(next("cron(15 12 * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-25T12:15:00Z");
  // 18:00 Monday to Friday: after Friday's run comes Monday's.
  EXPECT_EQ(next("cron(0 18 ? * MON-FRI *)", "2026-11-27T18:00:00Z"), "2026-11-30T18:00:00Z");
  // 8:00 on the first of every month.
  EXPECT_EQ(next("cron(0 8 1 * ? *)", "2026-11-25T10:30:00Z"), "2026-12-01T08:00:00Z");
  // Every 15 minutes.
  EXPECT_EQ(next("cron(0/15 * * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-25T10:45:00Z");
  EXPECT_EQ(next("cron(0/15 * * * ? *)", "2026-11-25T10:44:59Z"), "2026-11-25T10:45:00Z");
  EXPECT_EQ(next("cron(0/15 * * * ? *)", "2026-11-25T23:45:00Z"), "2026-11-26T00:00:00Z");
  // Every 10 minutes Monday to Friday: Saturday waits for Monday.
  EXPECT_EQ(next("cron(0/10 * ? * MON-FRI *)", "2026-11-28T00:00:00Z"), "2026-11-30T00:00:00Z");
  // Every 5 minutes Monday to Friday between 8:00 and 17:55.
  EXPECT_EQ(next("cron(0/5 8-17 ? * MON-FRI *)", "2026-11-25T17:50:00Z"), "2026-11-25T17:55:00Z");
  EXPECT_EQ(next("cron(0/5 8-17 ? * MON-FRI *)", "2026-11-25T17:55:00Z"), "2026-11-26T08:00:00Z");
  // 9:00 on the first Monday of every month.
  EXPECT_EQ(next("cron(0 9 ? * 2#1 *)", "2026-11-25T10:30:00Z"), "2026-12-07T09:00:00Z");
  // The example: noon every day.
  EXPECT_EQ(next("cron(0 12 * * ? *)", "2026-11-25T12:00:00Z"), "2026-11-26T12:00:00Z");
}

TEST(ScheduleExprTest, ListsRangesAndIncrements) {
  EXPECT_EQ(next("cron(10,40 * * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-25T10:40:00Z");
  EXPECT_EQ(next("cron(1/10 * * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-25T10:31:00Z");
  EXPECT_EQ(next("cron(*/20 * * * ? *)", "2026-11-25T10:41:00Z"), "2026-11-25T11:00:00Z");
  EXPECT_EQ(next("cron(0 10-12/2 * * ? *)", "2026-11-25T10:30:00Z"), "2026-11-25T12:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 JAN,JUL ? *)", "2026-11-25T10:30:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 2-4 ? *)", "2026-11-25T10:30:00Z"), "2027-02-01T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1/10 * ? *)", "2026-11-25T10:30:00Z"), "2026-12-01T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * 1,7 *)", "2026-11-25T10:30:00Z"), "2026-11-28T00:00:00Z");
  // Names in either case.
  EXPECT_EQ(next("cron(0 0 ? dec sun *)", "2026-11-25T10:30:00Z"), "2026-12-06T00:00:00Z");
}

TEST(ScheduleExprTest, RangesWrapAround) {
  // 22:00 to 02:00: after 02:30 the next run is 22:00.
  EXPECT_EQ(next("cron(0 22-2 * * ? *)", "2026-11-25T02:30:00Z"), "2026-11-25T22:00:00Z");
  EXPECT_EQ(next("cron(0 22-2 * * ? *)", "2026-11-25T23:30:00Z"), "2026-11-26T00:00:00Z");
  // Friday to Monday.
  EXPECT_EQ(next("cron(0 0 ? * FRI-MON *)", "2026-11-25T10:30:00Z"), "2026-11-27T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * FRI-MON *)", "2026-11-30T10:30:00Z"), "2026-12-04T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 1 NOV-FEB ? *)", "2026-12-25T00:00:00Z"), "2027-01-01T00:00:00Z");
}

TEST(ScheduleExprTest, LastDayOfMonth) {
  EXPECT_EQ(next("cron(0 0 L * ? *)", "2026-11-25T10:30:00Z"), "2026-11-30T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 L * ? *)", "2027-02-01T00:00:00Z"), "2027-02-28T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 L * ? *)", "2028-02-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  // The last weekday: November 30th 2026 is a Monday, May 31st a Sunday (so Friday the 29th).
  EXPECT_EQ(next("cron(0 0 LW * ? *)", "2026-11-25T10:30:00Z"), "2026-11-30T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 LW * ? *)", "2026-05-01T00:00:00Z"), "2026-05-29T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 LW * ? *)", "2027-01-01T00:00:00Z"), "2027-01-29T00:00:00Z");
}

TEST(ScheduleExprTest, NearestWeekday) {
  // 15 November 2026 is a Sunday: the nearest weekday is Monday the 16th.
  EXPECT_EQ(next("cron(0 0 15W * ? *)", "2026-11-01T00:00:00Z"), "2026-11-16T00:00:00Z");
  // 28 November 2026 is a Saturday: Friday the 27th.
  EXPECT_EQ(next("cron(0 0 28W * ? *)", "2026-11-01T00:00:00Z"), "2026-11-27T00:00:00Z");
  // 1 August 2026 is a Saturday: never into July, so Monday the 3rd.
  EXPECT_EQ(next("cron(0 0 1W * ? *)", "2026-07-15T00:00:00Z"), "2026-08-03T00:00:00Z");
  // 31 May 2026 is a Sunday and the month's last day: Friday the 29th.
  EXPECT_EQ(next("cron(0 0 31W * ? *)", "2026-05-01T00:00:00Z"), "2026-05-29T00:00:00Z");
  // November has no 31st; December 31st 2026 is a Thursday.
  EXPECT_EQ(next("cron(0 0 31W * ? *)", "2026-11-01T00:00:00Z"), "2026-12-31T00:00:00Z");
  // A weekday is itself.
  EXPECT_EQ(next("cron(0 0 25W * ? *)", "2026-11-01T00:00:00Z"), "2026-11-25T00:00:00Z");
}

TEST(ScheduleExprTest, DayOfWeekSpecials) {
  // 6L: the last Friday of the month.
  EXPECT_EQ(next("cron(0 0 ? * 6L *)", "2026-11-25T10:30:00Z"), "2026-11-27T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * 6L *)", "2026-11-27T00:00:00Z"), "2026-12-25T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * FRIL *)", "2026-11-25T10:30:00Z"), "2026-11-27T00:00:00Z");
  // L alone: Saturday, the last day of the week.
  EXPECT_EQ(next("cron(0 0 ? * L *)", "2026-11-25T10:30:00Z"), "2026-11-28T00:00:00Z");
  // 3#2: the second Tuesday; 2#5: a fifth Monday (November 2026 has one, the 30th).
  EXPECT_EQ(next("cron(0 0 ? * 3#2 *)", "2026-11-25T10:30:00Z"), "2026-12-08T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * 2#5 *)", "2026-11-01T00:00:00Z"), "2026-11-30T00:00:00Z");
  EXPECT_EQ(next("cron(0 0 ? * MON#1 *)", "2026-11-25T10:30:00Z"), "2026-12-07T00:00:00Z");
}

TEST(ScheduleExprTest, YearsBoundTheSchedule) {
  EXPECT_EQ(next("cron(0 12 * * ? 2027)", "2026-11-25T10:30:00Z"), "2027-01-01T12:00:00Z");
  EXPECT_EQ(next("cron(0 12 * * ? 2026-2027)", "2027-12-31T12:00:00Z"), "never");
  EXPECT_EQ(next("cron(0 12 * * ? 1999)", "2026-11-25T10:30:00Z"), "never");
  EXPECT_EQ(next("cron(59 23 31 DEC ? 2199)", "2199-12-31T23:58:00Z"), "2199-12-31T23:59:00Z");
  EXPECT_EQ(next("cron(59 23 31 DEC ? 2199)", "2199-12-31T23:59:00Z"), "never");
  // A day that never exists: the search ends at 2199 instead of looping.
  EXPECT_EQ(next("cron(0 0 30 FEB ? *)", "2026-11-25T10:30:00Z"), "never");
  // Before 1970 the search starts at 1970.
  EXPECT_EQ(next("cron(0 0 1 1 ? 1970)", "1960-01-01T00:00:00Z"), "1970-01-01T00:00:00Z");
}

TEST(ScheduleExprTest, RateCountsPeriodsFromTheAnchor) {
  int64_t anchor = ms("2026-11-25T10:30:07Z");
  auto five = parsed("rate(5 minutes)");
  EXPECT_TRUE(five.isRate());
  EXPECT_EQ(five.ratePeriodMs(), 300'000);
  EXPECT_EQ(five.nextFire(anchor, anchor), anchor + 300'000);
  EXPECT_EQ(five.nextFire(anchor + 299'999, anchor), anchor + 300'000);
  EXPECT_EQ(five.nextFire(anchor + 300'000, anchor), anchor + 600'000);
  EXPECT_EQ(five.nextFire(anchor + 7 * 60'000, anchor), anchor + 600'000);
  EXPECT_EQ(five.nextFire(anchor - 3'600'000, anchor), anchor + 300'000);
  EXPECT_EQ(parsed("rate(1 minute)").ratePeriodMs(), 60'000);
  EXPECT_EQ(parsed("rate(1 hour)").ratePeriodMs(), 3'600'000);
  EXPECT_EQ(parsed("rate(2 hours)").ratePeriodMs(), 7'200'000);
  EXPECT_EQ(parsed("rate(1 day)").ratePeriodMs(), 86'400'000);
  EXPECT_EQ(parsed("rate(30 days)").ratePeriodMs(), 30LL * 86'400'000);
  EXPECT_FALSE(parsed("cron(0 12 * * ? *)").isRate());
  EXPECT_EQ(parsed("rate(5 minutes)").text(), "rate(5 minutes)");
}

TEST(ScheduleExprTest, RateErrorsSayWhatToWrite) {
  EXPECT_NE(errorOf("rate(1 hours)").find("rate(1 hour)"), std::string::npos);
  EXPECT_NE(errorOf("rate(5 hour)").find("rate(5 hours)"), std::string::npos);
  EXPECT_NE(errorOf("rate(0 minutes)").find("out of range"), std::string::npos);
  EXPECT_NE(errorOf("rate(5 seconds)").find("not one of minute"), std::string::npos);
  EXPECT_NE(errorOf("rate(-1 minutes)").find("not a whole number"), std::string::npos);
  EXPECT_NE(errorOf("rate(1.5 hours)").find("not a whole number"), std::string::npos);
  EXPECT_NE(errorOf("rate(5)").find("rate(value unit)"), std::string::npos);
  EXPECT_NE(errorOf("rate(5 minutes").find("closing"), std::string::npos);
  EXPECT_NE(errorOf("rate(5 Minutes)").find("not one of"), std::string::npos);
  EXPECT_NE(errorOf("every 5 minutes").find("rate(value unit) or cron"), std::string::npos);
  EXPECT_NE(errorOf("").find("rate(value unit) or cron"), std::string::npos);
  EXPECT_NE(errorOf(std::string(300, 'x')).find("at most 256"), std::string::npos);
  // Every error shows valid examples.
  EXPECT_NE(errorOf("rate(5 hour)").find("for example rate(5 minutes)"), std::string::npos);
}

TEST(ScheduleExprTest, CronErrorsNameTheField) {
  EXPECT_NE(errorOf("cron(0 12 * * *)").find("six fields"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 12 * * * *)").find("put '?' in one of them"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 12 1 * MON *)").find("put '?' in one of them"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 12 ? * ? *)").find("both '?'"), std::string::npos);
  EXPECT_NE(errorOf("cron(60 * * * ? *)").find("minutes field '60': 60 is out of range 0-59"),
            std::string::npos);
  EXPECT_NE(errorOf("cron(0 24 * * ? *)").find("hours field"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 32 * ? *)").find("day-of-month field"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 0 * ? *)").find("out of range 1-31"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * 13 ? *)").find("month field"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * FOO ? *)").find("'FOO' is not a value"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * 8 *)").find("day-of-week field"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * 0 *)").find("out of range 1-7"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * 3#1,6#3 *)").find("3#1,6#3 is not allowed"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * 3#6 *)").find("1 to 5"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * */2 *)").find("'/' is not allowed"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * * ? 1969)").find("out of range 1970-2199"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * * ? 2200)").find("year field"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * * ? 2030-2020)").find("runs backwards"), std::string::npos);
  EXPECT_NE(errorOf("cron(0/0 * * * ? *)").find("increment '0'"), std::string::npos);
  EXPECT_NE(errorOf("cron(0/60 * * * ? *)").find("1 to 59"), std::string::npos);
  EXPECT_NE(errorOf("cron(? 0 * * ? *)").find("'?' is only allowed"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 L,15 * ? *)").find("L and W stand alone"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 15W,20 * ? *)").find("L and W stand alone"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 32W * ? *)").find("L and W stand alone"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * L,2 *)").find("stand alone"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 ? * 1-5L *)").find("stand alone"), std::string::npos);
  EXPECT_NE(errorOf("cron(1,,2 0 * * ? *)").find("empty list item"), std::string::npos);
  EXPECT_NE(errorOf("cron(1- 0 * * ? *)").find("a value is missing"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 0 * * ? *))").find("parenthesis"), std::string::npos);
  EXPECT_NE(errorOf("CRON(0 0 * * ? *)").find("rate(value unit) or cron"), std::string::npos);
  // Control bytes are escaped in messages.
  EXPECT_NE(errorOf(std::string("cron(0\x01 0 * * ? *)")).find("\\x01"), std::string::npos);
  EXPECT_NE(errorOf("cron(0 12 * * *)").find("for example"), std::string::npos);
}

TEST(ScheduleExprTest, WhitespaceBetweenFieldsIsFlexible) {
  EXPECT_EQ(next("cron(0  12\t* * ? * )", "2026-11-25T10:30:00Z"), "2026-11-25T12:00:00Z");
  EXPECT_EQ(parsed("rate( 5  minutes )").ratePeriodMs(), 300'000);
}

TEST(ScheduleExprTest, EventTimeIsIso8601Utc) {
  EXPECT_EQ(eventTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(eventTime(ms("2026-11-25T12:00:00Z") + 999), "2026-11-25T12:00:00Z");
}

}  // namespace
}  // namespace gust::events
