// Schedules: EventBridge schedule expressions that invoke a function asynchronously, kept in the
// Store and fired by the Scheduler's thread through the durable event queue (EnqueueFn), so a
// scheduled event gets the queue's durability, retries and destinations.
//
// Firing: a schedule is due when its next slot after max(last fired, anchor) has come. It fires
// by enqueueing EventBridge's scheduled event ({"version":"0","id":...,"detail-type":"Scheduled
// Event","source":"aws.events",...,"time":<the slot>,...,"detail":{}}) or its constant input,
// then records the time it fired. After downtime (or a clock jump) a schedule whose slots were
// missed fires once, not once per missed slot, and then waits for its next slot after now.
// Delivery is at least once: a crash between the enqueue and recording the fire fires that
// slot again at the next start. A disabled schedule never fires; enabling it starts counting
// from then (rate expressions too), so it does not catch up on the time it was off.
//
// The clock is injected (SchedulerOptions::now_ms). A test clock — the server's clock plus an
// offset moved by advanceTestClock() — exists only when the server was started with it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"
#include "events/enqueue.h"
#include "events/schedule_expr.h"
#include "store/store.h"

namespace gust::events {

inline constexpr size_t kMaxScheduleNameLength = 64;    // EventBridge's rule names
inline constexpr size_t kMaxScheduleInputBytes = 8192;  // EventBridge's Input
inline constexpr size_t kMaxScheduleDescriptionChars = 512;

struct SchedulerOptions {
  std::function<int64_t()> now_ms;            // the wall clock in epoch ms; empty: the system clock
  bool test_clock = false;                    // advanceTestClock() may move the clock (tests only)
  std::chrono::milliseconds max_sleep{1000};  // the longest the thread sleeps between checks
  std::string region = "us-east-1";           // of the rule ARN in scheduled events
  std::string account_id = "000000000000";
};

// What a user sets: the control API's body, `gust schedule create`, an entry of gust.yaml.
struct ScheduleSpec {
  std::string name;
  std::string expression;
  std::string function;
  std::string qualifier;  // empty or "$LATEST": unqualified
  std::optional<std::string> input;
  std::string description;
  bool enabled = true;
};

// A stored schedule and when it fires next (nullopt: disabled, or never again).
struct ScheduleView {
  store::ScheduleRecord record;
  std::optional<int64_t> next_fire_ms;
};

// Thread-safety: every method may be called from any thread. `store` must outlive it.
class Scheduler {
 public:
  Scheduler(SchedulerOptions options, store::Store& store, EnqueueFn enqueue);
  ~Scheduler();  // stop()

  void start();  // the firing thread
  void stop();   // idempotent

  int64_t nowMs() const;
  // Fires every due schedule once; returns how many fired. The thread calls it; tests may too.
  Result<int> tick();
  // Moves the test clock forward by `ms` and fires what became due (kFailedPrecondition unless
  // the scheduler was made with a test clock). Returns the clock's new time and how many
  // schedules fired.
  Result<std::pair<int64_t, int>> advanceTestClock(int64_t ms);

  // Control operations. create: kInvalidArgument for a bad name, expression, input or target
  // (the message says which and how to fix it), kNotFound for a missing function, version or
  // alias, kAlreadyExists for a taken name.
  Result<ScheduleView> create(ScheduleSpec spec);
  Result<ScheduleView> get(std::string_view name);
  Result<std::vector<ScheduleView>> list(std::string_view function);
  Status remove(std::string_view name);
  Result<ScheduleView> setEnabled(std::string_view name, bool enabled);

  // Checks a spec as create() would, without storing it (gust.yaml's schedules are checked
  // before the function is deployed). `function` overrides the spec's target.
  Status validate(const ScheduleSpec& spec, bool check_target);
  // Makes the schedules that `function`'s gust.yaml defines exactly `specs`: creates or updates
  // them (an update keeps when it last fired; a changed expression starts counting again) and
  // deletes the manifest's schedules of the function that are no longer listed. Schedules
  // created through the API are never touched; a name taken by one is kAlreadyExists.
  Status syncManifest(std::string_view function, std::vector<ScheduleSpec> specs);

  // The event a schedule sends for the slot `slot_ms`.
  std::string payloadFor(const store::ScheduleRecord& schedule, int64_t slot_ms) const;

 private:
  ScheduleView view(store::ScheduleRecord record) const;
  void run();
  void wake();  // the thread checks again now (a schedule or the clock changed)

  SchedulerOptions options_;
  store::Store& store_;
  EnqueueFn enqueue_;
  std::atomic<int64_t> test_offset_ms_{0};

  std::mutex tick_mu_;  // one tick at a time

  std::mutex mu_;  // guards the fields below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// The control API's JSON: a ScheduleSpec from a request body ({"name","expression","function",
// "qualifier","input","description","enabled"}; unknown keys are errors; `input` is a JSON
// string holding JSON text, or any other JSON value, which is sent as its serialisation), and a
// schedule as the API answers it.
Result<ScheduleSpec> scheduleSpecFromJson(std::string_view body);
std::string scheduleToJson(const ScheduleView& schedule);
std::string schedulesToJson(const std::vector<ScheduleView>& schedules);

}  // namespace gust::events
