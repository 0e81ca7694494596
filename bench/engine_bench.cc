// Engine benchmarks: the engine driven directly (no HTTP), with a real sandbox and Debian's
// /usr/bin/python3 running examples/hello-python (--runtime python), or Debian's /usr/bin/node
// running examples/hello-node (--runtime node).
//
//   warm     sequential invocations of one warm instance: invoke() → callback
//   cold     first invocation of a function with no instance: invoke() → callback
//   spawn    sandbox creation rate: processes started (and torn down) per second
//   density  N idle warm instances: unique memory (PSS) per instance
//
// Prints medians and tails. Bounded in count (flags) and in time (--max-seconds).
// --sandbox namespace (needs root) uses the isolated sandbox with cgroups, as gust serve does;
// its cold starts then come from the pool of pre-started instances (--prestarted N, 0 disables),
// which is given time to refill before each one (a pool hit, not a burst). --code DIR --handler H
// --payload FILE run another function with another event (any answer that is not a function error
// is accepted), e.g. bench/gateway_bench.py's handler and an API Gateway event. --network egress
// gives the functions outbound networking (veth + NAT, namespace sandbox only); such functions
// never use the pre-started pool, so compare with --network none --prestarted 0 for its added cost.
// --lambda-api on gives every sandbox the listener of Lambda's API for cascading invocations and
// serves it with an http::Server, as gust serve does (its handler answers 503: nothing invokes).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "engine/engine.h"
#include "http/http.h"
#include "runtime/runtime.h"
#include "sandbox/linux/cgroups.h"
#include "sandbox/linux/egress_network.h"
#include "sandbox/linux/namespace_sandbox.h"
#include "sandbox/linux/process_sandbox.h"
#include "sandbox/sandbox.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
  std::string sandbox = "process";
  int warm = 5000;
  int cold = 100;
  int spawn = 300;
  int density = 200;
  int max_seconds = 300;
  int prestarted = 2;
  std::string network = "none";
  std::string runtime = "python";                // or "node"
  int memory = 128;                              // the function's memory size (MB)
  std::string only = "warm,cold,spawn,density";  // the scenarios to run
  std::string code;                              // another function's code (default: the example)
  std::string handler;                           // and its handler
  std::string payload = R"({"name":"bench"})";   // the event
  bool check_hello = true;                       // the answer must be the example's greeting
  std::string lambda_api = "off";                // "on": as gust serve, see the top
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void report(const char* name, std::vector<double> v, const char* unit = "ms") {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    return v[std::min(v.size() - 1, size_t(p / 100 * (v.size() - 1) + 0.5))];
  };
  std::printf("%-28s n=%-6zu median=%9.3f %s  p90=%9.3f %s  p99=%9.3f %s\n", name, v.size(), at(50),
              unit, at(90), unit, at(99), unit);
}

// PSS of one process in KiB, from smaps_rollup.
long pssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "Pss:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

