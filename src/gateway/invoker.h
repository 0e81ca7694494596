// Resolves a function reference (name + qualifier) to the engine's FunctionSpec and runs it.
// Every path that invokes a function goes through it: Lambda's Invoke, the API gateway's
// routes, the migration adapters and the asynchronous dispatcher.
//
// Resolved specs are cached per (name, qualifier), so a warm invocation reads no SQLite and
// does not leave the caller's thread: only a miss resolves on the control pool. An alias with a
// routing config caches both of its versions and draws between them on every invocation, so
// weighted routing stays exact. The cache is invalidated by whoever changes a function (deploy,
// configuration, code, versions, aliases, concurrency, delete — all of which go through the
// gateway): call invalidate() after the change is stored. Errors (a missing function or alias)
// are never cached.
// Internal to the gateway component.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/engine.h"

namespace gust {
class ThreadPool;
namespace control {
class FunctionService;
}
}  // namespace gust

namespace gust::gateway {

// Thread-safety: every method may be called from any thread. The references must outlive it;
// work posted to `pool` holds no reference to the Invoker beyond the pool's own lifetime (the
// owner destroys the pool, which drains its tasks, before the Invoker).
class Invoker {
 public:
  Invoker(control::FunctionService& functions, engine::Engine& engine, ThreadPool& pool);

  using SpecCallback = std::function<void(Result<std::shared_ptr<const engine::FunctionSpec>>)>;

  // The spec an invocation of `name` with `qualifier` ("" or "$LATEST", a version number or an
  // alias) runs now. Blocking on a cache miss (reads the store, may extract code): call it off
  // I/O threads, or use resolveAsync(). kNotFound names what is missing.
  Result<std::shared_ptr<const engine::FunctionSpec>> resolve(std::string_view name,
                                                              std::string_view qualifier);
  // The cached spec, or null when resolving needs the store. Never blocks.
  std::shared_ptr<const engine::FunctionSpec> cached(std::string_view name,
                                                     std::string_view qualifier);
  // Calls `done` with the spec: at once on the caller's thread on a cache hit, else from the
  // control pool after resolve().
  void resolveAsync(std::string_view name, std::string_view qualifier, SpecCallback done);

  // Resolves (as resolveAsync) and runs `request` on the engine; `done` is called exactly once.
  // request.function is set here; request.invoked_qualifier is the caller's to set.
  void invoke(std::string_view name, std::string_view qualifier, engine::InvokeRequest request,
              engine::Engine::Callback done);

  // Forgets every cached spec of the function. Call after any stored change to it.
  void invalidate(std::string_view name);

  engine::Engine& engine() { return engine_; }

 private:
  // What a qualifier resolves to: one spec, or for a weighted alias two and the weight of the
  // additional one.
  struct Entry {
    std::shared_ptr<const engine::FunctionSpec> primary;
    std::shared_ptr<const engine::FunctionSpec> additional;  // null unless weighted
    double weight = 0;                                       // share of `additional`
  };

  Result<Entry> load(std::string_view name, std::string_view qualifier);
  static std::shared_ptr<const engine::FunctionSpec> pick(const Entry& entry);

  control::FunctionService& functions_;
  engine::Engine& engine_;
  ThreadPool& pool_;
  std::mutex mu_;
  // function name -> qualifier ("$LATEST" for unqualified) -> entry; guarded by mu_.
  std::map<std::string, std::map<std::string, Entry, std::less<>>, std::less<>> cache_;
  // Bumped by every invalidate(): a load that started before one is not cached (it may have
  // read the old configuration). Guarded by mu_.
  uint64_t generation_ = 0;
};

}  // namespace gust::gateway
