#include "events/dispatcher.h"

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "events/queue.h"
#include "test_dir.h"

namespace gust::events {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A function that answers as told, counting its invocations.
struct FakeFunctions {
  std::mutex mu;
  std::map<std::string, int> invocations;     // by function
  std::map<std::string, int> throttle_first;  // throttles before it runs, by function
  std::map<std::string, bool> fails;          // function error, by function
  std::map<std::string, InvokeConfig> configs;
  std::set<std::string> switched_off;
  std::vector<std::string> payloads_of_g;  // what function "g" received
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::chrono::milliseconds hold{0};  // how long an invocation runs

  DispatcherHooks hooks() {
    DispatcherHooks h;
    h.lookup = [this](std::string_view function, std::string_view) -> Result<FunctionTarget> {
      std::lock_guard lock(mu);
      if (function == "gone") return Error::notFound("function gone does not exist");
      FunctionTarget t;
      if (auto it = configs.find(std::string(function)); it != configs.end()) t.config = it->second;
      t.switched_off = switched_off.contains(std::string(function));
      return t;
    };
    h.invoke = [this](const Event& e, std::function<void(Result<DeliveryResult>)> done) {
      int now = ++in_flight;
      int seen = max_in_flight.load();
      while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
      }
      std::thread([this, e, done = std::move(done)] {
        std::this_thread::sleep_for(hold);
        Result<DeliveryResult> result = DeliveryResult{};
        {
          std::lock_guard lock(mu);
          if (throttle_first[e.function] > 0) {
            --throttle_first[e.function];
            result = Error{ErrorCode::kResourceExhausted, "ReservedFunctionConcurrency..."};
          } else {
            ++invocations[e.function];
            if (e.function == "g") payloads_of_g.push_back(e.payload);
            DeliveryResult r;
            r.executed_version = "$LATEST";
            r.function_error = fails[e.function];
            r.payload = r.function_error ? R"({"errorMessage":"boom","errorType":"Exception"})"
                                         : R"({"ok":true})";
            result = r;
          }
        }
        --in_flight;
        done(std::move(result));
      }).detach();
    };
    return h;
  }

  int count(const std::string& f) {
    std::lock_guard lock(mu);
    return invocations[f];
  }
};

class DispatcherTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    QueueOptions q;
    q.path = dir_ / "events.db";
    q.now_ms = [this] { return clock_.load(); };
    queue_ = std::move(*EventQueue::open(q));
  }
  void TearDown() override {
    dispatcher_.reset();
    queue_.reset();
    TempDirTest::TearDown();
  }

  // Fast delays, the test's clock; time only moves when a test moves it, except through
  // `real_clock`.
  void start(int max_in_flight = 8) {
    DispatcherOptions o;
    o.max_in_flight = max_in_flight;
    o.retry_delays = {10ms, 20ms};
    o.backoff_min = 5ms;
    o.backoff_max = 40ms;
    o.now_ms = [this] { return clock_.load(); };
    dispatcher_ = std::make_unique<Dispatcher>(o, fns_.hooks(), *queue_);
    dispatcher_->start();
  }

  std::string enqueue(std::string function, std::string payload = R"({"n":1})") {
    Event e;
    e.function = std::move(function);
    e.payload = std::move(payload);
    return *queue_->enqueueAndWait(e);
  }

  // Waits (moving the clock `step` ms per step, at most 30 s) until `done` holds.
  bool waitFor(const std::function<bool()>& done, int64_t step = 10) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(2ms);
      clock_ += step;
      dispatcher_->wake();
    }
    return done();
  }

  bool drained() { return *queue_->size() == 0 && dispatcher_->inFlight() == 0; }

  std::vector<DeadLetter> letters(std::string queue = "") {
    DeadLetterQuery query;
    query.queue = std::move(queue);
    return *queue_->listDeadLetters(query);
  }

  static InvokeConfig withDestinations(int retries) {
    InvokeConfig c;
    c.maximum_retry_attempts = retries;
    c.on_success = *parseDestination("arn:aws:sqs:us-east-1:000000000000:ok");
    c.on_failure = *parseDestination("arn:aws:sqs:us-east-1:000000000000:failed");
    return c;
  }

  std::atomic<int64_t> clock_{1'700'000'000'000};
  std::unique_ptr<EventQueue> queue_;
  std::unique_ptr<Dispatcher> dispatcher_;
  FakeFunctions fns_;
};

