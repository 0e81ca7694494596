// EventQueue on SQLite: one connection owned by the writer thread; every operation, reads
// included, is a task for that thread, so the connection needs no lock and writes that arrive
// together share one transaction and one fsync (group commit).
#include "events/queue.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "common/time.h"
#include "common/unique_fd.h"
#include "store/sqlite/sqlite_db.h"

namespace gust::events {
namespace {

// Migration i brings the schema from user_version i to i + 1. Append only.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE events (
  seq                 INTEGER PRIMARY KEY,
  id                  TEXT NOT NULL UNIQUE,
  function            TEXT NOT NULL,
  qualifier           TEXT NOT NULL,
  payload             TEXT NOT NULL,
  client_context      TEXT NOT NULL,
  trace_id            TEXT NOT NULL,
  cascade_depth       INTEGER NOT NULL DEFAULT 0,
  enqueued_ms         INTEGER NOT NULL,
  due_ms              INTEGER NOT NULL,  -- while leased: the lease's end
  leased              INTEGER NOT NULL DEFAULT 0,
  invocations         INTEGER NOT NULL DEFAULT 0,
  function_errors     INTEGER NOT NULL DEFAULT 0,
  throttles           INTEGER NOT NULL DEFAULT 0,
  last_status         INTEGER NOT NULL DEFAULT 0,
  last_version        TEXT NOT NULL DEFAULT '',
  last_function_error TEXT NOT NULL DEFAULT '',
  last_response       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_due ON events (due_ms);
CREATE TABLE dead_letters (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a safe cursor
  id         TEXT NOT NULL UNIQUE,
  queue      TEXT NOT NULL,
  request_id TEXT NOT NULL,
  function   TEXT NOT NULL,
  qualifier  TEXT NOT NULL,
  condition  TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  payload    TEXT NOT NULL,
  record     TEXT NOT NULL
);
CREATE INDEX dead_letters_by_queue ON dead_letters (queue, seq);
)sql",
};

constexpr const char* kEventColumns =
    "id, function, qualifier, payload, client_context, trace_id, enqueued_ms, due_ms, "
    "invocations, function_errors, throttles, last_status, last_version, last_function_error, "
    "last_response, cascade_depth";
constexpr const char* kDeadLetterColumns =
    "id, queue, request_id, function, qualifier, condition, created_ms, payload, record";

using store::sqlite::DbPtr;
using store::sqlite::StmtPtr;

constexpr std::string_view kLabel = "event queue";

Error dbError(sqlite3* db, std::string_view what) {
  return store::sqlite::sqliteError(db, kLabel, what);
}

Error deadLetterNotFound(std::string_view id) {
  return Error::notFound(fmt::format(
      "dead letter \"{}\" does not exist; list the dead-letter store (gust dlq ls) to see the "
      "records",
      id));
}

}  // namespace

