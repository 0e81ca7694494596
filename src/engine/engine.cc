// The engine: admission (find a warm instance or reserve a slot for a new one) happens on the
// caller's thread under the engine mutex, without I/O; everything that blocks — starting a
// sandbox, waiting for init, the invocation itself, and destroying instances — happens on the
// worker threads or the reaper, outside the mutex. Callbacks are never called under the mutex.
//
// An instance's lifecycle is an explicit state: Starting -> Idle <-> Busy, and any -> Dead.
// Only the thread that moved an instance to Starting or Busy touches its channel until it moves
// it on; the mutex guards the state and the engine's indexes.
#include "engine/engine.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "runtime/runtime.h"
#include "sandbox/sandbox.h"

namespace gust::engine {
namespace {

using Clock = std::chrono::steady_clock;

// How long to wait for an instance whose channel closed to finish exiting, to report its status.
constexpr std::chrono::milliseconds kExitWait{1000};

// ---- Instance lifecycle -------------------------------------------------------------------

struct Starting {};
struct Idle {
  Clock::time_point since;
};
struct Busy {};
struct Dead {};
using InstanceState = std::variant<Starting, Idle, Busy, Dead>;

struct Instance {
  Instance(uint64_t id, std::string function_name, int64_t revision)
      : id(id), function_name(std::move(function_name)), revision(revision) {}

  // Named transitions; an illegal one is a bug in the engine.
  void becomeIdle(Clock::time_point now) {
    GUST_CHECK(std::holds_alternative<Starting>(state) || std::holds_alternative<Busy>(state),
               "only a starting or busy instance can become idle");
    state = Idle{now};
  }
  void becomeBusy() {
    GUST_CHECK(std::holds_alternative<Idle>(state), "only an idle instance can take a request");
    state = Busy{};
  }
  void becomeDead() { state = Dead{}; }
  bool isIdle() const { return std::holds_alternative<Idle>(state); }
  Clock::time_point idleSince() const { return std::get<Idle>(state).since; }

  const uint64_t id;
  const std::string function_name;
  const int64_t revision;
  InstanceState state = Starting{};           // guarded by the engine mutex
  bool discard_when_done = false;             // guarded by the engine mutex; set by evict()
  std::shared_ptr<sandbox::Process> process;  // set under the mutex once spawned
  // Used only by the thread holding the instance Starting or Busy. Declared after `process`
  // so it is destroyed first (it borrows the process's fds).
  std::unique_ptr<runtime::InstanceClient> client;
};

// ---- Lambda's texts -----------------------------------------------------------------------

std::string isoTimeNow() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string errorJson(std::string_view type, std::string_view message) {
  return boost::json::serialize(
      boost::json::object{{"errorMessage", message}, {"errorType", type}});
}

// As Go's os.ProcessState prints it, which is what Lambda reports.
std::string describeExit(std::optional<int> status) {
  if (!status) return "exit status unknown";
  if (WIFEXITED(*status)) return fmt::format("exit status {}", WEXITSTATUS(*status));
  if (WIFSIGNALED(*status)) {
    std::string name = ::strsignal(WTERMSIG(*status));
    if (!name.empty()) name[0] = static_cast<char>(std::tolower(name[0]));
    return "signal: " + name;
  }
  return "exit status unknown";
}

// Peak resident memory of the instance's main process in MB (Lambda's "Max Memory Used"), or 0
// once it has exited.
int maxMemoryUsedMb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) {
      long kb = std::atol(line.c_str() + 6);
      return static_cast<int>((kb + 1023) / 1024);
    }
  }
  return 0;
}

// What an invocation produced, before it is turned into logs and an InvokeResult.
struct Outcome {
  bool function_error = false;
  std::string payload;
  std::string extra_log;  // platform lines Lambda prints between the output and END
  bool reusable = false;
};

// ---- The engine ---------------------------------------------------------------------------