TEST_F(DispatcherTest, DeliversEachEventOnceWithItsIdAndSendsTheSuccessRecord) {
  fns_.configs["f"] = withDestinations(2);
  start();
  std::string id = enqueue("f", R"({"hello":"world"})");
  ASSERT_TRUE(waitFor([&] { return drained() && letters().size() == 1; }));
  EXPECT_EQ(fns_.count("f"), 1);
  auto d = letters("ok");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].request_id, id);
  EXPECT_EQ(d[0].condition, "Success");
  json::object record = json::parse(d[0].record).as_object();
  EXPECT_EQ(record.at("version"), "1.0");
  EXPECT_EQ(record.at("requestContext").at("requestId").as_string(), id);
  EXPECT_EQ(record.at("requestContext").at("condition"), "Success");
  EXPECT_EQ(record.at("requestContext").at("approximateInvokeCount"), 1);
  EXPECT_EQ(record.at("requestContext").at("functionArn"),
            "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST");
  EXPECT_EQ(record.at("requestPayload").at("hello"), "world");
  EXPECT_EQ(record.at("responseContext").at("statusCode"), 200);
  EXPECT_EQ(record.at("responseContext").at("executedVersion"), "$LATEST");
  EXPECT_FALSE(record.at("responseContext").as_object().contains("functionError"));
  EXPECT_EQ(record.at("responsePayload").at("ok"), true);
}

TEST_F(DispatcherTest, AFailingFunctionIsRetriedMaximumRetryAttemptsTimesThenFails) {
  for (int retries : {0, 1, 2}) {
    std::string f = "fail" + std::to_string(retries);
    fns_.fails[f] = true;
    fns_.configs[f] = withDestinations(retries);
  }
  start();
  for (int retries : {0, 1, 2}) enqueue("fail" + std::to_string(retries));
  ASSERT_TRUE(waitFor([&] { return drained() && letters("failed").size() == 3; }));
  for (int retries : {0, 1, 2})
    EXPECT_EQ(fns_.count("fail" + std::to_string(retries)), retries + 1);
  for (const auto& d : letters("failed")) {
    json::object record = json::parse(d.record).as_object();
    EXPECT_EQ(record.at("requestContext").at("condition"), "RetriesExhausted");
    EXPECT_EQ(record.at("requestContext").at("approximateInvokeCount").as_int64(),
              fns_.count(d.function));
    EXPECT_EQ(record.at("responseContext").at("functionError"), "Unhandled");
    EXPECT_EQ(record.at("responsePayload").at("errorMessage"), "boom");
  }
  EXPECT_TRUE(letters("ok").empty());
}

TEST_F(DispatcherTest, RetriesWaitTheConfiguredDelays) {
  fns_.fails["f"] = true;
  fns_.configs["f"] = withDestinations(2);
  start();
  enqueue("f");
  // The clock stands still: after the first failure the retry waits 10 ms of it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (fns_.count("f") < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(2ms);
  ASSERT_EQ(fns_.count("f"), 1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fns_.count("f"), 1);
  ASSERT_TRUE(waitFor([&] { return drained(); }));
  EXPECT_EQ(fns_.count("f"), 3);
}

TEST_F(DispatcherTest, ThrottledDeliveriesAreRequeuedWithoutCountingAsRetries) {
  fns_.throttle_first["f"] = 4;
  fns_.configs["f"] = withDestinations(0);
  start();
  enqueue("f");
  ASSERT_TRUE(waitFor([&] { return drained() && letters().size() == 1; }));
  EXPECT_EQ(fns_.count("f"), 1);
  auto d = letters("ok");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(json::parse(d[0].record).at("requestContext").at("approximateInvokeCount"), 1);
}