class EventQueue::Impl {
 public:
  Impl(QueueOptions options, DbPtr db)
      : options_(std::move(options)), db_(std::move(db)), writer_([this] { run(); }) {}

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }

  int64_t now() const { return options_.now_ms ? options_.now_ms() : wallClockMs(); }

  // One operation for the writer thread. `apply` runs inside the batch's transaction (in a
  // savepoint of its own: its failure undoes only its own writes); `done` runs after the commit
  // with apply's status, or the commit's error.
  struct Op {
    std::function<Status()> apply;
    std::function<void(Status)> done;
    bool adds_events = false;
  };

  void post(Op op) {
    {
      std::lock_guard lock(mu_);
      ops_.push_back(std::move(op));
    }
    cv_.notify_one();
  }

  // Runs `body` on the writer thread and waits for its result (committed).
  template <class T>
  Result<T> call(std::function<Result<T>()> body, bool adds_events = false) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto value = std::make_shared<std::optional<Result<T>>>();
    Op op;
    op.adds_events = adds_events;
    op.apply = [body = std::move(body), value]() -> Status {
      value->emplace(body());
      if (!value->value().ok()) return value->value().error();
      return okStatus();
    };
    op.done = [promise, value](Status st) {
      if (!st.ok()) return promise->set_value(st.error());
      promise->set_value(std::move(value->value()));
    };
    auto future = promise->get_future();
    post(std::move(op));
    return future.get();
  }

  void setOnEnqueued(std::function<void()> f) { on_enqueued_ = std::move(f); }

  // ---- Statements (writer thread only) -------------------------------------------------------

  sqlite3_stmt* stmt(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
          SQLITE_OK)
        return nullptr;
      it = stmts_.emplace(sql, StmtPtr(raw)).first;
    }
    sqlite3_reset(it->second.get());
    sqlite3_clear_bindings(it->second.get());
    return it->second.get();
  }

  static void bind(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static void bind(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  static void bind(sqlite3_stmt* s, int i, int v) { sqlite3_bind_int64(s, i, v); }
  // Binds `values` as ?1, ?2, ...
  template <class... Values>
  static void bindAll(sqlite3_stmt* s, const Values&... values) {
    int i = 0;
    (bind(s, ++i, values), ...);
  }

  static std::string text(sqlite3_stmt* s, int i) {
    const unsigned char* p = sqlite3_column_text(s, i);
    int n = sqlite3_column_bytes(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }

  Status exec(const char* sql, std::string_view what) {
    sqlite3_stmt* s = stmt(sql);
    if (!s) return dbError(db_.get(), fmt::format("cannot prepare to {}", what));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return dbError(db_.get(), what);
    return okStatus();
  }

  template <class Bind>
  Status write(const char* sql, std::string_view what, Bind&& binder) {
    sqlite3_stmt* s = stmt(sql);
    if (!s) return dbError(db_.get(), fmt::format("cannot prepare to {}", what));
    binder(s);
    if (sqlite3_step(s) != SQLITE_DONE) return dbError(db_.get(), what);
    return okStatus();
  }

  static Event rowToEvent(sqlite3_stmt* s) {
    Event e;
    e.id = text(s, 0);
    e.function = text(s, 1);
    e.qualifier = text(s, 2);
    e.payload = text(s, 3);
    e.client_context = text(s, 4);
    e.trace_id = text(s, 5);
    e.enqueued_ms = sqlite3_column_int64(s, 6);
    e.due_ms = sqlite3_column_int64(s, 7);
    e.invocations = sqlite3_column_int(s, 8);
    e.function_errors = sqlite3_column_int(s, 9);
    e.throttles = sqlite3_column_int(s, 10);
    e.last_status = sqlite3_column_int(s, 11);
    e.last_version = text(s, 12);
    e.last_function_error = text(s, 13);
    e.last_response = text(s, 14);
    e.cascade_depth = sqlite3_column_int(s, 15);
    return e;
  }

  static DeadLetter rowToDeadLetter(sqlite3_stmt* s) {
    DeadLetter d;
    d.id = text(s, 0);
    d.queue = text(s, 1);
    d.request_id = text(s, 2);
    d.function = text(s, 3);
    d.qualifier = text(s, 4);
    d.condition = text(s, 5);
    d.created_ms = sqlite3_column_int64(s, 6);
    d.payload = text(s, 7);
    d.record = text(s, 8);
    return d;
  }

  // ---- Operations (writer thread, inside a transaction) --------------------------------------

  Status insertEvent(const Event& e) {
    static const std::string sql = fmt::format(
        "INSERT INTO events ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15, ?16)",
        kEventColumns);
    Status inserted = write(sql.c_str(), "cannot store the event", [&](sqlite3_stmt* s) {
      bindAll(s, e.id, e.function, e.qualifier, e.payload, e.client_context, e.trace_id,
              e.enqueued_ms, e.due_ms, e.invocations, e.function_errors, e.throttles, e.last_status,
              e.last_version, e.last_function_error, e.last_response, e.cascade_depth);
    });
    if (!inserted && sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_UNIQUE)
      return Error{ErrorCode::kAlreadyExists,
                   fmt::format("event {} is already queued; wait for its delivery", e.id)};
    GUST_TRY(inserted);
    return okStatus();
  }

  Status insertDeadLetter(const DeadLetter& d) {
    static const std::string sql =
        fmt::format("INSERT INTO dead_letters ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    kDeadLetterColumns);
    return write(sql.c_str(), "cannot store the dead letter", [&](sqlite3_stmt* s) {
      bindAll(s, d.id, d.queue, d.request_id, d.function, d.qualifier, d.condition, d.created_ms,
              d.payload, d.record);
    });
  }

  Status applyFinish(const Finish& f) {
    GUST_TRY(write("DELETE FROM events WHERE id = ?1", "cannot remove the delivered event",
                   [&](sqlite3_stmt* s) { bind(s, 1, f.id); }));
    if (f.follow_up) GUST_TRY(insertEvent(*f.follow_up));
    if (f.dead_letter) GUST_TRY(insertDeadLetter(*f.dead_letter));
    return okStatus();
  }

  Status applyRetryLater(const Event& e) {
    return write(
        "UPDATE events SET due_ms = ?2, leased = 0, invocations = ?3, function_errors = ?4, "
        "throttles = ?5, last_status = ?6, last_version = ?7, last_function_error = ?8, "
        "last_response = ?9 WHERE id = ?1",
        "cannot reschedule the event", [&](sqlite3_stmt* s) {
          bindAll(s, e.id, e.due_ms, e.invocations, e.function_errors, e.throttles, e.last_status,
                  e.last_version, e.last_function_error, e.last_response);
        });
  }

  Result<std::vector<Event>> applyClaim(int max, int64_t lease_ms) {
    static const std::string select =
        fmt::format("SELECT {}, seq FROM events WHERE due_ms <= ?1 ORDER BY due_ms, seq LIMIT ?2",
                    kEventColumns);
    int64_t t = now();
    sqlite3_stmt* s = stmt(select.c_str());
    if (!s) return dbError(db_.get(), "cannot prepare to claim events");
    bind(s, 1, t);
    bind(s, 2, int64_t{max});
    std::vector<Event> out;
    std::vector<int64_t> seqs;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return dbError(db_.get(), "cannot claim events");
      out.push_back(rowToEvent(s));
      seqs.push_back(sqlite3_column_int64(s, 16));
    }
    sqlite3_reset(s);
    for (int64_t seq : seqs)
      GUST_TRY(write("UPDATE events SET due_ms = ?2, leased = 1 WHERE seq = ?1",
                     "cannot lease the event", [&](sqlite3_stmt* u) {
                       bind(u, 1, seq);
                       bind(u, 2, t + lease_ms);
                     }));
    return out;
  }

  // ---- The writer ----------------------------------------------------------------------------

  void run() {
    for (;;) {
      std::vector<Op> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !ops_.empty(); });
        if (ops_.empty()) return;  // stopping, and everything handed over is applied
        while (!ops_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
          batch.push_back(std::move(ops_.front()));
          ops_.pop_front();
        }
      }
      applyBatch(batch);
    }
  }

  void applyBatch(std::vector<Op>& batch) {
    std::vector<Status> results(batch.size(), okStatus());
    Status committed = exec("BEGIN IMMEDIATE", "begin a transaction");
    bool adds_events = false;
    if (committed.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (auto st = exec("SAVEPOINT op", "open a savepoint"); !st) {
          results[i] = st;
          continue;
        }
        results[i] = batch[i].apply();
        if (results[i].ok()) {
          adds_events = adds_events || batch[i].adds_events;
          (void)exec("RELEASE op", "release a savepoint");
        } else {
          (void)exec("ROLLBACK TO op", "roll back a savepoint");
          (void)exec("RELEASE op", "release a savepoint");
        }
      }
      committed = exec("COMMIT", "commit");  // synchronous=FULL: fsync'd when this returns
      if (committed.ok())
        commits_.fetch_add(1, std::memory_order_relaxed);
      else
        (void)exec("ROLLBACK", "roll back");
    }
    if (!committed.ok())
      spdlog::error("event queue: {} writes lost: {}", batch.size(), committed.error().message);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(committed.ok() ? results[i] : committed);
    }
    if (committed.ok() && adds_events && on_enqueued_) on_enqueued_();
  }

  QueueOptions options_;
  DbPtr db_;
  std::map<const char*, StmtPtr> stmts_;  // writer thread only
  std::function<void()> on_enqueued_;     // set before use, then read only
  std::atomic<int64_t> commits_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op> ops_;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread writer_;     // last: started when everything above is ready
};

