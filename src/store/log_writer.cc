#include "store/log_writer.h"

#include <spdlog/spdlog.h>

namespace gust::store {
namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LogWriter::LogWriter(Store& store, LogWriterOptions options)
    : store_(store), options_(options), thread_([this] { run(); }) {}

LogWriter::~LogWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LogWriter::add(LogRecord record) {
  std::lock_guard lock(mu_);
  ++added_;
  if (queue_.size() >= options_.max_queued) {
    ++dropped_;
    ++done_;
    return;
  }
  queue_.push_back(std::move(record));
  cv_.notify_one();
}

void LogWriter::flush() {
  std::unique_lock lock(mu_);
  uint64_t target = added_;
  cv_.notify_one();
  done_cv_.wait(lock, [&] { return done_ >= target; });
}

uint64_t LogWriter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void LogWriter::prune() {
  auto cutoff =
      nowMs() - std::chrono::duration_cast<std::chrono::milliseconds>(options_.retention).count();
  auto pruned = store_.pruneLogs(cutoff);
  if (!pruned.ok())
    spdlog::warn("cannot delete expired logs: {}", pruned.error().message);
  else if (*pruned > 0)
    spdlog::debug("deleted {} expired log records", *pruned);
}

void LogWriter::run() {
  prune();
  auto next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
  std::unique_lock lock(mu_);
  for (;;) {
    // Wait for a batch to fill or the flush interval to pass, so records are written together.
    cv_.wait_for(lock, options_.flush_interval,
                 [&] { return stopping_ || queue_.size() >= options_.max_batch; });
    if (!queue_.empty()) {
      std::vector<LogRecord> batch;
      size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      Status written = store_.appendLogs(std::move(batch));
      lock.lock();
      if (!written.ok()) {
        dropped_ += n;
        spdlog::warn("cannot write {} log records (dropped): {}", n, written.error().message);
      }
      done_ += n;
      done_cv_.notify_all();
      continue;  // more may be queued
    }
    if (stopping_) return;
    if (std::chrono::steady_clock::now() >= next_prune) {
      lock.unlock();
      prune();
      lock.lock();
      next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
    }
  }
}

}  // namespace gust::store
