// LogWriter: takes invocations' logs off the invocation's critical path. add() only queues;
// one thread writes batches to the Store and prunes records older than the retention.
//
// Durability: a record is on disk only once its batch is written (within flush_interval of
// add()); a crash can lose the last few invocations' logs. The queue is bounded: when the store
// cannot keep up, new records are dropped and counted rather than growing memory without bound.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace gust::store {

struct LogWriterOptions {
  std::chrono::hours retention{72};  // records older than this are deleted
  std::chrono::milliseconds flush_interval{200};
  std::chrono::minutes prune_interval{10};
  size_t max_batch = 256;
  size_t max_queued = 10000;
};

// Thread-safety: add() and flush() may be called from any thread. `store` must outlive it.
class LogWriter {
 public:
  LogWriter(Store& store, LogWriterOptions options);
  ~LogWriter();  // writes what is queued, then stops the thread
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues a record (never blocks on I/O).
  void add(LogRecord record);
  // Waits until every record added before the call was written (or dropped).
  void flush();
  // Records dropped because the queue was full or the store failed.
  uint64_t dropped() const;

 private:
  void run();
  void prune();

  Store& store_;
  const LogWriterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // records queued, or stopping_
  std::condition_variable done_cv_;  // done_ advanced
  // Guarded by mu_.
  std::deque<LogRecord> queue_;
  uint64_t added_ = 0;  // records accepted by add() (queued or dropped)
  uint64_t done_ = 0;   // of those, written or dropped
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace gust::store
