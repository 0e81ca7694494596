#include "events/queue.h"

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_dir.h"

namespace gust::events {
namespace {

using namespace std::chrono_literals;

class QueueTest : public TempDirTest {
 protected:
  std::unique_ptr<EventQueue> open() {
    QueueOptions options;
    options.path = dir_ / "events.db";
    options.now_ms = [this] { return clock_.load(); };
    auto queue = EventQueue::open(options);
    EXPECT_TRUE(queue.ok()) << queue.error().message;
    return queue.ok() ? std::move(*queue) : nullptr;
  }

  static Event event(std::string function, std::string payload = "{}") {
    Event e;
    e.function = std::move(function);
    e.payload = std::move(payload);
    return e;
  }

  std::atomic<int64_t> clock_{1'000'000};
};

TEST_F(QueueTest, ConcurrentEnqueuesAreGroupedIntoFewCommitsAndSurviveReopening) {
  auto queue = open();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::shared_ptr<std::promise<void>>> waits;
      for (int i = 0; i < kPerThread; ++i) {
        auto done = std::make_shared<std::promise<void>>();
        waits.push_back(done);
        queue->enqueue(event("f"), [&, done](Status st) {
          (st.ok() ? ok : failed)++;
          done->set_value();
        });
      }
      for (auto& w : waits) w->get_future().wait();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  // One fsync per event would be 2000 commits; the writer batches what waits.
  EXPECT_LT(queue->commits(), kThreads * kPerThread / 2);
  EXPECT_EQ(*queue->size(), kThreads * kPerThread);
  queue.reset();
  queue = open();
  EXPECT_EQ(*queue->size(), kThreads * kPerThread);
}

TEST_F(QueueTest, EnqueueAssignsIdsAndRefusesAQueuedId) {
  auto queue = open();
  auto id = queue->enqueueAndWait(event("f"));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->size(), 36u);
  Event again = event("f");
  again.id = *id;
  auto dup = queue->enqueueAndWait(again);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*queue->size(), 1);
}

TEST_F(QueueTest, ClaimLeasesEventsUntilTheLeaseEnds) {
  auto queue = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue->enqueueAndWait(event("f")).ok());
  auto first = queue->claim(3, 1000ms);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 3u);
  auto second = queue->claim(10, 1000ms);
  EXPECT_EQ(second->size(), 2u);
  EXPECT_TRUE(queue->claim(10, 1000ms)->empty());
  EXPECT_EQ(**queue->nextDueMs(), clock_.load() + 1000);
  clock_ += 1001;  // the leases end: no outcome came
  EXPECT_EQ(queue->claim(10, 1000ms)->size(), 5u);
}

TEST_F(QueueTest, ARestartReleasesThePreviousRunsLeases) {
  auto queue = open();
  std::set<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.insert(*queue->enqueueAndWait(event("f")));
  EXPECT_EQ(queue->claim(10, 3600s)->size(), 4u);
  queue.reset();  // as if killed: no outcomes were recorded
  queue = open();
  auto again = queue->claim(10, 3600s);
  ASSERT_EQ(again->size(), 4u);
  for (const auto& e : *again) EXPECT_TRUE(ids.contains(e.id));
}

TEST_F(QueueTest, RetryLaterKeepsTheStateAndTheDueTime) {
  auto queue = open();
  ASSERT_TRUE(queue->enqueueAndWait(event("f", R"({"n":1})")).ok());
  auto claimed = queue->claim(1, 1000s);
  ASSERT_EQ(claimed->size(), 1u);
  Event e = claimed->front();
  e.invocations = 1;
  e.function_errors = 1;
  e.last_status = 200;
  e.last_function_error = "Unhandled";
  e.last_response = R"({"errorMessage":"boom"})";
  e.due_ms = clock_ + 60'000;
  std::promise<Status> done;
  queue->retryLater(e, [&](Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get().ok());
  EXPECT_TRUE(queue->claim(1, 1000s)->empty());
  clock_ += 60'000;
  queue.reset();
  queue = open();
  auto again = queue->claim(1, 1000s);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().id, e.id);
  EXPECT_EQ(again->front().payload, R"({"n":1})");
  EXPECT_EQ(again->front().invocations, 1);
  EXPECT_EQ(again->front().function_errors, 1);
  EXPECT_EQ(again->front().last_function_error, "Unhandled");
  EXPECT_EQ(again->front().last_response, R"({"errorMessage":"boom"})");
}

TEST_F(QueueTest, FinishRemovesTheEventAndStoresItsFollowUpAndDeadLetterAtomically) {
  auto queue = open();
  std::string id = *queue->enqueueAndWait(event("f", R"({"a":1})"));
  ASSERT_EQ(queue->claim(1, 1000s)->size(), 1u);
  Finish finish;
  finish.id = id;
  finish.follow_up = event("g", R"({"record":true})");
  finish.follow_up->id = "00000000-0000-4000-8000-000000000001";
  DeadLetter d;
  d.id = "dl-1";
  d.queue = "failures";
  d.request_id = id;
  d.function = "f";
  d.condition = "RetriesExhausted";
  d.payload = R"({"a":1})";
  d.record = R"({"version":"1.0"})";
  finish.dead_letter = d;
  std::promise<Status> done;
  queue->finish(finish, [&](Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get().ok());
  auto next = queue->claim(10, 1000s);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->front().function, "g");

  auto letters = queue->listDeadLetters({});
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->front().queue, "failures");
  EXPECT_EQ(queue->getDeadLetter("dl-1")->record, R"({"version":"1.0"})");
  EXPECT_EQ(queue->getDeadLetter("nope").error().code, ErrorCode::kNotFound);
  DeadLetterQuery other;
  other.queue = "other";
  EXPECT_TRUE(queue->listDeadLetters(other)->empty());

  // Redrive: the original event, under its id, fresh.
  auto redriven = queue->redrive("dl-1");
  ASSERT_TRUE(redriven.ok()) << redriven.error().message;
  EXPECT_EQ(*redriven, id);
  EXPECT_TRUE(queue->listDeadLetters({})->empty());
  auto again = queue->claim(10, 1000s);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().id, id);
  EXPECT_EQ(again->front().payload, R"({"a":1})");
  EXPECT_EQ(again->front().invocations, 0);
}

TEST_F(QueueTest, PurgeAndDeleteDeadLetters) {
  auto queue = open();
  for (int i = 0; i < 3; ++i) {
    std::string id = *queue->enqueueAndWait(event("f"));
    DeadLetter d;
    d.id = "dl-" + std::to_string(i);
    d.queue = i == 0 ? "a" : "b";
    d.request_id = id;
    d.function = "f";
    std::promise<Status> done;
    queue->finish({id, std::nullopt, d}, [&](Status st) { done.set_value(st); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  DeadLetterQuery query;
  query.after_id = "dl-0";
  query.limit = 1;
  auto page = queue->listDeadLetters(query);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ(page->front().id, "dl-1");
  EXPECT_TRUE(queue->deleteDeadLetter("dl-1").ok());
  EXPECT_EQ(queue->deleteDeadLetter("dl-1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*queue->purgeDeadLetters("b"), 1);
  EXPECT_EQ(*queue->purgeDeadLetters(""), 1);
  EXPECT_TRUE(queue->listDeadLetters({})->empty());
}

}  // namespace
}  // namespace gust::events
