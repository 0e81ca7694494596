#include "events/dispatcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/thread_pool.h"
#include "common/time.h"
#include "events/queue.h"

namespace gust::events {
namespace {

// The longest the dispatching thread sleeps without looking at the queue: bounds the effect of
// a wake-up that raced with its wait, and of a clock changed by tests.
constexpr std::chrono::milliseconds kMaxIdleWait{200};

}  // namespace

class Dispatcher::Impl : public std::enable_shared_from_this<Dispatcher::Impl> {
 public:
  Impl(DispatcherOptions options, DispatcherHooks hooks, EventQueue& queue)
      : options_(std::move(options)),
        hooks_(std::move(hooks)),
        queue_(queue),
        pool_(std::make_unique<ThreadPool>(std::max(1, options_.threads))) {}

  int64_t now() const { return options_.now_ms ? options_.now_ms() : wallClockMs(); }

  void start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || stopping_) return;
    std::weak_ptr<Impl> weak = weak_from_this();
    queue_.setOnEnqueued([weak] {
      if (auto self = weak.lock()) self->wake();
    });
    thread_ = std::thread([this] { run(); });
  }

  void stopClaiming() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    std::lock_guard lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
    }
    stopClaiming();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return in_flight_ == 0; });
      stopped_ = true;
    }
    // Joins the pool's threads here, on the owner's thread: a task may hold the last reference
    // to this Impl, whose destructor must not run on a thread of its own pool.
    pool_.reset();
  }

  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

  int inFlight() const {
    std::lock_guard lock(mu_);
    return in_flight_;
  }

 private:
  void run() {
    for (;;) {
      int room = 0;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        woken_ = false;
        room = options_.max_in_flight - in_flight_;
      }
      bool full = false;
      if (room > 0) {
        auto claimed = queue_.claim(room, options_.lease);
        if (!claimed) {
          spdlog::error("asynchronous invocations: {}", claimed.error().message);
        } else {
          full = static_cast<int>(claimed->size()) == room;
          {
            std::lock_guard lock(mu_);
            in_flight_ += static_cast<int>(claimed->size());
          }
          for (auto& event : *claimed)
            pool_->post([self = shared_from_this(), event = std::move(event)]() mutable {
              self->deliver(std::move(event));
            });
          if (!claimed->empty() && !full) continue;  // more may have become due meanwhile
        }
      }
      std::chrono::milliseconds wait = kMaxIdleWait;
      if (room > 0 && !full) {
        if (auto next = queue_.nextDueMs(); next && *next)
          wait = std::clamp(std::chrono::milliseconds(**next - now()), std::chrono::milliseconds(0),
                            kMaxIdleWait);
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, wait, [&] {
        return stopping_ || woken_ || (full && in_flight_ < options_.max_in_flight);
      });
    }
  }

  void done() {
    {
      std::lock_guard lock(mu_);
      --in_flight_;
      woken_ = true;
    }
    cv_.notify_all();
  }

  std::string functionArn(const Event& event) const {
    std::string version = !event.last_version.empty() ? event.last_version
                          : !event.qualifier.empty()  ? event.qualifier
                                                      : "$LATEST";
    return fmt::format("arn:aws:lambda:{}:{}:function:{}:{}", options_.region, options_.account_id,
                       event.function, version);
  }

  // On a pool thread.
  void deliver(Event event) {
    auto target = hooks_.lookup(event.function, event.qualifier);
    if (!target) {
      if (target.error().code == ErrorCode::kNotFound) return drop(event, target.error());
      return backOff(std::move(event), 500, target.error());
    }
    if (now() - event.enqueued_ms > int64_t{target->config.maximum_event_age_s} * 1000)
      return end(std::move(event), target->config, kConditionEventAgeExceeded);
    if (target->switched_off)
      return end(std::move(event), target->config, kConditionZeroReservedConcurrency);
    Event copy = event;
    hooks_.invoke(copy, [self = shared_from_this(), event = std::move(event),
                         config = target->config](Result<DeliveryResult> result) mutable {
      self->pool_->post([self, event = std::move(event), config = std::move(config),
                         result = std::move(result)]() mutable {
        self->outcome(std::move(event), config, std::move(result));
      });
    });
  }

  void outcome(Event event, const InvokeConfig& config, Result<DeliveryResult> result) {
    if (!result) {
      if (result.error().code == ErrorCode::kNotFound) return drop(event, result.error());
      int status = result.error().code == ErrorCode::kResourceExhausted ? 429 : 500;
      return backOff(std::move(event), status, result.error());
    }
    event.invocations += 1;
    event.throttles = 0;
    event.last_status = 200;
    event.last_version = result->executed_version;
    event.last_response = std::move(result->payload);
    if (!result->function_error) {
      event.last_function_error.clear();
      return end(std::move(event), config, kConditionSuccess);
    }
    event.last_function_error = "Unhandled";
    event.function_errors += 1;
    if (event.function_errors > config.maximum_retry_attempts || options_.retry_delays.empty())
      return end(std::move(event), config, kConditionRetriesExhausted);
    size_t step =
        std::min(static_cast<size_t>(event.function_errors - 1), options_.retry_delays.size() - 1);
    reschedule(std::move(event), config, options_.retry_delays[step]);
  }

  // Throttled, not started, or the settings could not be read: again after the backoff.
  void backOff(Event event, int status, const Error& error) {
    event.throttles += 1;
    event.last_status = status;
    auto delay = options_.backoff_min;
    for (int i = 1; i < event.throttles && delay < options_.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, options_.backoff_max);
    spdlog::debug("event {} for {} not delivered ({}); again in {} ms", event.id, event.function,
                  error.message, delay.count());
    reschedule(std::move(event), std::nullopt, delay);
  }

  void reschedule(Event event, std::optional<InvokeConfig> config,
                  std::chrono::milliseconds delay) {
    event.due_ms = now() + delay.count();
    // An event that would be too old by then is due when it becomes too old, to be sent to its
    // on-failure destination on time.
    if (config)
      event.due_ms = std::min(event.due_ms,
                              event.enqueued_ms + int64_t{config->maximum_event_age_s} * 1000 + 1);
    queue_.retryLater(std::move(event), [self = shared_from_this()](Status st) {
      if (!st) spdlog::error("asynchronous invocations: {}", st.error().message);
      self->done();
    });
  }

  void drop(const Event& event, const Error& why) {
    spdlog::warn("event {} for {} dropped: {}", event.id, event.function, why.message);
    commit(Finish{event.id, std::nullopt, std::nullopt});
  }

  // The event's last delivery ended it: the record goes to the destination of `condition`.
  void end(Event event, const InvokeConfig& config, std::string_view condition) {
    bool success = condition == kConditionSuccess;
    const std::optional<Destination>& destination = success ? config.on_success : config.on_failure;
    Finish finish{event.id, std::nullopt, std::nullopt};
    if (!destination) {
      if (!success)
        spdlog::warn("event {} for {} discarded ({}, {} invocations): no on-failure destination",
                     event.id, event.function, condition, event.invocations);
      return commit(std::move(finish));
    }
    int64_t t = now();
    std::string record = invocationRecord(event, condition, functionArn(event), t);
    auto dead_letter = [&](std::string queue) {
      DeadLetter d;
      d.id = uuid4();
      d.queue = std::move(queue);
      d.request_id = event.id;
      d.function = event.function;
      d.qualifier = event.qualifier;
      d.condition = std::string(condition);
      d.created_ms = t;
      d.payload = event.payload;
      d.record = record;
      return d;
    };
    switch (destination->kind) {
      case DestinationKind::kFunction: {
        if (event.cascade_depth + 1 > options_.max_cascade_depth) {
          spdlog::warn(
              "event {} for {}: its record is not sent to {}: {} destinations deep, "
              "more than {} (a loop of destinations?)",
              event.id, event.function, destination->arn, event.cascade_depth + 1,
              options_.max_cascade_depth);
          break;
        }
        Event next;
        next.cascade_depth = event.cascade_depth + 1;
        next.id = uuid4();
        next.function = destination->name;
        next.qualifier = destination->qualifier;
        next.payload = std::move(record);
        next.enqueued_ms = next.due_ms = t;
        finish.follow_up = std::move(next);
        break;
      }
      case DestinationKind::kDeadLetterStore:
        finish.dead_letter = dead_letter(destination->name);
        break;
      case DestinationKind::kTopic: {
        Status published =
            hooks_.publish_topic
                ? hooks_.publish_topic(destination->arn, record)
                : Status(Error::unavailable("this server has no topics to publish to"));
        if (!published) {
          // Kept rather than lost: the record waits in the dead-letter store under the topic's
          // name, from where it can be redriven.
          spdlog::error(
              "event {}: cannot publish to {}: {}; the record is kept in the "
              "dead-letter store, queue '{}'",
              event.id, destination->arn, published.error().message, destination->name);
          finish.dead_letter = dead_letter(destination->name);
        }
        break;
      }
    }
    commit(std::move(finish));
  }

  void commit(Finish finish) {
    queue_.finish(std::move(finish), [self = shared_from_this()](Status st) {
      if (!st) spdlog::error("asynchronous invocations: {}", st.error().message);
      self->done();
    });
  }

  DispatcherOptions options_;
  DispatcherHooks hooks_;
  EventQueue& queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;      // claimed, outcome not yet committed; guarded by mu_
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  bool stopped_ = false;   // guarded by mu_
  std::mutex join_mu_;     // serialises joining thread_
  std::thread thread_;
  std::unique_ptr<ThreadPool> pool_;  // reset by stop()
};

Dispatcher::Dispatcher(DispatcherOptions options, DispatcherHooks hooks, EventQueue& queue)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(hooks), queue)) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() { impl_->start(); }
void Dispatcher::stopClaiming() { impl_->stopClaiming(); }
void Dispatcher::stop() { impl_->stop(); }
void Dispatcher::wake() { impl_->wake(); }
int Dispatcher::inFlight() const { return impl_->inFlight(); }

}  // namespace gust::events