class EngineImpl final : public Engine {
 public:
  EngineImpl(EngineOptions options, sandbox::Sandbox& sandbox)
      : options_(std::move(options)), sandbox_(sandbox) {
    int workers = std::max(1, options_.worker_threads);
    workers_.reserve(static_cast<size_t>(workers));
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { workerLoop(); });
    reaper_ = std::thread([this] { reaperLoop(); });
  }

  ~EngineImpl() override { shutdown(); }

  void invoke(InvokeRequest request, Callback done) override {
    if (!request.function) {
      done(Error::invalid("invoke: no function given"));
      return;
    }
    if (request.request_id.empty()) request.request_id = uuid4();
    std::vector<std::shared_ptr<Instance>> to_stop;  // destroyed after the lock is released
    std::optional<Error> rejected;
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        rejected = Error::unavailable("the engine is shutting down; retry on another server");
      } else {
        auto admitted = admitLocked(*request.function, to_stop);
        if (!admitted.ok()) {
          rejected = admitted.error();
        } else {
          queue_.push_back(
              Task{std::move(request), std::move(done), admitted->first, admitted->second});
          work_cv_.notify_one();
        }
      }
    }
    to_stop.clear();
    if (rejected) done(std::move(*rejected));
  }

  void evict(std::string_view function_name) override {
    std::vector<std::shared_ptr<Instance>> to_stop;
    {
      std::lock_guard lock(mu_);
      auto it = idle_.find(function_name);
      if (it != idle_.end()) {
        for (auto& inst : it->second) retireLocked(inst, to_stop);
        idle_.erase(it);
      }
      for (auto& [id, inst] : instances_)
        if (inst->function_name == function_name) inst->discard_when_done = true;
    }
  }

  int instanceCount() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(instances_.size());
  }

  void shutdown() override {
    std::call_once(shutdown_once_, [this] { doShutdown(); });
  }

 private:
  struct Task {
    InvokeRequest request;
    Callback done;
    std::shared_ptr<Instance> instance;
    bool cold = false;
  };

  // Picks a warm instance of this function revision, or reserves a new one within the limit.
  // Returns the instance (Busy or Starting) and whether it is new.
  Result<std::pair<std::shared_ptr<Instance>, bool>> admitLocked(
      const FunctionSpec& fn, std::vector<std::shared_ptr<Instance>>& to_stop) {
    auto& idle = idle_[fn.name];
    // Idle instances of an older revision will never be used again.
    std::erase_if(idle, [&](std::shared_ptr<Instance>& inst) {
      if (inst->revision >= fn.revision) return false;
      retireLocked(inst, to_stop);
      return true;
    });
    // The most recently used one: the others cool down and get reaped first.
    for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
      if ((*it)->revision != fn.revision) continue;
      auto inst = *it;
      idle.erase(std::next(it).base());
      inst->becomeBusy();
      return std::pair{inst, false};
    }
    if (instances_.size() >= static_cast<size_t>(options_.max_instances) &&
        !retireOldestIdleLocked(to_stop)) {
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("Rate Exceeded. All {} instances allowed for the account are busy; "
                               "retry later or raise max_instances",
                               options_.max_instances)};
    }
    auto inst = std::make_shared<Instance>(next_instance_id_++, fn.name, fn.revision);
    instances_.emplace(inst->id, inst);
    return std::pair{inst, true};
  }

  // Frees a slot by stopping the least recently used idle instance of any function.
  bool retireOldestIdleLocked(std::vector<std::shared_ptr<Instance>>& to_stop) {
    std::vector<std::shared_ptr<Instance>>* oldest_list = nullptr;
    size_t oldest_index = 0;
    for (auto& [name, list] : idle_) {
      for (size_t i = 0; i < list.size(); ++i) {
        if (oldest_list == nullptr ||
            list[i]->idleSince() < (*oldest_list)[oldest_index]->idleSince()) {
          oldest_list = &list;
          oldest_index = i;
        }
      }
    }
    if (oldest_list == nullptr) return false;
    retireLocked((*oldest_list)[oldest_index], to_stop);
    oldest_list->erase(oldest_list->begin() + static_cast<ptrdiff_t>(oldest_index));
    return true;
  }

  // Marks an instance dead and hands it to `to_stop`, whose destruction (outside the mutex)
  // kills and reaps its processes. The caller removes it from idle_ if it was there.
  void retireLocked(const std::shared_ptr<Instance>& inst,
                    std::vector<std::shared_ptr<Instance>>& to_stop) {
    inst->becomeDead();
    instances_.erase(inst->id);
    to_stop.push_back(inst);
  }

  // After an invocation: back to the pool, or retired.
  void finish(const std::shared_ptr<Instance>& inst, bool reusable) {
    std::vector<std::shared_ptr<Instance>> to_stop;
    std::lock_guard lock(mu_);
    if (reusable && !stopping_ && !inst->discard_when_done) {
      inst->becomeIdle(Clock::now());
      idle_[inst->function_name].push_back(inst);
      reaper_cv_.notify_one();
      return;
    }
    retireLocked(inst, to_stop);
    // `to_stop` holds the last engine reference; the caller's reference keeps the instance (and
    // its process) alive until the worker drops it, outside the mutex.
  }

  void workerLoop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;  // shutdown() answers what is still queued
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      run(task);
    }
  }

  void reaperLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      std::vector<std::shared_ptr<Instance>> to_stop;
      std::optional<Clock::time_point> next;
      auto now = Clock::now();
      for (auto& [name, list] : idle_) {
        std::erase_if(list, [&](std::shared_ptr<Instance>& inst) {
          auto expiry = inst->idleSince() + options_.idle_timeout;
          if (expiry <= now) {
            retireLocked(inst, to_stop);
            return true;
          }
          if (!next || expiry < *next) next = expiry;
          return false;
        });
      }
      std::erase_if(idle_, [](const auto& entry) { return entry.second.empty(); });
      if (!to_stop.empty()) {
        lock.unlock();
        to_stop.clear();  // kills and reaps
        lock.lock();
        continue;
      }
      if (next)
        reaper_cv_.wait_until(lock, *next);
      else
        reaper_cv_.wait(lock);
    }
  }

  void doShutdown() {
    std::deque<Task> queued;
    std::vector<std::shared_ptr<Instance>> all;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      queued.swap(queue_);
      for (auto& [id, inst] : instances_) all.push_back(inst);
      idle_.clear();
    }
    work_cv_.notify_all();
    reaper_cv_.notify_all();
    // Busy instances die under their workers, whose reads then fail and report kUnavailable.
    for (auto& inst : all) {
      std::shared_ptr<sandbox::Process> process;
      {
        std::lock_guard lock(mu_);
        process = inst->process;
      }
      if (process) process->kill();
    }
    for (auto& task : queued) {
      finish(task.instance, false);
      task.done(Error::unavailable("the engine shut down before the invocation could run"));
    }
    for (auto& t : workers_) t.join();
    reaper_.join();
    std::lock_guard lock(mu_);
    instances_.clear();
    // `all` is destroyed after the mutex is released (declared before the lock).
  }

  // Spawns the instance's sandbox and waits for its runtime to load the handler.
  // Ok(nullopt) when ready, Ok(error JSON) when the function failed to initialise.
  Result<std::optional<std::string>> startInstance(Instance& inst, const FunctionSpec& fn,
                                                   const std::string& request_id) {
    runtime::FunctionInfo info;
    info.name = fn.name;
    info.version = fn.version;
    info.runtime = fn.runtime;
    info.handler = fn.handler;
    info.memory_mb = fn.memory_mb;
    info.timeout_s = fn.timeout_s;
    info.environment = fn.environment;
    info.region = options_.region;

    sandbox::SpawnSpec spec;
    spec.code_dir = fn.code_dir;
    spec.runtime_dir = options_.runtime_dir;
    spec.limits.memory_mb = fn.memory_mb;
    GUST_ASSIGN_OR_RETURN(runtime::LaunchCommand cmd,
                          runtime::launchCommand(info, sandbox_.layout(spec)));
    spec.argv = std::move(cmd.argv);
    spec.env = std::move(cmd.env);
    auto spawned = sandbox_.spawn(spec);
    if (!spawned.ok())
      return Error::unavailable(fmt::format("cannot start an instance of function '{}': {}",
                                            fn.name, spawned.error().message));
    std::shared_ptr<sandbox::Process> process = std::move(*spawned);
    {
      std::lock_guard lock(mu_);
      inst.process = process;
      if (stopping_) {
        process->kill();
        return Error::unavailable("the engine shut down before the instance started");
      }
    }
    inst.client = std::make_unique<runtime::InstanceClient>(
        process->channelFd(), process->stdoutFd(), process->stderrFd());

    auto init = inst.client->awaitInit(Clock::now() + options_.init_timeout);
    if (!init.ok()) {
      if (init.error().code != ErrorCode::kDeadlineExceeded) return init.error();
      process->kill();
      double secs = std::chrono::duration<double>(options_.init_timeout).count();
      return std::optional<std::string>(errorJson(
          "Sandbox.Timedout", fmt::format("RequestId: {} Error: Init timed out after {:.2f} "
                                          "seconds",
                                          request_id, secs)));
    }
    // The client reports a runtime that died without a word with this compact error (the
    // bootstraps' own errors are spaced by json.dumps); say how it ended, as Lambda does.
    if (*init && init->value().find(R"("errorType":"Runtime.ExitError")") != std::string::npos) {
      return std::optional<std::string>(
          errorJson("Runtime.ExitError",
                    fmt::format("RequestId: {} Error: Runtime exited with error: {}", request_id,
                                describeExit(process->waitExit(kExitWait)))));
    }
    return init;
  }

  // Runs the request on a started instance and classifies what happened.
  Outcome invokeOn(Instance& inst, const FunctionSpec& fn, const InvokeRequest& request,
                   int& max_memory_mb) {
    runtime::InvokeMeta meta;
    meta.request_id = request.request_id;
    meta.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       int64_t{fn.timeout_s} * 1000;
    meta.invoked_function_arn = fmt::format("arn:aws:lambda:{}:{}:function:{}", options_.region,
                                            options_.account_id, fn.name);
    meta.client_context = request.client_context;
    meta.trace_id = request.trace_id;
    auto deadline = Clock::now() + std::chrono::seconds(fn.timeout_s);
    auto out = inst.client->invoke(meta, request.payload, deadline);
    max_memory_mb = maxMemoryUsedMb(inst.process->pid());

    Outcome o;
    if (out.ok()) {
      o.function_error = out->function_error;
      o.payload = std::move(out->payload);
      o.reusable = true;
      return o;
    }
    // Any failure leaves the instance in an unknown state: it is killed and never reused.
    const Error& e = out.error();
    o.function_error = true;
    switch (e.code) {
      case ErrorCode::kDeadlineExceeded: {
        inst.process->kill();
        std::string message = fmt::format("Task timed out after {}.00 seconds", fn.timeout_s);
        o.payload = errorJson("Sandbox.Timedout",
                              fmt::format("RequestId: {} Error: {}", request.request_id, message));
        o.extra_log = fmt::format("{} {} {}\n", isoTimeNow(), request.request_id, message);
        break;
      }
      case ErrorCode::kTooLarge: {
        inst.process->kill();
        o.payload = errorJson("Function.ResponseSizeTooLarge",
                              fmt::format("Response payload size exceeded maximum allowed "
                                          "payload size ({} bytes).",
                                          runtime::kMaxResultBytes));
        break;
      }
      case ErrorCode::kUnavailable: {
        std::string message =
            fmt::format("RequestId: {} Error: Runtime exited with error: {}", request.request_id,
                        describeExit(inst.process->waitExit(kExitWait)));
        inst.process->kill();
        o.payload = errorJson("Runtime.ExitError", message);
        o.extra_log = message + "\nRuntime.ExitError\n";
        break;
      }
      default: {
        inst.process->kill();
        std::string message = fmt::format("RequestId: {} Error: {}", request.request_id, e.message);
        o.payload = errorJson("Runtime.Unknown", message);
        o.extra_log = message + "\n";
        break;
      }
    }
    return o;
  }

  void run(Task& task) {
    const FunctionSpec& fn = *task.request.function;
    Instance& inst = *task.instance;
    const std::string& id = task.request.request_id;

    InvokeResult result;
    result.request_id = id;
    result.executed_version = fn.version;
    result.cold_start = task.cold;
    std::string init_logs;
    Outcome outcome;
    int max_memory_mb = 0;

    if (task.cold) {
      auto init_start = Clock::now();
      auto init = startInstance(inst, fn, id);
      result.init_duration_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - init_start).count();
      if (inst.client) init_logs = inst.client->takeLogs();
      if (!init.ok()) {
        finish(task.instance, false);
        task.done(init.error());
        return;
      }
      if (*init) {
        outcome.function_error = true;
        outcome.payload = std::move(**init);
      }
    }
    if (!outcome.function_error) {
      auto start = Clock::now();
      outcome = invokeOn(inst, fn, task.request, max_memory_mb);
      result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }

    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    std::string output = inst.client ? inst.client->takeLogs() : std::string();
    finish(task.instance, outcome.reusable);
    if (stopping && !outcome.reusable) {
      task.done(Error::unavailable("the engine shut down during the invocation"));
      return;
    }

    result.function_error = outcome.function_error;
    result.payload = std::move(outcome.payload);
    result.logs = buildLogs(fn, id, init_logs, output, outcome.extra_log, result, max_memory_mb);
    if (options_.on_logs) options_.on_logs(fn, id, result.logs);
    task.done(std::move(result));
  }

  // Lambda's log lines, byte for byte: init output, START, the output, END, REPORT.
  static std::string buildLogs(const FunctionSpec& fn, const std::string& id,
                               const std::string& init_logs, const std::string& output,
                               const std::string& extra, const InvokeResult& r, int max_memory_mb) {
    std::string logs = init_logs;
    if (!logs.empty() && logs.back() != '\n') logs.push_back('\n');
    logs += fmt::format("START RequestId: {} Version: {}\n", id, fn.version);
    logs += output;
    if (!output.empty() && output.back() != '\n') logs.push_back('\n');
    logs += extra;
    logs += fmt::format("END RequestId: {}\n", id);
    logs += fmt::format(
        "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} ms\tMemory Size: {} "
        "MB\tMax Memory Used: {} MB\t",
        id, r.duration_ms, static_cast<int64_t>(std::ceil(r.duration_ms)), fn.memory_mb,
        max_memory_mb);
    if (r.cold_start) logs += fmt::format("Init Duration: {:.2f} ms\t", r.init_duration_ms);
    logs += "\n";
    return logs;
  }

  const EngineOptions options_;
  sandbox::Sandbox& sandbox_;
  std::vector<std::thread> workers_;
  std::thread reaper_;
  std::once_flag shutdown_once_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;    // queue_ gained a task, or stopping_
  std::condition_variable reaper_cv_;  // an instance became idle, or stopping_
  // Everything below is guarded by mu_.
  bool stopping_ = false;
  uint64_t next_instance_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Instance>> instances_;  // every live instance
  // Idle instances per function name, least recently used first.
  std::map<std::string, std::vector<std::shared_ptr<Instance>>, std::less<>> idle_;
  std::deque<Task> queue_;
};

}  // namespace

std::unique_ptr<Engine> makeEngine(EngineOptions options, sandbox::Sandbox& sandbox) {
  return std::make_unique<EngineImpl>(std::move(options), sandbox);
}

}  // namespace gust::engine
