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
#include "engine/pool_keys.h"
#include "runtime/runtime.h"
#include "sandbox/sandbox.h"

namespace gust::engine {
namespace {

using Clock = std::chrono::steady_clock;

// How long to wait for an instance whose channel closed to finish exiting, to report its status.
constexpr std::chrono::milliseconds kExitWait{1000};
// How often idle provisioned instances are checked for having died.
constexpr std::chrono::milliseconds kProvisionedCheckInterval{1000};

// ---- Instance lifecycle -------------------------------------------------------------------

struct Starting {};
struct Idle {
  Clock::time_point since;
};
struct Busy {};
struct Dead {};
using InstanceState = std::variant<Starting, Idle, Busy, Dead>;

// Instances, idle lists and provisioned targets are per function version ("name:version"); the
// reservation and the count of invocations in flight are per function.
std::string versionKey(std::string_view name, std::string_view version) {
  return fmt::format("{}:{}", name, version);
}
std::string versionKey(const FunctionSpec& fn) { return versionKey(fn.name, fn.version); }

struct Instance {
  Instance(uint64_t id, const FunctionSpec& fn, bool provisioned)
      : id(id),
        function_name(fn.name),
        key(versionKey(fn)),
        revision(fn.revision),
        provisioned(provisioned) {}

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
  const std::string key;  // versionKey(): instances serve one version of one function
  const int64_t revision;
  InstanceState state = Starting{};  // guarded by the engine mutex
  bool discard_when_done = false;    // guarded by the engine mutex; set by evict()
  // Guarded by the engine mutex. Kept warm for provisioned concurrency: never reaped, replaced
  // when it dies. Cleared when the function's provisioned concurrency no longer needs it.
  bool provisioned;
  std::shared_ptr<sandbox::Process> process;  // set under the mutex once spawned
  // With EngineOptions::serve_lambda_api, set by the thread holding the instance Starting: the
  // instance as a caller (its depth is set by the thread holding it Busy) and what serves its
  // sandbox's listener. Declared after `process` so it is released first.
  std::shared_ptr<InstanceCaller> caller;
  std::shared_ptr<void> lambda_api;
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

int megabytesRoundedUp(uint64_t bytes) { return static_cast<int>((bytes + (1 << 20) - 1) >> 20); }

// What an invocation produced, before it is turned into logs and an InvokeResult.
struct Outcome {
  bool function_error = false;
  std::string payload;
  std::string extra_log;  // platform lines Lambda prints between the output and END
  bool reusable = false;
};

// A pre-started generic instance: its sandbox and the client that saw it become ready. The
// client is declared after the process, so it is destroyed first (it borrows the process's fds).
struct Prestarted {
  std::shared_ptr<sandbox::Process> process;
  std::unique_ptr<runtime::InstanceClient> client;
};

// ---- The engine ---------------------------------------------------------------------------

class EngineImpl final : public Engine {
 public:
  EngineImpl(EngineOptions options, sandbox::Sandbox& sandbox)
      : options_(std::move(options)),
        sandbox_(sandbox),
        pool_enabled_(options_.prestarted_per_runtime > 0 && sandbox_.canAttachCode()),
        pool_keys_(runtime::defaultGenericPoolKeys(),
                   static_cast<size_t>(std::max(1, options_.max_prestarted_pools))) {
    int workers = std::max(1, options_.worker_threads);
    workers_.reserve(static_cast<size_t>(workers));
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { workerLoop(); });
    reaper_ = std::thread([this] { reaperLoop(); });
    // The filler spawns every pre-started sandbox, so it must live as long as they may (a
    // sandbox dies with the thread that spawned it): until shutdown.
    if (pool_enabled_) filler_ = std::thread([this] { fillerLoop(); });
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
          ++in_flight_;
          ++in_flight_by_fn_[request.function->name];
          queue_.push_back(
              Task{std::move(request), std::move(done), admitted->first, admitted->second});
          wakeWorkerLocked();
        }
      }
    }
    to_stop.clear();
    if (rejected) done(std::move(*rejected));
  }

  void configure(std::shared_ptr<const FunctionSpec> function) override {
    GUST_CHECK(function != nullptr, "configure() needs a function");
    std::vector<std::shared_ptr<Instance>> to_stop;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      noteReservationLocked(*function);
      std::string name = versionKey(*function);
      if (function->provisioned_concurrency > 0) {
        auto& entry = provisioned_[name];
        entry.spec = std::move(function);
        entry.retry_after = Clock::time_point{};
      } else {
        provisioned_.erase(name);
      }
      provisionLocked(name, to_stop);
    }
    reaper_cv_.notify_one();
  }

  void evict(std::string_view function_name) override {
    std::vector<std::shared_ptr<Instance>> to_stop;
    {
      std::lock_guard lock(mu_);
      if (auto it = reserved_.find(function_name); it != reserved_.end()) reserved_.erase(it);
      std::string prefix = versionKey(function_name, "");
      std::erase_if(provisioned_, [&](const auto& e) { return e.first.starts_with(prefix); });
      std::erase_if(idle_, [&](auto& e) {
        if (!e.first.starts_with(prefix)) return false;
        for (auto& inst : e.second) retireLocked(inst, to_stop);
        return true;
      });
      for (auto& [id, inst] : instances_)
        if (inst->function_name == function_name) inst->discard_when_done = true;
    }
  }

  int instanceCount() const override {
    std::lock_guard lock(mu_);
    return static_cast<int>(instances_.size());
  }

  int provisionedReadyCount(std::string_view function_name,
                            std::string_view version) const override {
    std::string key = versionKey(function_name, version);
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count_if(instances_.begin(), instances_.end(), [&](const auto& e) {
      const Instance& inst = *e.second;
      return inst.provisioned && inst.key == key &&
             (std::holds_alternative<Idle>(inst.state) || std::holds_alternative<Busy>(inst.state));
    }));
  }

  int prestartedCount() const override {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [runtime, list] : prestarted_) n += list.size();
    return static_cast<int>(n);
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
    bool provision = false;  // only start the instance (provisioned concurrency); no request
  };

  // A function's provisioned concurrency: its current spec and when a failed start may be
  // retried.
  struct Provisioned {
    std::shared_ptr<const FunctionSpec> spec;
    Clock::time_point retry_after;
  };

  static int countIn(const std::map<std::string, int, std::less<>>& counts, std::string_view name) {
    auto it = counts.find(name);
    return it == counts.end() ? 0 : it->second;
  }

  void noteReservationLocked(const FunctionSpec& fn) {
    if (fn.reserved_concurrency)
      reserved_[fn.name] = std::max(0, *fn.reserved_concurrency);
    else if (auto it = reserved_.find(fn.name); it != reserved_.end())
      reserved_.erase(it);
  }

  // Lambda's throttling: a function with a reservation runs at most that many invocations at
  // once; the others share what the reservations leave of the account's limit.
  std::optional<Error> throttleLocked(const FunctionSpec& fn) {
    int running = countIn(in_flight_by_fn_, fn.name);
    if (fn.reserved_concurrency) {
      if (running < *fn.reserved_concurrency) return std::nullopt;
      return Error{ErrorCode::kResourceExhausted,
                   fmt::format("{}: Rate Exceeded. Function '{}' is running its reserved "
                               "concurrency of {} invocations at once; retry later or raise its "
                               "reserved_concurrency",
                               kReservedLimitReason, fn.name, *fn.reserved_concurrency)};
    }
    int reserved_total = 0;
    int reserved_running = 0;
    for (const auto& [name, n] : reserved_) {
      reserved_total += n;
      reserved_running += countIn(in_flight_by_fn_, name);
    }
    int pool = std::max(0, options_.account_concurrency - reserved_total);
    if (in_flight_ - reserved_running < pool) return std::nullopt;
    return Error{
        ErrorCode::kResourceExhausted,
        fmt::format("{}: Rate Exceeded. All {} concurrent invocations of the account's "
                    "unreserved pool are in use (limit {}, {} reserved by functions); "
                    "retry later, or lower reservations or raise the account limit",
                    kAccountLimitReason, pool, options_.account_concurrency, reserved_total)};
  }

  // Brings the function's provisioned instances to its target: starts missing ones (unless a
  // start failed recently), and releases those of other revisions or beyond the target to the
  // ordinary pool (idle ones of other revisions are stopped now).
  void provisionLocked(std::string_view name, std::vector<std::shared_ptr<Instance>>& to_stop) {
    auto entry = provisioned_.find(name);
    const FunctionSpec* fn = entry == provisioned_.end() ? nullptr : entry->second.spec.get();
    int target = fn ? fn->provisioned_concurrency : 0;
    int have = 0;
    for (auto& [id, inst] : instances_) {
      if (!inst->provisioned || inst->key != name) continue;
      if (fn && inst->revision == fn->revision && !inst->discard_when_done && have < target)
        ++have;
      else
        inst->provisioned = false;  // an ordinary instance now, reaped when idle
    }
    if (auto it = idle_.find(name); it != idle_.end() && fn) {
      std::erase_if(it->second, [&](std::shared_ptr<Instance>& inst) {
        if (inst->revision == fn->revision) return false;
        retireLocked(inst, to_stop);
        return true;
      });
    }
    if (!fn || have >= target || Clock::now() < entry->second.retry_after) return;
    for (; have < target; ++have) {
      if (instances_.size() >= static_cast<size_t>(options_.max_instances) &&
          !retireOldestIdleLocked(to_stop)) {
        spdlog::warn("cannot start provisioned instances of {}: {} instances is the limit",
                     fn->name, options_.max_instances);
        entry->second.retry_after = Clock::now() + options_.provision_retry;
        return;
      }
      auto inst = std::make_shared<Instance>(next_instance_id_++, *fn, true);
      instances_.emplace(inst->id, inst);
      Task task;
      task.request.function = entry->second.spec;
      task.instance = std::move(inst);
      task.cold = true;
      task.provision = true;
      queue_.push_back(std::move(task));
      wakeWorkerLocked();
    }
  }

  // Picks a warm instance of this function revision, or reserves a new one within the limit.
  // Returns the instance (Busy or Starting) and whether it is new.
  Result<std::pair<std::shared_ptr<Instance>, bool>> admitLocked(
      const FunctionSpec& fn, std::vector<std::shared_ptr<Instance>>& to_stop) {
    noteReservationLocked(fn);
    if (auto throttled = throttleLocked(fn)) return std::move(*throttled);
    auto& idle = idle_[versionKey(fn)];
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
                   fmt::format("{}: Rate Exceeded. All {} instances allowed for the account are "
                               "busy or provisioned; retry later or raise max_instances",
                               kAccountLimitReason, options_.max_instances)};
    }
    auto inst = std::make_shared<Instance>(next_instance_id_++, fn, false);
    instances_.emplace(inst->id, inst);
    return std::pair{inst, true};
  }

  // Frees a slot by stopping the least recently used idle instance of any function (never a
  // provisioned one).
  bool retireOldestIdleLocked(std::vector<std::shared_ptr<Instance>>& to_stop) {
    std::vector<std::shared_ptr<Instance>>* oldest_list = nullptr;
    size_t oldest_index = 0;
    for (auto& [name, list] : idle_) {
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i]->provisioned) continue;
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

  // After an invocation (or a provisioned start when `invocation` is false): back to the pool,
  // or retired — and then replaced if it was provisioned.
  void finish(const std::shared_ptr<Instance>& inst, bool reusable, bool invocation = true) {
    std::vector<std::shared_ptr<Instance>> to_stop;
    std::unique_lock lock(mu_);
    if (invocation) {
      --in_flight_;
      auto it = in_flight_by_fn_.find(inst->function_name);
      GUST_CHECK(it != in_flight_by_fn_.end() && it->second > 0,
                 "every finished invocation was counted when admitted");
      if (--it->second == 0) in_flight_by_fn_.erase(it);
    }
    if (reusable && !stopping_ && !inst->discard_when_done) {
      inst->becomeIdle(Clock::now());
      idle_[inst->key].push_back(inst);
      reaper_cv_.notify_one();
      return;
    }
    retireLocked(inst, to_stop);
    if (inst->provisioned && !stopping_) {
      auto entry = provisioned_.find(inst->key);
      // A start that failed is retried later; one that died in use is replaced now.
      if (entry != provisioned_.end() && !invocation)
        entry->second.retry_after = Clock::now() + options_.provision_retry;
      provisionLocked(inst->key, to_stop);
      reaper_cv_.notify_one();
    }
    lock.unlock();
    // `to_stop` holds the last engine reference to `inst`; the caller's reference keeps the
    // instance (and its process) alive until the worker drops it, outside the mutex.
  }

  // Under mu_, after a task was queued: a waiting worker takes it, or a new one is started when
  // every worker is busy. A worker waits on its instance for the whole invocation, and a
  // function invoking another synchronously holds its worker while the callee needs one: a fixed
  // number of workers would deadlock once that many callers wait. Bounded by max_instances
  // (every task holds an instance).
  void wakeWorkerLocked() {
    size_t max_workers =
        static_cast<size_t>(std::max({1, options_.worker_threads, options_.max_instances}));
    if (!stopping_ && queue_.size() > idle_workers_ && workers_.size() < max_workers)
      workers_.emplace_back([this] { workerLoop(); });
    else
      work_cv_.notify_one();
  }

  void workerLoop() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        ++idle_workers_;
        work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        --idle_workers_;
        if (stopping_) return;  // shutdown() answers what is still queued
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      if (task.provision)
        provision(task);
      else
        run(task);
    }
  }

  // Starts a provisioned instance ahead of any request; its init output is logged without one.
  void provision(Task& task) {
    const FunctionSpec& fn = *task.request.function;
    auto init = startInstance(*task.instance, task.request.function, "", 0);
    std::string logs = task.instance->client ? task.instance->client->takeLogs() : std::string();
    bool ready = init.ok() && !*init;
    if (!ready) {
      spdlog::warn("provisioned instance of {} failed to start: {}; retrying in {} ms", fn.name,
                   init.ok() ? **init : init.error().message, options_.provision_retry.count());
    }
    finish(task.instance, ready, /*invocation=*/false);
    if (!logs.empty() && options_.on_logs) options_.on_logs(fn, "", logs);
  }

  // Reaps idle instances past the idle timeout and keeps provisioned ones: those that died
  // while idle are replaced, failed starts retried.
  void reaperLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      std::vector<std::shared_ptr<Instance>> to_stop;
      std::optional<Clock::time_point> next;
      auto now = Clock::now();
      for (auto& [name, list] : idle_) {
        std::erase_if(list, [&](std::shared_ptr<Instance>& inst) {
          if (inst->provisioned) {
            // Idle, so no worker owns it: the non-blocking status check is ours to make.
            if (!inst->process || !inst->process->exitStatus()) return false;
            retireLocked(inst, to_stop);
            return true;
          }
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
      if (!provisioned_.empty()) {
        std::vector<std::string> names;
        for (const auto& [name, entry] : provisioned_) names.push_back(name);
        for (const auto& name : names) provisionLocked(name, to_stop);
        auto check = now + kProvisionedCheckInterval;
        if (!next || check < *next) next = check;
      }
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

  // Keeps prestarted_ at its target for each pool in pool_keys_, spawning one sandbox at a time,
  // outside the mutex; after a failed spawn, waits provision_retry before the next try.
  void fillerLoop() {
    auto target = static_cast<size_t>(options_.prestarted_per_runtime);
    std::unique_lock lock(mu_);
    while (!stopping_) {
      const auto& keys = pool_keys_.keys();
      auto missing = std::find_if(keys.begin(), keys.end(), [&](const std::string& key) {
        return prestarted_[key].size() < target;
      });
      if (missing == keys.end()) {
        pool_cv_.wait(lock);
        continue;
      }
      std::string key = *missing;
      lock.unlock();
      auto spawned = startGeneric(key);
      lock.lock();
      if (!spawned.ok()) {
        spdlog::warn("cannot pre-start a {} instance: {}; retrying in {} ms", key,
                     spawned.error().message, options_.provision_retry.count());
        pool_cv_.wait_for(lock, options_.provision_retry, [this] { return stopping_; });
        continue;
      }
      if (stopping_) {
        lock.unlock();
        *spawned = Prestarted{};  // kills and reaps, outside the mutex
        return;
      }
      if (!pool_keys_.contains(key)) {  // its pool was dropped meanwhile
        lock.unlock();
        *spawned = Prestarted{};
        lock.lock();
        continue;
      }
      prestarted_[key].push_back(std::move(*spawned));
    }
  }

  // Spawns a generic instance and waits until its runtime has started (READY), so that taking
  // it costs only the function's own init.
  Result<Prestarted> startGeneric(const std::string& key) {
    sandbox::SpawnSpec spec;  // no code_dir: attached when a function takes it
    spec.runtime_dir = options_.runtime_dir;
    spec.lambda_api = static_cast<bool>(options_.serve_lambda_api);
    GUST_ASSIGN_OR_RETURN(runtime::LaunchCommand cmd,
                          runtime::launchGenericCommand(key, sandbox_.layout(spec)));
    spec.argv = std::move(cmd.argv);
    spec.env = std::move(cmd.env);
    GUST_ASSIGN_OR_RETURN(std::unique_ptr<sandbox::Process> spawned, sandbox_.spawn(spec));
    Prestarted p;
    p.process = std::move(spawned);
    p.client = runtime::makeInstanceClient(*p.process);
    if (auto ready = p.client->awaitReady(Clock::now() + options_.init_timeout); !ready.ok()) {
      std::string output = p.client->takeLogs();
      return Error::unavailable(fmt::format("{}{}{}", ready.error().message,
                                            output.empty() ? "" : "; its output: ", output));
    }
    return p;
  }

  // A live pre-started instance for `fn`'s cold start, or null (none ready, or the function
  // cannot use one). The filler is told to replace it, or to start the pool `fn` asked for.
  std::optional<Prestarted> takePrestarted(const FunctionSpec& fn) {
    std::string key = runtime::genericPoolKey(fn.runtime, fn.memory_mb, fn.environment);
    if (!pool_enabled_ || fn.network != sandbox::Network::kNone || key.empty()) return std::nullopt;
    std::deque<Prestarted> dropped;  // a pool dropped for this one's sake; killed unlocked
    for (bool first = true;; first = false) {
      Prestarted p;
      {
        std::lock_guard lock(mu_);
        if (first && !stopping_) {
          auto touched = pool_keys_.touch(key);
          if (touched.dropped) {
            auto gone = prestarted_.find(*touched.dropped);
            if (gone != prestarted_.end()) {
              dropped = std::move(gone->second);
              prestarted_.erase(gone);
            }
          }
          if (touched.added) pool_cv_.notify_one();
        }
        auto it = prestarted_.find(key);
        if (stopping_ || it == prestarted_.end() || it->second.empty()) return std::nullopt;
        p = std::move(it->second.front());
        it->second.pop_front();
        pool_cv_.notify_one();
      }
      if (!p.process->exitStatus()) return p;
      spdlog::warn("a pre-started {} instance exited while waiting; discarding it", key);
    }
  }

  void doShutdown() {
    std::deque<Task> queued;
    std::vector<std::shared_ptr<Instance>> all;
    std::map<std::string, std::deque<Prestarted>, std::less<>> prestarted;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      queued.swap(queue_);
      for (auto& [id, inst] : instances_) all.push_back(inst);
      idle_.clear();
      prestarted.swap(prestarted_);
    }
    work_cv_.notify_all();
    reaper_cv_.notify_all();
    pool_cv_.notify_all();
    prestarted.clear();  // kills and reaps the pre-started sandboxes
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
      finish(task.instance, false, !task.provision);
      if (task.done)
        task.done(Error::unavailable("the engine shut down before the invocation could run"));
    }
    for (auto& t : workers_) t.join();
    reaper_.join();
    if (filler_.joinable()) filler_.join();
    std::lock_guard lock(mu_);
    instances_.clear();
    // `all` is destroyed after the mutex is released (declared before the lock).
  }

  // Spawns the instance's sandbox and waits for its runtime to load the handler.
  // Ok(nullopt) when ready, Ok(error JSON) when the function failed to initialise.
  // `depth` is the cascade depth of the invocation it is started for.
  Result<std::optional<std::string>> startInstance(
      Instance& inst, const std::shared_ptr<const FunctionSpec>& fn_ptr,
      const std::string& request_id, int depth) {
    const FunctionSpec& fn = *fn_ptr;
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
    spec.limits.tmp_bytes = static_cast<uint64_t>(fn.ephemeral_storage_mb) << 20;
    spec.network = fn.network;
    spec.lambda_api = static_cast<bool>(options_.serve_lambda_api);
    GUST_ASSIGN_OR_RETURN(runtime::LaunchCommand cmd,
                          runtime::launchCommand(info, sandbox_.layout(spec)));
    if (auto pooled = takePrestarted(fn)) {
      if (auto init =
              startFromPool(inst, fn_ptr, std::move(*pooled), spec, cmd.env, request_id, depth))
        return std::move(*init);
    }
    spec.argv = std::move(cmd.argv);
    spec.env = std::move(cmd.env);
    spec.runtime_api = cmd.runtime_api;
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
    inst.client = runtime::makeInstanceClient(*process);
    serveLambdaApi(inst, *process, fn_ptr, depth);
    return finishInit(*process, inst.client->awaitInit(Clock::now() + options_.init_timeout),
                      request_id);
  }

  // Serves Lambda's API on the instance's sandbox listener (EngineOptions::serve_lambda_api),
  // before the instance runs any of its function's code: its init may invoke, too.
  void serveLambdaApi(Instance& inst, sandbox::Process& process,
                      const std::shared_ptr<const FunctionSpec>& fn, int depth) {
    inst.lambda_api.reset();
    inst.caller.reset();
    if (!options_.serve_lambda_api || process.lambdaApiListenFd() < 0) return;
    auto caller = std::make_shared<InstanceCaller>(fn);
    caller->setDepth(depth);
    auto served = options_.serve_lambda_api(process.lambdaApiListenFd(), caller);
    if (!served.ok()) {
      spdlog::warn("an instance of {} cannot invoke functions: {}", fn->name,
                   served.error().message);
      return;
    }
    inst.caller = std::move(caller);
    inst.lambda_api = std::move(*served);
  }

  // Makes a pre-started instance `fn`'s: its code, limits, then INIT with the function's
  // environment. nullopt if the pre-started instance turned out unusable before any of the
  // function's code ran (it is discarded; the caller starts a fresh one).
  std::optional<Result<std::optional<std::string>>> startFromPool(
      Instance& inst, const std::shared_ptr<const FunctionSpec>& fn_ptr, Prestarted pooled,
      const sandbox::SpawnSpec& spec, std::vector<std::string> env, const std::string& request_id,
      int depth) {
    const FunctionSpec& fn = *fn_ptr;
    if (auto st = pooled.process->attachCode(spec.code_dir, spec.limits); !st.ok()) {
      spdlog::warn("cannot give a pre-started instance the code of {}: {}; starting a fresh one",
                   fn.name, st.error().message);
      return std::nullopt;
    }
    std::shared_ptr<sandbox::Process> process = pooled.process;
    {
      std::lock_guard lock(mu_);
      inst.process = process;
      if (stopping_) {
        process->kill();
        return Result<std::optional<std::string>>(
            Error::unavailable("the engine shut down before the instance started"));
      }
    }
    (void)pooled.client->takeLogs();  // the runtime's own start, before it was this function's
    inst.client = std::move(pooled.client);
    pooled.process.reset();
    // INIT replaces the environment the sandbox started the runtime with.
    if (std::string endpoint = process->lambdaApiEndpoint(); !endpoint.empty())
      env.push_back("AWS_ENDPOINT_URL_LAMBDA=" + endpoint);
    serveLambdaApi(inst, *process, fn_ptr, depth);
    auto init = inst.client->initialize(env, Clock::now() + options_.init_timeout);
    // kUnavailable: INIT could not be sent, so none of the function's code ran.
    if (!init.ok() && init.error().code == ErrorCode::kUnavailable) {
      spdlog::warn("a pre-started instance for {} failed: {}; starting a fresh one", fn.name,
                   init.error().message);
      inst.client.reset();
      std::lock_guard lock(mu_);
      inst.process.reset();  // `process` still holds it; destroyed outside the mutex
      return std::nullopt;
    }
    return finishInit(*process, std::move(init), request_id);
  }

  // What awaitInit()/initialize() reported, in Lambda's terms: a timeout kills the instance
  // and is Sandbox.Timedout; a runtime that died during init says how it ended.
  Result<std::optional<std::string>> finishInit(sandbox::Process& process,
                                                Result<std::optional<std::string>> init,
                                                const std::string& request_id) {
    if (!init.ok()) {
      if (init.error().code != ErrorCode::kDeadlineExceeded) return init.error();
      process.kill();
      double secs = std::chrono::duration<double>(options_.init_timeout).count();
      return std::optional<std::string>(errorJson(
          "Sandbox.Timedout", fmt::format("RequestId: {} Error: Init timed out after {:.2f} "
                                          "seconds",
                                          request_id, secs)));
    }
    // The client reports a runtime that died without a word with this compact error (the
    // bootstraps' own errors are spaced by json.dumps); say how it ended, as Lambda does.
    if (*init && init->value().find(R"("errorType":"Runtime.ExitError")") != std::string::npos) {
      auto status = process.waitExit(kExitWait);
      if (process.oomKilled())
        return std::optional<std::string>(
            errorJson("Runtime.OutOfMemory",
                      fmt::format("RequestId: {} Error: Runtime exited with error: signal: killed",
                                  request_id)));
      return std::optional<std::string>(errorJson(
          "Runtime.ExitError", fmt::format("RequestId: {} Error: Runtime exited with error: {}",
                                           request_id, describeExit(status))));
    }
    return init;
  }

  // Runs the request on a started instance and classifies what happened.
  Outcome invokeOn(Instance& inst, const FunctionSpec& fn, const InvokeRequest& request,
                   int& max_memory_mb) {
    if (inst.caller) inst.caller->setDepth(request.cascade_depth);
    runtime::InvokeMeta meta;
    meta.request_id = request.request_id;
    meta.deadline_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       int64_t{fn.timeout_s} * 1000;
    meta.invoked_function_arn = fmt::format("arn:aws:lambda:{}:{}:function:{}", options_.region,
                                            options_.account_id, fn.name);
    if (!request.invoked_qualifier.empty())
      fmt::format_to(std::back_inserter(meta.invoked_function_arn), ":{}",
                     request.invoked_qualifier);
    meta.client_context = request.client_context;
    meta.trace_id = request.trace_id;
    auto deadline = Clock::now() + std::chrono::seconds(fn.timeout_s);
    auto out = inst.client->invoke(meta, request.payload, deadline);
    // The cgroup's peak covers every process of the instance; without one, the main process's.
    uint64_t peak = inst.process->peakMemoryBytes();
    max_memory_mb = peak > 0 ? megabytesRoundedUp(peak) : maxMemoryUsedMb(inst.process->pid());

    Outcome o;
    if (out.ok()) {
      o.function_error = out->function_error;
      o.payload = std::move(out->payload);
      o.reusable = !out->runtime_exits;
      if (out->runtime_exits) {
        // It exits after answering (Node after an uncaught exception), and Lambda says so.
        auto status = inst.process->waitExit(kExitWait);
        o.extra_log = fmt::format(
            "RequestId: {} Error: Runtime exited with error: {}\n"
            "Runtime.ExitError\n",
            request.request_id, describeExit(status));
      }
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
        auto status = inst.process->waitExit(kExitWait);
        // Lambda reports a memory-limit kill as the SIGKILL it is, with its own error type.
        bool oom = inst.process->oomKilled();
        std::string message =
            fmt::format("RequestId: {} Error: Runtime exited with error: {}", request.request_id,
                        oom ? std::string("signal: killed") : describeExit(status));
        std::string_view type = oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
        inst.process->kill();
        o.payload = errorJson(type, message);
        o.extra_log = fmt::format("{}\n{}\n", message, type);
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

    if (!task.cold && inst.client->exited()) {
      // Its runtime exited while idle (Node's after an error once its invocation was answered,
      // as Lambda's does): the invocation gets a new instance, a cold start. What the old one
      // printed last and how it ended come first in the logs, as in Lambda's log stream.
      std::shared_ptr<sandbox::Process> exited;
      {
        std::lock_guard lock(mu_);
        exited = std::move(inst.process);
      }
      auto status = exited->waitExit(kExitWait);
      init_logs = inst.client->takeLogs();
      if (!init_logs.empty() && init_logs.back() != '\n') init_logs.push_back('\n');
      init_logs += fmt::format("Error: Runtime exited with error: {}\nRuntime.ExitError\n",
                               describeExit(status));
      inst.client.reset();
      task.cold = result.cold_start = true;
    }
    if (task.cold) {
      auto init_start = Clock::now();
      auto init = startInstance(inst, task.request.function, id, task.request.cascade_depth);
      result.init_duration_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - init_start).count();
      if (inst.client) init_logs += inst.client->takeLogs();
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
  const bool pool_enabled_;  // pre-started instances are kept (see fillerLoop)
  std::thread filler_;
  std::vector<std::thread> workers_;  // grows under mu_ (wakeWorkerLocked) until stopping_
  size_t idle_workers_ = 0;           // guarded by mu_: workers waiting for a task
  std::thread reaper_;
  std::once_flag shutdown_once_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;    // queue_ gained a task, or stopping_
  std::condition_variable reaper_cv_;  // an instance became idle, or stopping_
  std::condition_variable pool_cv_;    // a pre-started instance was taken, or stopping_
  // Everything below is guarded by mu_.
  bool stopping_ = false;
  uint64_t next_instance_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Instance>> instances_;      // every live instance
  int in_flight_ = 0;                                            // admitted, not yet finished
  std::map<std::string, int, std::less<>> in_flight_by_fn_;      // the same per function (> 0)
  std::map<std::string, int, std::less<>> reserved_;             // reserved concurrency by function
  std::map<std::string, Provisioned, std::less<>> provisioned_;  // functions with a target > 0
  // Idle instances per function name, least recently used first.
  std::map<std::string, std::vector<std::shared_ptr<Instance>>, std::less<>> idle_;
  std::deque<Task> queue_;
  // Pre-started generic instances per pool key, oldest first (see fillerLoop).
  std::map<std::string, std::deque<Prestarted>, std::less<>> prestarted_;
  PoolKeys pool_keys_;  // the pools kept (see takePrestarted)
};

}  // namespace

std::string_view throttleReason(const Error& error) {
  if (error.code != ErrorCode::kResourceExhausted) return {};
  for (std::string_view reason : {kReservedLimitReason, kAccountLimitReason}) {
    if (error.message.starts_with(reason) && error.message.size() > reason.size() &&
        error.message[reason.size()] == ':')
      return reason;
  }
  return {};
}

std::unique_ptr<Engine> makeEngine(EngineOptions options, sandbox::Sandbox& sandbox) {
  return std::make_unique<EngineImpl>(std::move(options), sandbox);
}

}  // namespace gust::engine