Result<std::unique_ptr<EventQueue>> EventQueue::open(QueueOptions options) {
  const auto& path = options.path;
  {
    // Events carry payloads: owner-only, like the metadata database.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("cannot create event queue " + path.string(), errno);
    if (::fchmod(fd.get(), 0600) != 0)
      return Error::fromErrno("cannot chmod " + path.string(), errno);
  }
  GUST_ASSIGN_OR_RETURN(DbPtr db, store::sqlite::openDatabase(path, kLabel, kMigrations));
  int64_t now = options.now_ms ? options.now_ms() : wallClockMs();
  // The previous run's leases end with it.
  GUST_TRY(store::sqlite::exec(
      db.get(),
      fmt::format("UPDATE events SET leased = 0, due_ms = min(due_ms, {}) WHERE leased = 1", now),
      kLabel, "release the previous run's leases"));
  return std::unique_ptr<EventQueue>(
      new EventQueue(std::make_unique<Impl>(std::move(options), std::move(db))));
}

EventQueue::EventQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventQueue::~EventQueue() = default;

void EventQueue::enqueue(Event event, Done done) {
  if (event.id.empty()) event.id = uuid4();
  int64_t now = impl_->now();
  if (event.enqueued_ms == 0) event.enqueued_ms = now;
  if (event.due_ms == 0) event.due_ms = now;
  Impl::Op op;
  op.adds_events = true;
  op.apply = [impl = impl_.get(), event = std::move(event)] { return impl->insertEvent(event); };
  op.done = std::move(done);
  impl_->post(std::move(op));
}