// Direct children of `pid` and their descendants.
std::vector<pid_t> descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& e : fs::directory_iterator("/proc")) {
    pid_t p = std::atoi(e.path().filename().c_str());
    if (p <= 0) continue;
    std::ifstream stat(e.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = s.rfind(')');
    if (close == std::string::npos) continue;
    pid_t ppid = 0;
    char state = 0;
    std::sscanf(s.c_str() + close + 1, " %c %d", &state, &ppid);
    children[ppid].push_back(p);
  }
  std::vector<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

class Bench {
 public:
  Bench(Args args, fs::path work) : args_(std::move(args)), work_(std::move(work)) {
    runtime_dir_ = work_ / "runtime";
    auto st = gust::runtime::installRuntimeFiles(runtime_dir_);
    if (!st.ok()) die(st.error().message);
    fs::path scratch = work_ / "scratch";
    fs::create_directories(scratch);
    ::chmod(scratch.c_str(), 0711);
    if (args_.sandbox == "namespace") {
      auto manager =
          gust::sandbox::CgroupManager::detect("gust-bench-" + std::to_string(::getpid()));
      if (!manager.ok()) die(manager.error().message);
      cgroups_ = std::move(*manager);
      gust::sandbox::NamespaceSandboxOptions options;
      options.cgroups = cgroups_.get();
      options.scratch_root = scratch;
      if (args_.network == "egress") {
        gust::sandbox::EgressOptions egress_options;
        egress_options.owner = "bench" + std::to_string(::getpid());
        auto egress = gust::sandbox::EgressNetwork::start(egress_options);
        if (!egress.ok()) die(egress.error().message);
        egress_ = std::move(*egress);
        options.egress = egress_.get();
      }
      auto made = gust::sandbox::makeNamespaceSandbox(options);
      if (!made.ok()) die(made.error().message);
      sandbox_ = std::move(*made);
    } else {
      gust::sandbox::ProcessSandboxOptions options;
      options.scratch_root = scratch;
      sandbox_ = gust::sandbox::makeProcessSandbox(options);
    }
    deadline_ = Clock::now() + std::chrono::seconds(args_.max_seconds);
  }

  std::unique_ptr<gust::engine::Engine> makeEngine() {
    gust::engine::EngineOptions options;
    options.runtime_dir = runtime_dir_;
    options.idle_timeout = 10min;
    options.max_instances = std::max(1000, args_.density + 10);
    options.worker_threads = 8;
    options.prestarted_per_runtime = args_.prestarted;
    if (args_.lambda_api == "on") {
      if (!lambda_server_) {
        gust::http::ServerOptions server_options;
        server_options.listen = false;
        auto server = gust::http::Server::start(server_options, nullptr);
        if (!server) {
          std::fprintf(stderr, "cannot start the Lambda API server: %s\n",
                       server.error().message.c_str());
          std::exit(1);
        }
        lambda_server_ = std::move(*server);
      }
      options.serve_lambda_api = [server = lambda_server_.get()](
                                     int fd, std::shared_ptr<gust::engine::InstanceCaller>)
          -> gust::Result<std::shared_ptr<void>> {
        GUST_ASSIGN_OR_RETURN(auto adopted, server->adopt(fd, [](gust::http::Request&&,
                                                                 gust::http::Responder respond) {
          respond(gust::http::Response::json(503, "{}"));
        }));
        return std::shared_ptr<void>(std::move(adopted));
      };
    }
    return gust::engine::makeEngine(options, *sandbox_);
  }

  std::shared_ptr<const gust::engine::FunctionSpec> function(std::string name) {
    auto spec = std::make_shared<gust::engine::FunctionSpec>();
    spec->name = std::move(name);
    bool node = args_.runtime == "node";
    spec->runtime = node ? "nodejs20.x" : "python3.11";
    spec->handler = !args_.handler.empty() ? args_.handler : node ? "index.handler" : "app.handler";
    spec->environment = {{"GREETING", "Hello"}};
    spec->code_dir = !args_.code.empty() ? fs::absolute(args_.code)
                                         : fs::path(GUST_SOURCE_DIR) / "examples" /
                                               (node ? "hello-node" : "hello-python");
    spec->memory_mb = args_.memory;
    spec->revision = 1;
    if (args_.network == "egress") spec->network = gust::sandbox::Network::kEgress;
    return spec;
  }

  // One invocation; returns its latency and checks the result. `init_ms`, `duration_ms`: its
  // Init Duration and Duration (REPORT).
  double invoke(gust::engine::Engine& engine, std::shared_ptr<const gust::engine::FunctionSpec> fn,
                double* init_ms = nullptr, double* duration_ms = nullptr) {
    std::promise<gust::Result<gust::engine::InvokeResult>> p;
    auto f = p.get_future();
    gust::engine::InvokeRequest req;
    req.function = std::move(fn);
    req.payload = args_.payload;
    auto t0 = Clock::now();
    engine.invoke(std::move(req),
                  [&p](gust::Result<gust::engine::InvokeResult> r) { p.set_value(std::move(r)); });
    auto r = f.get();
    double dt = ms(Clock::now() - t0);
    if (!r.ok()) die(r.error().message);
    if (init_ms) *init_ms = r->init_duration_ms;
    if (duration_ms) *duration_ms = r->duration_ms;
    if (r->function_error ||
        (args_.check_hello && r->payload != R"({"message": "Hello, bench!"})" &&
         r->payload != R"({"message":"Hello, bench!"})"))
      die(r->payload);
    return dt;
  }

  void warm() {
    auto engine = makeEngine();
    auto fn = function("warm");
    invoke(*engine, fn);
    std::vector<double> v;
    for (int i = 0; i < args_.warm && Clock::now() < deadline_; ++i)
      v.push_back(invoke(*engine, fn));
    report("warm invoke (engine)", v);
  }

  void cold() {
    auto engine = makeEngine();
    std::vector<double> v;
    std::vector<double> init;
    std::vector<double> duration;
    bool pooled = args_.prestarted > 0 && sandbox_->canAttachCode() && args_.network == "none";
    // Every pool full (each runtime's default one, and the one of a Node function of another
    // memory size, started on demand by the first cold starts): each cold start is a pool hit
    // with no refill competing for the CPU.
    const bool extra_pool = args_.runtime == "node" && args_.memory != 128;
    const int full = args_.prestarted * (extra_pool ? 3 : 2);
    for (int i = 0; i < args_.cold + 3 && Clock::now() < deadline_; ++i) {
      // (The first cold start of another memory size is what starts its pool.)
      int want = i == 0 ? args_.prestarted * 2 : full;
      while (pooled && engine->prestartedCount() < want && Clock::now() < deadline_)
        std::this_thread::sleep_for(1ms);
      double init_ms = 0;
      double duration_ms = 0;
      double dt = invoke(*engine, function("cold-" + std::to_string(i)), &init_ms, &duration_ms);
      if (i >= 3) {  // the first few warm the page cache
        v.push_back(dt);
        init.push_back(init_ms);
        duration.push_back(duration_ms);
      }
      engine->evict("cold-" + std::to_string(i));
    }
    std::string name = std::string(pooled                      ? "cold start (engine, pool)"
                                   : args_.network == "egress" ? "cold start (engine, egress)"
                                                               : "cold start (engine)") +
                       (args_.runtime == "node" ? " node" : "");
    report(name.c_str(), v);
    report("  of which Init Duration", init);
    report("  of which Duration", duration);
  }

  void spawnRate() {
    gust::sandbox::SpawnSpec spec;
    spec.argv = {"/usr/bin/true"};
    spec.code_dir = fs::path(GUST_SOURCE_DIR) / "examples" / "hello-python";
    spec.runtime_dir = runtime_dir_;
    if (args_.network == "egress") spec.network = gust::sandbox::Network::kEgress;
    const int threads = 2;
    std::atomic<int> left{args_.spawn};
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        while (left.fetch_sub(1) > 0 && Clock::now() < deadline_) {
          auto p = sandbox_->spawn(spec);
          if (!p.ok()) die(p.error().message);
          (*p)->waitExit(5s);
        }
      });
    }
    for (auto& t : pool) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%-28s n=%-6d %.0f sandboxes/s (spawn + exit + teardown, %d threads)\n",
                "sandbox spawn rate", args_.spawn, args_.spawn / secs, threads);
  }

  void density() {
    auto engine = makeEngine();
    auto fn = function("dense");
    // N concurrent invocations of a cold function start N instances, which then stay idle.
    std::vector<std::future<void>> done;
    for (int i = 0; i < args_.density; ++i) {
      done.push_back(std::async(std::launch::async, [&] { invoke(*engine, fn); }));
    }
    for (auto& d : done) d.get();
    auto pids = descendants(::getpid());
    long total = 0;
    int python = 0;
    for (pid_t p : pids) {
      long kib = pssKib(p);
      if (kib <= 0) continue;
      total += kib;
      ++python;
    }
    std::printf(
        "%-28s %d instances live, %d processes, PSS total %.1f MiB, %.2f MiB per instance\n",
        "density (idle warm)", engine->instanceCount(), python, total / 1024.0,
        total / 1024.0 / std::max(1, engine->instanceCount()));
  }

 private:
  [[noreturn]] static void die(const std::string& why) {
    std::fprintf(stderr, "engine_bench: %s\n", why.c_str());
    std::exit(1);
  }

  Args args_;
  fs::path work_;
  fs::path runtime_dir_;
  std::unique_ptr<gust::sandbox::CgroupManager> cgroups_;  // outlives the sandbox
  std::unique_ptr<gust::sandbox::EgressNetwork> egress_;   // likewise
  std::unique_ptr<gust::sandbox::Sandbox> sandbox_;
  std::unique_ptr<gust::http::Server> lambda_server_;  // --lambda-api on; outlives the engines
  Clock::time_point deadline_;
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--warm")
      args.warm = v;
    else if (k == "--cold")
      args.cold = v;
    else if (k == "--spawn")
      args.spawn = v;
    else if (k == "--density")
      args.density = v;
    else if (k == "--max-seconds")
      args.max_seconds = v;
    else if (k == "--sandbox")
      args.sandbox = argv[i + 1];
    else if (k == "--prestarted")
      args.prestarted = v;
    else if (k == "--network")
      args.network = argv[i + 1];
    else if (k == "--runtime" &&
             (std::string_view(argv[i + 1]) == "python" || std::string_view(argv[i + 1]) == "node"))
      args.runtime = argv[i + 1];
    else if (k == "--only")
      args.only = argv[i + 1];
    else if (k == "--memory" && v >= 128)
      args.memory = v;
    else if (k == "--code") {
      args.code = argv[i + 1];
      args.check_hello = false;
    } else if (k == "--handler")
      args.handler = argv[i + 1];
    else if (k == "--payload") {
      std::ifstream in(argv[i + 1]);
      if (!in) {
        std::fprintf(stderr, "engine_bench: cannot read the event file %s\n", argv[i + 1]);
        return 2;
      }
      args.payload.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (k == "--lambda-api" &&
               (std::string_view(argv[i + 1]) == "on" || std::string_view(argv[i + 1]) == "off")) {
      args.lambda_api = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: engine_bench [--warm N] [--cold N] [--spawn N] [--density N] "
                   "[--max-seconds S] [--sandbox process|namespace] [--prestarted N] "
                   "[--network none|egress] [--runtime python|node] [--memory MB] "
                   "[--only warm,cold,spawn,density] [--code DIR --handler H] [--payload FILE]\n"
                   "       [--lambda-api on|off]\n");
      return 2;
    }
  }
  fs::path work = fs::temp_directory_path() / ("gust-engine-bench-" + gust::randomHex(4));
  fs::create_directories(work);
  ::chmod(work.c_str(), 0711);
  {
    Bench bench(args, work);
    auto wanted = [&](std::string_view name) {
      return ("," + args.only + ",").find("," + std::string(name) + ",") != std::string::npos;
    };
    std::printf("engine benchmark, sandbox=%s, network=%s, runtime=%s, %u cores\n",
                args.sandbox.c_str(), args.network.c_str(), args.runtime.c_str(),
                std::thread::hardware_concurrency());
    if (wanted("warm")) bench.warm();
    if (wanted("cold")) bench.cold();
    if (wanted("spawn")) bench.spawnRate();
    if (wanted("density")) bench.density();
  }
  fs::remove_all(work);
  return 0;
}
