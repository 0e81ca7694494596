#include "events/scheduler.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <boost/json.hpp>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "store/sqlite/sqlite_store.h"

namespace gust::events {
namespace {

namespace json = boost::json;

int64_t ms(const char* iso) {
  std::tm tm{};
  std::sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "gust-scheduler-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::openSqliteStore(dir_ / "gust.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    store::FunctionRecord fn;
    fn.name = "report";
    fn.runtime = "python3.11";
    fn.handler = "app.handler";
    fn.code_sha256 = std::string(64, 'a');
    ASSERT_TRUE(store_->putFunction(fn).ok());
    ASSERT_TRUE(store_->publishVersion("report", "", "", "").ok());
    ASSERT_TRUE(store_->createAlias({"report", "live", "1", "", {}, ""}).ok());
    now_ = ms("2026-11-25T11:58:30Z");
    scheduler_ = makeScheduler(false);
  }
  void TearDown() override {
    scheduler_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Scheduler> makeScheduler(bool test_clock) {
    SchedulerOptions options;
    options.now_ms = [this] { return now_.load(); };
    options.test_clock = test_clock;
    options.region = "eu-west-1";
    options.account_id = "123456789012";
    return std::make_unique<Scheduler>(
        options, *store_,
        [this](std::vector<AsyncInvoke> events) -> Result<std::vector<std::string>> {
          std::lock_guard lock(mu_);
          if (fail_enqueue_) return Error::unavailable("queue is down");
          std::vector<std::string> ids;
          for (auto& e : events) {
            ids.push_back("event-" + std::to_string(enqueued_.size()));
            enqueued_.push_back(std::move(e));
          }
          return ids;
        });
  }

  ScheduleSpec spec(std::string name, std::string expression) {
    ScheduleSpec s;
    s.name = std::move(name);
    s.expression = std::move(expression);
    s.function = "report";
    return s;
  }

  int tick() {
    auto fired = scheduler_->tick();
    EXPECT_TRUE(fired.ok()) << fired.error().message;
    return fired.ok() ? *fired : -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::atomic<int64_t> now_{0};
  std::mutex mu_;
  std::vector<AsyncInvoke> enqueued_;
  bool fail_enqueue_ = false;
};

TEST_F(SchedulerTest, CronFiresOnTimeWithTheScheduledEvent) {
  auto created = scheduler_->create(spec("noon", "cron(0 12 * * ? *)"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->next_fire_ms, ms("2026-11-25T12:00:00Z"));
  EXPECT_EQ(tick(), 0);
  now_ = ms("2026-11-25T11:59:59") + 999;
  EXPECT_EQ(tick(), 0);
  now_ = ms("2026-11-25T12:00:00");
  EXPECT_EQ(tick(), 1);
  EXPECT_EQ(tick(), 0);  // once per slot
  ASSERT_EQ(enqueued_.size(), 1u);
  EXPECT_EQ(enqueued_[0].function, "report");
  EXPECT_EQ(enqueued_[0].qualifier, "");
  json::object event = json::parse(enqueued_[0].payload).as_object();
  EXPECT_EQ(event.at("version"), "0");
  EXPECT_EQ(event.at("id").as_string().size(), 36u);
  EXPECT_EQ(event.at("detail-type"), "Scheduled Event");
  EXPECT_EQ(event.at("source"), "aws.events");
  EXPECT_EQ(event.at("account"), "123456789012");
  EXPECT_EQ(event.at("time"), "2026-11-25T12:00:00Z");
  EXPECT_EQ(event.at("region"), "eu-west-1");
  EXPECT_EQ(event.at("resources"),
            (json::array{"arn:aws:events:eu-west-1:123456789012:rule/noon"}));
  EXPECT_EQ(event.at("detail"), json::object());
  // Keys in EventBridge's order.
  EXPECT_EQ(enqueued_[0].payload.find("{\"version\":\"0\",\"id\":"), 0u);

  auto got = scheduler_->get("noon");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->record.last_fired_ms, ms("2026-11-25T12:00:00Z"));
  EXPECT_EQ(got->next_fire_ms, ms("2026-11-26T12:00:00Z"));
  now_ = ms("2026-11-26T12:00:00");
  EXPECT_EQ(tick(), 1);
}

TEST_F(SchedulerTest, RateCountsFromCreation) {
  int64_t created_at = now_;
  ASSERT_TRUE(scheduler_->create(spec("five", "rate(5 minutes)")).ok());
  now_ = created_at + 5 * 60'000 - 1;
  EXPECT_EQ(tick(), 0);
  now_ = created_at + 5 * 60'000;
  EXPECT_EQ(tick(), 1);
  now_ = created_at + 9 * 60'000;
  EXPECT_EQ(tick(), 0);
  now_ = created_at + 10 * 60'000 + 20;
  EXPECT_EQ(tick(), 1);
  EXPECT_EQ(enqueued_.size(), 2u);
}

TEST_F(SchedulerTest, MissedRunsFireOnceAfterARestart) {
  int64_t created_at = now_;
  ASSERT_TRUE(scheduler_->create(spec("minutely", "rate(1 minute)")).ok());
  now_ = created_at + 60'000;
  EXPECT_EQ(tick(), 1);
  // The server is down for an hour: 59 slots are missed. A new scheduler on the same store fires
  // once, then waits for the next slot after now.
  scheduler_ = makeScheduler(false);
  now_ = created_at + 60 * 60'000 + 30'000;
  EXPECT_EQ(tick(), 1);
  EXPECT_EQ(tick(), 0);
  ASSERT_EQ(enqueued_.size(), 2u);
  // The missed run's event carries the first missed slot.
  EXPECT_EQ(json::parse(enqueued_[1].payload).at("time"),
            json::value(eventTime(created_at + 2 * 60'000)));
  now_ = created_at + 61 * 60'000 - 1;
  EXPECT_EQ(tick(), 0);
  now_ = created_at + 61 * 60'000;
  EXPECT_EQ(tick(), 1);
}

TEST_F(SchedulerTest, DisabledSchedulesDoNotFireAndDoNotCatchUp) {
  int64_t created_at = now_;
  ASSERT_TRUE(scheduler_->create(spec("minutely", "rate(1 minute)")).ok());
  auto disabled = scheduler_->setEnabled("minutely", false);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->record.enabled);
  EXPECT_FALSE(disabled->next_fire_ms);
  now_ = created_at + 30 * 60'000;
  EXPECT_EQ(tick(), 0);
  auto enabled = scheduler_->setEnabled("minutely", true);
  ASSERT_TRUE(enabled.ok());
  EXPECT_EQ(enabled->next_fire_ms, now_ + 60'000);
  EXPECT_EQ(tick(), 0);  // the time it was off is not caught up
  now_ = now_ + 60'000;
  EXPECT_EQ(tick(), 1);
  // Created disabled: never fires.
  auto off = spec("off", "rate(1 minute)");
  off.enabled = false;
  ASSERT_TRUE(scheduler_->create(off).ok());
  now_ = now_ + 10 * 60'000;
  EXPECT_EQ(tick(), 1);  // only "minutely"
  EXPECT_EQ(enqueued_.size(), 2u);
}

TEST_F(SchedulerTest, ConstantInputAndQualifiedTargets) {
  auto s = spec("with-input", "rate(1 minute)");
  s.input = R"({"report":"daily"})";
  s.qualifier = "live";
  ASSERT_TRUE(scheduler_->create(s).ok());
  auto latest = spec("latest", "rate(1 minute)");
  latest.qualifier = "$LATEST";
  auto created = scheduler_->create(latest);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->record.qualifier, "");
  now_ = now_ + 60'000;
  EXPECT_EQ(tick(), 2);
  ASSERT_EQ(enqueued_.size(), 2u);
  EXPECT_EQ(enqueued_[1].payload, R"({"report":"daily"})");
  EXPECT_EQ(enqueued_[1].qualifier, "live");
}

TEST_F(SchedulerTest, AFailedEnqueueIsRetriedAtTheNextTick) {
  ASSERT_TRUE(scheduler_->create(spec("minutely", "rate(1 minute)")).ok());
  now_ = now_ + 60'000;
  fail_enqueue_ = true;
  EXPECT_EQ(tick(), 0);
  EXPECT_EQ(scheduler_->get("minutely")->record.last_fired_ms, 0);
  fail_enqueue_ = false;
  EXPECT_EQ(tick(), 1);
}

TEST_F(SchedulerTest, RefusesBadSchedulesWithClearErrors) {
  auto bad = [&](ScheduleSpec s, ErrorCode code, std::string_view text) {
    auto created = scheduler_->create(s);
    ASSERT_FALSE(created.ok()) << s.name;
    EXPECT_EQ(created.error().code, code) << created.error().message;
    EXPECT_NE(created.error().message.find(text), std::string::npos) << created.error().message;
  };
  bad(spec("x", "rate(5 minute)"), ErrorCode::kInvalidArgument, "rate(5 minutes)");
  bad(spec("x", "cron(0 12 * * * *)"), ErrorCode::kInvalidArgument, "'?'");
  bad(spec("has space", "rate(5 minutes)"), ErrorCode::kInvalidArgument, "e.g. nightly-report");
  bad(spec(std::string(65, 'a'), "rate(5 minutes)"), ErrorCode::kInvalidArgument, "1 to 64");
  auto missing = spec("x", "rate(5 minutes)");
  missing.function = "nope";
  bad(missing, ErrorCode::kNotFound, "nope");
  auto bad_function = spec("x", "rate(5 minutes)");
  bad_function.function = "a/b";
  bad(bad_function, ErrorCode::kInvalidArgument, "not a function name");
  auto missing_alias = spec("x", "rate(5 minutes)");
  missing_alias.qualifier = "prod";
  bad(missing_alias, ErrorCode::kNotFound, "prod");
  auto missing_version = spec("x", "rate(5 minutes)");
  missing_version.qualifier = "7";
  bad(missing_version, ErrorCode::kNotFound, "7");
  auto bad_input = spec("x", "rate(5 minutes)");
  bad_input.input = "{not json";
  bad(bad_input, ErrorCode::kInvalidArgument, "input: is not valid JSON");
  ASSERT_TRUE(scheduler_->create(spec("taken", "rate(5 minutes)")).ok());
  bad(spec("taken", "rate(1 hour)"), ErrorCode::kAlreadyExists, "already exists");
  EXPECT_EQ(scheduler_->remove("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(scheduler_->setEnabled("nope", true).error().code, ErrorCode::kNotFound);
}

TEST_F(SchedulerTest, ManifestSchedulesAreSyncedWithoutTouchingApiOnes) {
  ASSERT_TRUE(scheduler_->create(spec("api-made", "rate(1 hour)")).ok());
  auto a = spec("m-a", "rate(5 minutes)");
  auto b = spec("m-b", "cron(0 12 * * ? *)");
  ASSERT_TRUE(scheduler_->syncManifest("report", {a, b}).ok());
  auto listed = scheduler_->list("report");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[1].record.source, "manifest");
  // Update one (its expression), drop the other.
  now_ = now_ + 60'000;
  a.expression = "rate(10 minutes)";
  ASSERT_TRUE(scheduler_->syncManifest("report", {a}).ok());
  listed = scheduler_->list("report");
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].record.name, "api-made");
  EXPECT_EQ((*listed)[1].record.expression, "rate(10 minutes)");
  EXPECT_EQ((*listed)[1].record.anchor_ms, now_.load());
  // A name taken by an API-made schedule is refused, and nothing changes.
  auto clash = spec("api-made", "rate(5 minutes)");
  auto st = scheduler_->syncManifest("report", {clash});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(scheduler_->get("api-made")->record.expression, "rate(1 hour)");
  // A bad expression is refused before anything is stored.
  auto bad = spec("m-c", "rate(0 minutes)");
  EXPECT_EQ(scheduler_->syncManifest("report", {bad}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->list("report")->size(), 2u);
  ASSERT_TRUE(scheduler_->syncManifest("report", {}).ok());
  EXPECT_EQ(scheduler_->list("report")->size(), 1u);
}

TEST_F(SchedulerTest, TheTestClockExistsOnlyWhenAskedFor) {
  auto refused = scheduler_->advanceTestClock(60'000);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  scheduler_ = makeScheduler(true);
  ASSERT_TRUE(scheduler_->create(spec("five", "rate(5 minutes)")).ok());
  auto moved = scheduler_->advanceTestClock(4 * 60'000);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->first, now_ + 4 * 60'000);
  EXPECT_EQ(moved->second, 0);
  EXPECT_TRUE(enqueued_.empty());
  auto fired = scheduler_->advanceTestClock(60'000);  // fires what became due at once
  ASSERT_TRUE(fired.ok());
  EXPECT_EQ(fired->second, 1);
  EXPECT_EQ(enqueued_.size(), 1u);
  EXPECT_EQ(scheduler_->advanceTestClock(-1).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SchedulerTest, TheThreadFiresDueSchedules) {
  scheduler_ = makeScheduler(true);
  ASSERT_TRUE(scheduler_->create(spec("minutely", "rate(1 minute)")).ok());
  scheduler_->start();
  now_ = now_ + 60'000;
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(mu_);
      if (!enqueued_.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  scheduler_->stop();
  std::lock_guard lock(mu_);
  EXPECT_EQ(enqueued_.size(), 1u);
}

TEST(ScheduleJsonTest, ParsesTheApiBody) {
  auto s = scheduleSpecFromJson(
      R"j({"name":"n","expression":"rate(1 hour)","function":"f","qualifier":"live",)j"
      R"j("input":{"a":1},"description":"d","enabled":false})j");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->input, R"j({"a":1})j");
  EXPECT_EQ(s->qualifier, "live");
  EXPECT_FALSE(s->enabled);
  auto text_input = scheduleSpecFromJson(
      R"j({"name":"n","expression":"rate(1 hour)","function":"f","input":"{\"a\":1}"})j");
  ASSERT_TRUE(text_input.ok());
  EXPECT_EQ(text_input->input, R"j({"a":1})j");
  EXPECT_NE(scheduleSpecFromJson(R"j({"name":"n","function":"f"})j")
                .error()
                .message.find("expression: is missing"),
            std::string::npos);
  EXPECT_NE(scheduleSpecFromJson(R"j({"name":"n","expression":"rate(1 hour)","function":"f",)j"
                                 R"j("cron":"x"})j")
                .error()
                .message.find("unknown key"),
            std::string::npos);
  EXPECT_FALSE(scheduleSpecFromJson("[]").ok());
  EXPECT_FALSE(scheduleSpecFromJson(R"j({"name":1})j").ok());
}

}  // namespace
}  // namespace gust::events