Result<std::string> EventQueue::enqueueAndWait(Event event) {
  if (event.id.empty()) event.id = uuid4();
  std::promise<Status> promise;
  auto future = promise.get_future();
  std::string id = event.id;
  enqueue(std::move(event), [&promise](Status st) { promise.set_value(std::move(st)); });
  GUST_TRY(future.get());
  return id;
}

Result<std::vector<Event>> EventQueue::claim(int max, std::chrono::milliseconds lease) {
  return impl_->call<std::vector<Event>>(
      [impl = impl_.get(), max, lease] { return impl->applyClaim(max, lease.count()); });
}

Result<std::optional<int64_t>> EventQueue::nextDueMs() {
  return impl_->call<std::optional<int64_t>>(
      [impl = impl_.get()]() -> Result<std::optional<int64_t>> {
        sqlite3_stmt* s = impl->stmt("SELECT min(due_ms) FROM events");
        if (!s || sqlite3_step(s) != SQLITE_ROW)
          return dbError(impl->db_.get(), "cannot read the next due time");
        std::optional<int64_t> out;
        if (sqlite3_column_type(s, 0) != SQLITE_NULL) out = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return out;
      });
}

void EventQueue::finish(Finish finish, Done done) {
  Impl::Op op;
  op.adds_events = finish.follow_up.has_value();
  op.apply = [impl = impl_.get(), finish = std::move(finish)] { return impl->applyFinish(finish); };
  op.done = std::move(done);
  impl_->post(std::move(op));
}

void EventQueue::retryLater(Event event, Done done) {
  Impl::Op op;
  op.adds_events = true;  // due again at some point: a dispatcher recomputes its wake-up
  op.apply = [impl = impl_.get(), event = std::move(event)] {
    return impl->applyRetryLater(event);
  };
  op.done = std::move(done);
  impl_->post(std::move(op));
}

void EventQueue::setOnEnqueued(std::function<void()> on_enqueued) {
  impl_->setOnEnqueued(std::move(on_enqueued));
}

Result<int64_t> EventQueue::size() {
  return impl_->call<int64_t>([impl = impl_.get()]() -> Result<int64_t> {
    sqlite3_stmt* s = impl->stmt("SELECT count(*) FROM events");
    if (!s || sqlite3_step(s) != SQLITE_ROW) return dbError(impl->db_.get(), "cannot count events");
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
  });
}

int64_t EventQueue::commits() const { return impl_->commits_.load(std::memory_order_relaxed); }

