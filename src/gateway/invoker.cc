#include "gateway/invoker.h"

#include <algorithm>
#include <random>

#include "common/thread_pool.h"
#include "control/function_service.h"
#include "gateway/common.h"

namespace gust::gateway {
namespace {

constexpr std::string_view kLatest = "$LATEST";

std::string_view normalized(std::string_view qualifier) {
  return qualifier.empty() ? kLatest : qualifier;
}

bool isVersionNumber(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

double uniform01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

Invoker::Invoker(control::FunctionService& functions, engine::Engine& engine, ThreadPool& pool)
    : functions_(functions), engine_(engine), pool_(pool) {}

std::shared_ptr<const engine::FunctionSpec> Invoker::pick(const Entry& entry) {
  // Draws in [0, 1) below the weight go to the additional version (as FunctionService::resolve).
  if (entry.additional && uniform01() < entry.weight) return entry.additional;
  return entry.primary;
}

Result<Invoker::Entry> Invoker::load(std::string_view name, std::string_view qualifier) {
  // The reservation is the function's ($LATEST's), whichever version runs; invocations do not
  // change provisioning (configure() does), so published versions carry none.
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord latest, functions_.get(name));
  auto specOf =
      [&](std::string_view version) -> Result<std::shared_ptr<const engine::FunctionSpec>> {
    if (version == kLatest)
      return specFor(functions_, latest, latest.reserved_concurrency,
                     latest.provisioned_concurrency);
    GUST_ASSIGN_OR_RETURN(store::FunctionRecord record, functions_.getVersion(name, version));
    return specFor(functions_, record, latest.reserved_concurrency, 0);
  };
  Entry entry;
  if (qualifier == kLatest || isVersionNumber(qualifier)) {
    GUST_ASSIGN_OR_RETURN(entry.primary, specOf(qualifier));
    return entry;
  }
  GUST_ASSIGN_OR_RETURN(store::AliasRecord alias, functions_.getAlias(name, qualifier));
  GUST_ASSIGN_OR_RETURN(entry.primary, specOf(alias.function_version));
  // At most one additional version (FunctionService validates aliases).
  for (const auto& [version, weight] : alias.additional_weights) {
    GUST_ASSIGN_OR_RETURN(entry.additional, specOf(version));
    entry.weight = weight;
  }
  return entry;
}

std::shared_ptr<const engine::FunctionSpec> Invoker::cached(std::string_view name,
                                                            std::string_view qualifier) {
  std::lock_guard lock(mu_);
  auto fn = cache_.find(name);
  if (fn == cache_.end()) return nullptr;
  auto it = fn->second.find(normalized(qualifier));
  if (it == fn->second.end()) return nullptr;
  return pick(it->second);
}

Result<std::shared_ptr<const engine::FunctionSpec>> Invoker::resolve(std::string_view name,
                                                                     std::string_view qualifier) {
  if (auto spec = cached(name, qualifier)) return spec;
  qualifier = normalized(qualifier);
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
  }
  GUST_ASSIGN_OR_RETURN(Entry entry, load(name, qualifier));
  auto spec = pick(entry);
  std::lock_guard lock(mu_);
  if (generation == generation_)
    cache_[std::string(name)].insert_or_assign(std::string(qualifier), std::move(entry));
  return spec;
}

void Invoker::resolveAsync(std::string_view name, std::string_view qualifier, SpecCallback done) {
  if (auto spec = cached(name, qualifier)) return done(std::move(spec));
  pool_.post([this, name = std::string(name), qualifier = std::string(qualifier),
              done = std::move(done)] { done(resolve(name, qualifier)); });
}

void Invoker::invoke(std::string_view name, std::string_view qualifier,
                     engine::InvokeRequest request, engine::Engine::Callback done) {
  resolveAsync(name, qualifier,
               [this, request = std::move(request), done = std::move(done)](
                   Result<std::shared_ptr<const engine::FunctionSpec>> spec) mutable {
                 if (!spec) return done(spec.error());
                 request.function = std::move(*spec);
                 engine_.invoke(std::move(request), std::move(done));
               });
}

void Invoker::invalidate(std::string_view name) {
  std::lock_guard lock(mu_);
  ++generation_;
  if (auto it = cache_.find(name); it != cache_.end()) cache_.erase(it);
}

}  // namespace gust::gateway
