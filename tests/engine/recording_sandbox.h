// A test double around a real Sandbox: records every SpawnSpec and lets a test make processes
// report what only a cgroup sandbox can (an OOM kill, a peak memory figure).
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "sandbox/sandbox.h"

namespace gust::engine {

class RecordingSandbox final : public sandbox::Sandbox {
 public:
  explicit RecordingSandbox(sandbox::Sandbox& inner) : inner_(inner) {}

  // A process killed by SIGKILL then reports oomKilled(), as if the memory cgroup killed it.
  std::atomic<bool> sigkill_is_oom{false};
  std::atomic<uint64_t> peak_memory_bytes{0};

  sandbox::Layout layout(const sandbox::SpawnSpec& spec) const override {
    return inner_.layout(spec);
  }

  Result<std::unique_ptr<sandbox::Process>> spawn(const sandbox::SpawnSpec& spec) override {
    {
      std::lock_guard lock(mu_);
      specs_.push_back(spec);
    }
    auto process = inner_.spawn(spec);
    if (!process.ok()) return process.error();
    return std::unique_ptr<sandbox::Process>(std::make_unique<Process>(std::move(*process), *this));
  }

  std::vector<sandbox::SpawnSpec> specs() const {
    std::lock_guard lock(mu_);
    return specs_;
  }

 private:
  class Process final : public sandbox::Process {
   public:
    Process(std::unique_ptr<sandbox::Process> inner, RecordingSandbox& owner)
        : inner_(std::move(inner)), owner_(owner) {}
    pid_t pid() const override { return inner_->pid(); }
    int channelFd() const override { return inner_->channelFd(); }
    int stdoutFd() const override { return inner_->stdoutFd(); }
    int stderrFd() const override { return inner_->stderrFd(); }
    void kill() override { inner_->kill(); }
    std::optional<int> exitStatus() override { return remember(inner_->exitStatus()); }
    std::optional<int> waitExit(std::chrono::milliseconds timeout) override {
      return remember(inner_->waitExit(timeout));
    }
    bool oomKilled() override {
      return owner_.sigkill_is_oom && status_ && WIFSIGNALED(*status_) &&
             WTERMSIG(*status_) == SIGKILL;
    }
    uint64_t peakMemoryBytes() override { return owner_.peak_memory_bytes; }
    int runtimeApiListenFd() const override { return inner_->runtimeApiListenFd(); }
    int lambdaApiListenFd() const override { return inner_->lambdaApiListenFd(); }
    std::string lambdaApiEndpoint() const override { return inner_->lambdaApiEndpoint(); }

   private:
    std::optional<int> remember(std::optional<int> status) {
      if (status) status_ = status;
      return status;
    }
    std::unique_ptr<sandbox::Process> inner_;
    RecordingSandbox& owner_;
    std::optional<int> status_;
  };

  sandbox::Sandbox& inner_;
  mutable std::mutex mu_;
  std::vector<sandbox::SpawnSpec> specs_;
};

}  // namespace gust::engine
