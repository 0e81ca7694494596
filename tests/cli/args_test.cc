#include "cli/args.h"

#include <gtest/gtest.h>

namespace gust::cli {
namespace {

using namespace std::chrono_literals;

TEST(ParseDurationTest, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(*parseDuration("30s"), 30s);
  EXPECT_EQ(*parseDuration("10m"), 10min);
  EXPECT_EQ(*parseDuration("2h"), 2h);
  EXPECT_EQ(*parseDuration("1d"), 24h);
  EXPECT_EQ(*parseDuration("500ms"), 500ms);
  EXPECT_EQ(*parseDuration("1h30m"), 90min);
  EXPECT_EQ(*parseDuration("0s"), 0ms);
}

TEST(ParseDurationTest, RefusesWhatIsNotADurationAndSaysWhatIs) {
  for (const char* bad : {"", "10", "m", "10x", "1.5h", "-5m", "10m5", "h1", "99999999999999d"}) {
    auto d = parseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(d.error().message.find("e.g. 30s"), std::string::npos) << d.error().message;
  }
}

TEST(ParseIsoTimeTest, AcceptsUtcOffsetsFractionsAndDates) {
  EXPECT_EQ(*parseIsoTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseIsoTime("2026-11-24T21:00:00Z"), 1795554000000);
  EXPECT_EQ(*parseIsoTime("2026-11-24T21:00:00.250Z"), 1795554000250);
  EXPECT_EQ(*parseIsoTime("2026-11-24T22:00:00+01:00"), 1795554000000);
  EXPECT_EQ(*parseIsoTime("2026-11-24T20:30:00-0030"), 1795554000000);
  EXPECT_EQ(*parseIsoTime("2026-11-24 21:00"), 1795554000000);
  EXPECT_EQ(*parseIsoTime("2026-11-24"), 1795478400000);
}

TEST(ParseIsoTimeTest, RefusesMalformedTimes) {
  for (const char* bad : {"2026-13-01", "2026-11-24T25:00:00Z", "2026-11-24T21:00:00 CET",
                          "24/11/2026", "2026-11-24T21", "2026-11-24T21:00:00.Z"}) {
    auto t = parseIsoTime(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find("ISO 8601"), std::string::npos);
  }
}

TEST(ParseSinceTest, DurationsAreBeforeNowTimesAndEpochMillisecondsAreAbsolute) {
  const int64_t now = 1795554000000;
  EXPECT_EQ(*parseSince("10m", now), now - 600000);
  EXPECT_EQ(*parseSince("1h", now), now - 3600000);
  EXPECT_EQ(*parseSince("2026-11-24T20:00:00Z", now), now - 3600000);
  EXPECT_EQ(*parseSince("1795550400000", now), 1795550400000);
  auto bad = parseSince("yesterday", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--since 'yesterday'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("10m"), std::string::npos);
}

TEST(ParseWeightTest, VersionEqualsShare) {
  auto w = parseWeight("2=0.1");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->first, "2");
  EXPECT_DOUBLE_EQ(w->second, 0.1);
  EXPECT_DOUBLE_EQ(parseWeight("10=1")->second, 1.0);
  EXPECT_DOUBLE_EQ(parseWeight("3=0")->second, 0.0);
}

TEST(ParseWeightTest, RefusesBadVersionsAndShares) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (auto [text, why] :
       {Case{"2", "no '='"}, Case{"=0.1", "not a version number"},
        Case{"$LATEST=0.1", "not a version number"}, Case{"live=0.5", "not a version number"},
        Case{"2=abc", "not a number"}, Case{"2=1.5", "outside [0, 1]"},
        Case{"2=-0.1", "outside [0, 1]"}, Case{"2=nan", "not a number"}}) {
    auto w = parseWeight(text);
    ASSERT_FALSE(w.ok()) << text;
    EXPECT_NE(w.error().message.find(why), std::string::npos) << w.error().message;
    EXPECT_NE(w.error().message.find("--weight 2=0.1"), std::string::npos);
  }
}

TEST(ParseWeightsTest, OneAdditionalVersionAtMost) {
  EXPECT_TRUE(parseWeights({})->empty());
  auto one = parseWeights({"2=0.25"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::map<std::string, double>{{"2", 0.25}}));
  auto two = parseWeights({"2=0.25", "3=0.1"});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("one additional version"), std::string::npos);
  EXPECT_FALSE(parseWeights({"2=0.25", "x"}).ok());
}

}  // namespace
}  // namespace gust::cli
