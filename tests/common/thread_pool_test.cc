#include "common/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

namespace gust {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> ran{0};
  std::mutex mu;
  std::set<std::thread::id> threads;
  {
    ThreadPool pool(3);
    for (int i = 0; i < 200; ++i) {
      pool.post([&] {
        ran.fetch_add(1);
        std::lock_guard lock(mu);
        threads.insert(std::this_thread::get_id());
      });
    }
  }
  EXPECT_EQ(ran.load(), 200);
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(ThreadPoolTest, TasksMayPostTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    pool.post([&] {
      ran.fetch_add(1);
      pool.post([&] { ran.fetch_add(1); });
    });
  }
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace gust