Result<std::vector<DeadLetter>> EventQueue::listDeadLetters(const DeadLetterQuery& query) {
  return impl_->call<std::vector<DeadLetter>>(
      [impl = impl_.get(), query]() -> Result<std::vector<DeadLetter>> {
        static const std::string sql = fmt::format(
            "SELECT {} FROM dead_letters WHERE (?1 = '' OR queue = ?1) AND (?2 = '' OR "
            "function = ?2) AND seq > coalesce((SELECT seq FROM dead_letters WHERE id = ?3), 0) "
            "ORDER BY seq LIMIT ?4",
            kDeadLetterColumns);
        sqlite3_stmt* s = impl->stmt(sql.c_str());
        if (!s) return dbError(impl->db_.get(), "cannot prepare to list dead letters");
        Impl::bind(s, 1, query.queue);
        Impl::bind(s, 2, query.function);
        Impl::bind(s, 3, query.after_id);
        Impl::bind(s, 4, int64_t{query.limit});
        std::vector<DeadLetter> out;
        for (;;) {
          int rc = sqlite3_step(s);
          if (rc == SQLITE_DONE) break;
          if (rc != SQLITE_ROW) return dbError(impl->db_.get(), "cannot list dead letters");
          out.push_back(Impl::rowToDeadLetter(s));
        }
        sqlite3_reset(s);
        return out;
      });
}

Result<DeadLetter> EventQueue::getDeadLetter(std::string_view id) {
  return impl_->call<DeadLetter>(
      [impl = impl_.get(), id = std::string(id)]() -> Result<DeadLetter> {
        static const std::string sql =
            fmt::format("SELECT {} FROM dead_letters WHERE id = ?1", kDeadLetterColumns);
        sqlite3_stmt* s = impl->stmt(sql.c_str());
        if (!s) return dbError(impl->db_.get(), "cannot prepare to read a dead letter");
        Impl::bind(s, 1, id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) return deadLetterNotFound(id);
        if (rc != SQLITE_ROW) return dbError(impl->db_.get(), "cannot read the dead letter");
        DeadLetter d = Impl::rowToDeadLetter(s);
        sqlite3_reset(s);
        return d;
      });
}

Status EventQueue::deleteDeadLetter(std::string_view id) {
  auto n = impl_->call<int>([impl = impl_.get(), id = std::string(id)]() -> Result<int> {
    GUST_TRY(impl->write("DELETE FROM dead_letters WHERE id = ?1", "cannot delete the dead letter",
                         [&](sqlite3_stmt* s) { Impl::bind(s, 1, id); }));
    if (sqlite3_changes(impl->db_.get()) == 0) return deadLetterNotFound(id);
    return 1;
  });
  if (!n) return n.error();
  return okStatus();
}

Result<int64_t> EventQueue::purgeDeadLetters(std::string_view queue) {
  return impl_->call<int64_t>(
      [impl = impl_.get(), queue = std::string(queue)]() -> Result<int64_t> {
        GUST_TRY(impl->write("DELETE FROM dead_letters WHERE ?1 = '' OR queue = ?1",
                             "cannot purge dead letters",
                             [&](sqlite3_stmt* s) { Impl::bind(s, 1, queue); }));
        return static_cast<int64_t>(sqlite3_changes(impl->db_.get()));
      });
}

Result<std::string> EventQueue::redrive(std::string_view dead_letter_id) {
  GUST_ASSIGN_OR_RETURN(DeadLetter d, getDeadLetter(dead_letter_id));
  return impl_->call<std::string>(
      [impl = impl_.get(), d = std::move(d)]() -> Result<std::string> {
        Event e;
        e.id = d.request_id;
        e.function = d.function;
        e.qualifier = d.qualifier;
        e.payload = d.payload;
        e.enqueued_ms = e.due_ms = impl->now();
        GUST_TRY(impl->write("DELETE FROM dead_letters WHERE id = ?1",
                             "cannot delete the dead letter",
                             [&](sqlite3_stmt* s) { Impl::bind(s, 1, d.id); }));
        if (sqlite3_changes(impl->db_.get()) == 0) return deadLetterNotFound(d.id);
        GUST_TRY(impl->insertEvent(e));
        return e.id;
      },
      true);
}

}  // namespace gust::events
