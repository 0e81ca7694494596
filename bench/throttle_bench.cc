// The cost API keys and throttling add to a request on the API gateway's warm path:
//
//   BM_AccountBucket      the account's token bucket (one compare-and-swap), 1 and 2 threads
//   BM_LimiterAdmit       a (plan, key) pair's throttle + quota in UsageLimiter, 1 and 2 threads,
//                         on one key or on keys spread over the shards
//   BM_ServiceAdmit       UsagePlanService::admit: SHA-256 of the x-api-key value, snapshot
//                         lookup, plan match, limiter (the whole per-request check)
//
// Google Benchmark; run the release build: build/release/bench/gust_throttle_bench.
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "apigw/throttle.h"
#include "control/usage_plans.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using gust::apigw::kNanosPerSecond;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Generous limits, so every request is allowed and the full path is measured.
const gust::apigw::PlanLimits kLimits{
    gust::apigw::ThrottleSettings{1e7, 1'000'000},
    gust::apigw::QuotaSettings{1'000'000'000'000, gust::apigw::QuotaPeriod::kMonth, 0, 0}};

void BM_AccountBucket(benchmark::State& state) {
  static gust::apigw::TokenBucket bucket({1e7, 1'000'000});
  for (auto _ : state) benchmark::DoNotOptimize(bucket.tryAcquire(nowNs()));
}
BENCHMARK(BM_AccountBucket)->Threads(1)->Threads(2);

void BM_LimiterAdmit(benchmark::State& state) {
  static gust::apigw::UsageLimiter limiter;
  std::vector<std::string> keys;
  for (int i = 0; i < 64; ++i)
    keys.push_back("key" + std::to_string(i + 64 * state.thread_index()));
  size_t spread = static_cast<size_t>(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.admit("plan", keys[i++ % spread], kLimits, nowNs()));
  }
}
BENCHMARK(BM_LimiterAdmit)->Arg(1)->Arg(64)->Threads(1)->Threads(2);

void BM_ServiceAdmit(benchmark::State& state) {
  std::string dir = std::filesystem::temp_directory_path() / "gust-bench-XXXXXX";
  if (!::mkdtemp(dir.data())) return state.SkipWithError("mkdtemp failed");
  auto store = gust::store::openSqliteStore(std::filesystem::path(dir) / "gust.db");
  if (!store) return state.SkipWithError(store.error().message.c_str());
  gust::control::UsagePlanService service(**store);
  if (!service.start()) return state.SkipWithError("start failed");
  auto key = service.createApiKey({"bench", "", true, std::nullopt});
  gust::store::UsagePlanRecord plan;
  plan.name = "bench";
  plan.throttle_rate = 1e7;
  plan.throttle_burst = 1'000'000;
  plan.quota_limit = 1'000'000'000'000;
  plan.quota_period = "MONTH";
  plan.api_stages = {{"api", "prod"}};
  if (!key || !service.createUsagePlan(plan) || !service.addKeyToPlan("bench", "bench"))
    return state.SkipWithError("setup failed");
  for (auto _ : state) benchmark::DoNotOptimize(service.admit(key->value, "api", "prod"));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ServiceAdmit);

}  // namespace

BENCHMARK_MAIN();