TEST_F(DispatcherTest, EventsOlderThanTheirMaximumAgeGoToTheFailureDestination) {
  fns_.throttle_first["f"] = 1'000'000;  // throttled for ever
  InvokeConfig c = withDestinations(2);
  c.maximum_event_age_s = 60;
  fns_.configs["f"] = c;
  start();
  std::string id = enqueue("f");
  // 60 s of the test's clock, in 500 ms steps.
  ASSERT_TRUE(waitFor([&] { return drained() && letters("failed").size() == 1; }, 500));
  EXPECT_EQ(fns_.count("f"), 0);
  json::object record = json::parse(letters("failed")[0].record).as_object();
  EXPECT_EQ(record.at("requestContext").at("requestId").as_string(), id);
  EXPECT_EQ(record.at("requestContext").at("condition"), "EventAgeExceeded");
  EXPECT_EQ(record.at("requestContext").at("approximateInvokeCount"), 0);
  EXPECT_EQ(record.at("responseContext").at("statusCode"), 429);
  EXPECT_FALSE(record.contains("responsePayload"));
}

TEST_F(DispatcherTest, ReservedConcurrencyZeroSendsEventsToFailureWithoutInvoking) {
  fns_.configs["f"] = withDestinations(2);
  fns_.switched_off.insert("f");
  start();
  enqueue("f");
  ASSERT_TRUE(waitFor([&] { return drained() && letters("failed").size() == 1; }));
  EXPECT_EQ(fns_.count("f"), 0);
  EXPECT_EQ(letters("failed")[0].condition, "ZeroReservedConcurrency");
}

TEST_F(DispatcherTest, AFunctionDestinationReceivesTheRecordAsItsEvent) {
  InvokeConfig c;
  c.on_failure = *parseDestination("arn:aws:lambda:us-east-1:000000000000:function:g");
  c.maximum_retry_attempts = 0;
  fns_.fails["f"] = true;
  fns_.configs["f"] = c;
  start();
  std::string id = enqueue("f", R"({"x":42})");
  ASSERT_TRUE(waitFor([&] { return drained() && fns_.count("g") == 1; }));
  std::lock_guard lock(fns_.mu);
  ASSERT_EQ(fns_.payloads_of_g.size(), 1u);
  json::object record = json::parse(fns_.payloads_of_g[0]).as_object();
  EXPECT_EQ(record.at("requestContext").at("requestId").as_string(), id);
  EXPECT_EQ(record.at("requestContext").at("condition"), "RetriesExhausted");
  EXPECT_EQ(record.at("requestPayload").at("x"), 42);
}

TEST_F(DispatcherTest, ALoopOfDestinationsStopsAtTheDepthLimit) {
  // f's success goes to g, g's to f: each record is one deeper, up to the limit (16).
  InvokeConfig to_g;
  to_g.on_success = *parseDestination("arn:aws:lambda:us-east-1:000000000000:function:g");
  InvokeConfig to_f;
  to_f.on_success = *parseDestination("arn:aws:lambda:us-east-1:000000000000:function:f");
  fns_.configs["f"] = to_g;
  fns_.configs["g"] = to_f;
  start();
  enqueue("f");
  ASSERT_TRUE(waitFor([&] { return drained() && fns_.count("f") + fns_.count("g") == 17; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fns_.count("f"), 9);  // depths 0, 2, ..., 16
  EXPECT_EQ(fns_.count("g"), 8);  // depths 1, 3, ..., 15
}

TEST_F(DispatcherTest, EventsOfADeletedFunctionAreDropped) {
  start();
  enqueue("gone");
  ASSERT_TRUE(waitFor([&] { return drained(); }));
  EXPECT_TRUE(letters().empty());
}

TEST_F(DispatcherTest, TopicDestinationsWithoutAPublisherKeepTheRecord) {
  InvokeConfig c;
  c.on_success = *parseDestination("arn:aws:sns:us-east-1:000000000000:news");
  fns_.configs["f"] = c;
  start();
  enqueue("f");
  ASSERT_TRUE(waitFor([&] { return drained() && letters("news").size() == 1; }));
}

TEST_F(DispatcherTest, AtMostMaxInFlightDeliveriesAtOnce) {
  fns_.hold = 20ms;
  start(3);
  for (int i = 0; i < 20; ++i) enqueue("f");
  ASSERT_TRUE(waitFor([&] { return drained() && fns_.count("f") == 20; }));
  EXPECT_LE(fns_.max_in_flight.load(), 3);
  EXPECT_EQ(fns_.max_in_flight.load(), 3);
}

}  // namespace
}  // namespace gust::events
