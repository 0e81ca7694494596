// The durable event queue: asynchronous invocations waiting for delivery, and the dead-letter
// store, in their own SQLite database (<data-dir>/events.db, WAL, synchronous=FULL).
//
// Group commit: every write (enqueue, a delivery's outcome, a claim) is handed to one writer
// thread, which applies all writes waiting at that moment in one transaction and one fsync,
// then calls their callbacks. An enqueue's callback therefore runs only once the event is on
// disk, and concurrent enqueues share the cost of durability.
//
// Leases: claim() hands events to a dispatcher and leases them (they are not claimed again)
// until the delivery's outcome — finish() or retryLater() — or until the lease expires. The
// lease is written in the database as the event's due time, so an event whose outcome never
// came is claimed again when its lease ends; a server that restarts makes every event leased by
// its previous run due at once (that run is gone). Delivery is at least once: an event whose
// outcome was not yet committed when the server died is delivered again.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "events/event.h"

namespace gust::events {

struct QueueOptions {
  std::filesystem::path path;  // the database file, created 0600 if missing
  // Writes applied in one transaction at most (a bound on one commit's latency).
  int max_batch = 4096;
  // The wall clock in epoch milliseconds (tests inject one).
  std::function<int64_t()> now_ms;
};

// What a delivery's end does in the same transaction as removing the event.
struct Finish {
  std::string id;                         // the event to remove
  std::optional<Event> follow_up;         // an event to enqueue (a function destination)
  std::optional<DeadLetter> dead_letter;  // a record for the dead-letter store
};

// Which dead letters to list: all set fields must match. Ordered oldest first.
struct DeadLetterQuery {
  std::string queue;     // empty: every queue
  std::string function;  // empty: every function
  std::string after_id;  // a cursor: records after this one
  int limit = 100;
};

// Thread-safety: every method may be called from any thread. Callbacks run on the writer thread
// and must not block on the queue (post work elsewhere instead).
class EventQueue {
 public:
  using Done = std::function<void(Status)>;

  // Opens (creating and migrating) the database and starts the writer thread. Events leased by a
  // previous run become due now.
  static Result<std::unique_ptr<EventQueue>> open(QueueOptions options);
  ~EventQueue();  // applies the writes already handed over, then stops the writer

  // Stores the event durably, then calls `done` (ok, or the error that kept it from being
  // stored). An empty id is set to a new UUID; enqueued_ms and due_ms default to now. An id
  // already queued is kAlreadyExists.
  void enqueue(Event event, Done done);
  // The same, waiting for the commit. Returns the event's id.
  Result<std::string> enqueueAndWait(Event event);

  // Leases up to `max` events due now (oldest due first) for `lease` and returns them.
  // Blocking (waits for the writer).
  Result<std::vector<Event>> claim(int max, std::chrono::milliseconds lease);
  // The earliest due time of any queued event (leased ones included: their lease's end), or
  // nullopt when the queue is empty. Blocking.
  Result<std::optional<int64_t>> nextDueMs();

  // Ends a delivery: removes the event, and in the same transaction enqueues the follow-up event
  // and stores the dead letter, if any. `done` may be empty.
  void finish(Finish finish, Done done = {});
  // Ends a delivery that will be retried: stores the event's new state (due_ms, counters, last
  // outcome) and releases its lease.
  void retryLater(Event event, Done done = {});

  // Called after each commit that added events (not from inside a lock of the queue), so a
  // dispatcher can wake up. Set before the first enqueue; not changed afterwards.
  void setOnEnqueued(std::function<void()> on_enqueued);

  // Queued events (leased included). Blocking.
  Result<int64_t> size();
  // Transactions committed since open (each one fsync): with group commit, far fewer than the
  // writes. For tests and benchmarks.
  int64_t commits() const;

  // The dead-letter store. Blocking.
  Result<std::vector<DeadLetter>> listDeadLetters(const DeadLetterQuery& query);
  Result<DeadLetter> getDeadLetter(std::string_view id);  // kNotFound if missing
  Status deleteDeadLetter(std::string_view id);           // kNotFound if missing
  // Deletes the records of `queue` (every queue when empty); returns how many.
  Result<int64_t> purgeDeadLetters(std::string_view queue);
  // Enqueues the record's event again (its original id and payload, fresh delivery state) and
  // deletes the record, in one transaction. Returns the event's id. kAlreadyExists if that event
  // is queued right now.
  Result<std::string> redrive(std::string_view dead_letter_id);

 private:
  class Impl;
  explicit EventQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gust::events
