// `gust serve`: the only place that knows every component. It creates them in dependency order,
// serves until SIGINT/SIGTERM, and tears them down in reverse.
#include "exe/serve.h"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "auth/credentials.h"
#include "common/crypto.h"
#include "common/files.h"
#include "common/unique_fd.h"
#include "control/function_service.h"
#include "control/usage_plans.h"
#include "engine/engine.h"
#include "events/dispatcher.h"
#include "events/queue.h"
#include "events/scheduler.h"
#include "events/topics.h"
#include "exe/engine_host.h"
#include "gateway/gateway.h"
#include "gateway/invoker.h"
#include "gateway/store_credentials.h"
#include "http/http.h"
#include "sandbox/linux/egress_rules.h"
#include "store/blob_store.h"
#include "store/log_writer.h"
#include "store/sqlite/sqlite_store.h"

namespace gust::exe {
namespace {

namespace fs = std::filesystem;

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./.gust";
  int idle_timeout_s = 300;
  int log_retention_hours = 72;
  std::string log_level = "info";
  std::string sandbox = "namespace";
  int prestarted = 2;
  std::string egress_subnet = "10.200.0.0/16";
  std::string egress_dns;
  std::string async_retry_delays = "60,120";
  std::string async_backoff = "1,300";
  int async_concurrency = 32;
  bool test_clock = false;  // tests only: POST /api/v1/test/clock moves the schedules' clock
};

// Enqueues invocations in the durable queue all at once (they share its group commits) and
// waits until every one is stored. An error for any of them fails the call; those already
// stored stay queued (delivery is at least once).
events::EnqueueFn queueEnqueuer(events::EventQueue& queue) {
  return [&queue](std::vector<events::AsyncInvoke> invokes) -> Result<std::vector<std::string>> {
    struct Pending {
      std::mutex mu;
      std::condition_variable done;
      size_t left = 0;
      std::optional<Error> error;
    };
    auto pending = std::make_shared<Pending>();
    pending->left = invokes.size();
    std::vector<std::string> ids;
    ids.reserve(invokes.size());
    for (auto& invoke : invokes) {
      events::Event event;
      event.id = uuid4();
      event.function = std::move(invoke.function);
      event.qualifier = std::move(invoke.qualifier);
      event.payload = std::move(invoke.payload);
      ids.push_back(event.id);
      queue.enqueue(std::move(event), [pending](Status st) {
        std::lock_guard lock(pending->mu);
        if (!st && !pending->error) pending->error = st.error();
        if (--pending->left == 0) pending->done.notify_all();
      });
    }
    std::unique_lock lock(pending->mu);
    pending->done.wait(lock, [&] { return pending->left == 0; });
    if (pending->error) return *pending->error;
    return ids;
  };
}

// --async-retry-delays (seconds after the first and second function error) and
// --async-backoff (first and longest delay after a throttled delivery): two comma-separated
// numbers of seconds, fractions allowed.
Result<std::vector<std::chrono::milliseconds>> parseSecondsPair(std::string_view option,
                                                                const std::string& text) {
  std::vector<std::chrono::milliseconds> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    char* end = nullptr;
    double seconds = item.empty() ? -1 : std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !(seconds >= 0) || seconds > 86400)
      return Error::invalid(
          fmt::format("{} '{}': expected two numbers of seconds separated by a comma, e.g. 60,120",
                      option, text));
    out.emplace_back(static_cast<int64_t>(seconds * 1000));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() != 2)
    return Error::invalid(
        fmt::format("{} '{}': expected two numbers of seconds separated by a comma, e.g. 60,120",
                    option, text));
  return out;
}

// What the dispatcher needs of a function: its EventInvokeConfig for the qualifier (or Lambda's
// defaults) and whether its reserved concurrency is 0.
Result<events::FunctionTarget> asyncTarget(control::FunctionService& functions,
                                           std::string_view name, std::string_view qualifier) {
  GUST_ASSIGN_OR_RETURN(store::FunctionRecord latest, functions.get(name));
  events::FunctionTarget target;
  target.switched_off = latest.reserved_concurrency == 0;
  auto config = functions.getEventInvokeConfig(name, qualifier);
  if (!config) {
    if (config.error().code == ErrorCode::kNotFound) return target;  // the defaults
    return config.error();
  }
  if (config->maximum_retry_attempts)
    target.config.maximum_retry_attempts = *config->maximum_retry_attempts;
  if (config->maximum_event_age_s) target.config.maximum_event_age_s = *config->maximum_event_age_s;
  for (auto [arn, slot] : {std::pair{&config->on_success, &target.config.on_success},
                           std::pair{&config->on_failure, &target.config.on_failure}}) {
    if (arn->empty()) continue;
    auto destination = events::parseDestination(*arn);
    if (!destination) return destination.error();  // validated when stored: only a corrupt row
    *slot = std::move(*destination);
  }
  return target;
}

// --egress-dns: comma-separated IPv4 addresses.
Result<std::vector<std::string>> parseDnsList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size() && !list.empty()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (auto ip = sandbox::parseIpv4(item); !ip)
      return Error::invalid(fmt::format("--egress-dns: {}", ip.error().message));
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// --egress-subnet and --egress-dns into the engine host's options. Bad values are errors; a host
// that cannot do egress is not (EngineHost logs why, and functions with `network: egress` fail
// to start with the reason).
Status configureEgress(const ServeArgs& args, const fs::path& data, EngineHostOptions* options) {
  if (args.egress_subnet == "off") {
    options->egress_off_reason =
        "network egress is off on this server (gust serve --egress-subnet off); restart it "
        "without that option to allow it";
    return okStatus();
  }
  if (auto range = sandbox::parseIpv4Net(args.egress_subnet); !range)
    return Error::invalid("--egress-subnet: " + range.error().message);
  options->egress_subnet = args.egress_subnet;
  GUST_ASSIGN_OR_RETURN(options->egress_dns, parseDnsList(args.egress_dns));
  options->egress_owner = sha256Hex(data.string()).substr(0, 12);  // one table per data dir
  return okStatus();
}

Result<http::ServerOptions> parseListen(std::string_view listen) {
  auto bad = [&] {
    return Error::invalid(fmt::format(
        "--listen '{}' is not ADDR:PORT; use e.g. 127.0.0.1:8080 or [::1]:8080", listen));
  };
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = listen.substr(0, colon);
  std::string_view port = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || value > 65535) return bad();
  http::ServerOptions options;
  options.address = std::string(host);
  options.port = static_cast<uint16_t>(value);
  return options;
}

// Creates `path` empty with mode 0600 if missing, or restricts an existing file to 0600.
Status ownerOnlyFile(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno("cannot create " + path.string(), errno);
  if (::fchmod(fd.get(), 0600) != 0)
    return Error::fromErrno("cannot chmod " + path.string(), errno);
  return okStatus();
}

Result<std::string> loadOrCreateToken(const fs::path& path) {
  if (fs::exists(path)) {
    GUST_ASSIGN_OR_RETURN(std::string token, readFile(path));
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    if (token.size() < 32) {
      return Error::invalid(fmt::format(
          "{} holds a token shorter than 32 characters; delete it and restart to generate one",
          path.string()));
    }
    return token;
  }
  std::string token = randomHex(32);
  GUST_TRY(writeFileAtomic(path, token + "\n", 0600));
  spdlog::info("generated a new API token in {}", path.string());
  return token;
}

std::string commandName() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "gust";
  auto rel = fs::relative(exe, fs::current_path(ec), ec);
  if (ec || rel.empty() || rel.string().starts_with("..")) return exe.string();
  return "./" + rel.string();
}

int serve(const ServeArgs& args) {
  auto level = spdlog::level::from_str(args.log_level);
  // Server logs go to stderr; stdout carries only the banner (scripts read the address from it).
  spdlog::set_default_logger(spdlog::stderr_color_mt("gust"));
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  if (args.test_clock) {
    const char* allowed = std::getenv("GUST_ALLOW_TEST_CLOCK");
    if (!allowed || std::string_view(allowed) != "1") {
      fmt::print(stderr,
                 "gust: error: --test-clock is only for tests: it lets anyone with the API token "
                 "move the schedules' clock; set GUST_ALLOW_TEST_CLOCK=1 to confirm\n");
      return 2;
    }
    spdlog::warn(
        "*** --test-clock: POST /api/v1/test/clock moves the schedules' clock; for tests "
        "only ***");
  }
  auto listen = parseListen(args.listen);
  if (!listen) return fmt::print(stderr, "gust: error: {}\n", listen.error().message), 2;

  // Block the termination signals in every thread we start; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [](const Error& e) {
    fmt::print(stderr, "gust: error: {}\n", e.message);
    return 2;
  };

  fs::path data = fs::absolute(args.data_dir).lexically_normal();
  // 0711: others may traverse (sandboxed instances reach code/ and runtime/) but not list.
  if (auto st = makeDir(data, 0711); !st) return fail(st.error());
  for (auto [dir, mode] : {std::pair{"blobs", 0700}, {"code", 0755}}) {
    if (auto st = makeDir(data / dir, static_cast<mode_t>(mode)); !st) return fail(st.error());
  }
  auto token = loadOrCreateToken(data / "token");
  if (!token) return fail(token.error());
  // The database holds functions' environments: owner-only, like the token. SQLite gives its
  // -wal and -shm files the database file's permissions.
  if (auto st = ownerOnlyFile(data / "gust.db"); !st) return fail(st.error());
  auto store = store::openSqliteStore(data / "gust.db");
  if (!store) return fail(store.error());
  auto blobs = store::BlobStore::open(data / "blobs");
  if (!blobs) return fail(blobs.error());

  // Invocation logs go to the store off the invocation's path; the writer outlives the engine.
  store::LogWriterOptions log_options;
  log_options.retention = std::chrono::hours(args.log_retention_hours);
  store::LogWriter log_writer(**store, log_options);

  // Lambda's API inside every sandbox (cascading invocations): a server with no socket of its
  // own, serving each instance's listener on that instance's behalf, through the gateway made
  // below (until it exists, a request there is answered 503).
  http::ServerOptions lambda_options;
  lambda_options.listen = false;
  lambda_options.io_threads = 2;
  // The gateway's Invoke answers bodies over Lambda's 6 MB (1 MB for Event) with its own error.
  lambda_options.max_body_bytes = gateway::GatewayOptions{}.max_sync_payload_bytes + 1;
  lambda_options.refusal = &gateway::Gateway::refusal;
  std::atomic<gateway::Gateway*> lambda_gateway{nullptr};
  auto lambda_server = http::Server::start(lambda_options, nullptr);
  if (!lambda_server) return fail(lambda_server.error());

  EngineHostOptions host_options;
  host_options.data_dir = data;
  host_options.sandbox = args.sandbox;
  // One cgroup parent per data dir, so servers with other data dirs (tests, other users) never
  // remove each other's groups as stale.
  host_options.cgroup_parent = "gust-" + sha256Hex(data.string()).substr(0, 12);
  if (auto st = configureEgress(args, data, &host_options); !st) return fail(st.error());
  engine::EngineOptions& engine_options = host_options.engine;
  engine_options.idle_timeout = std::chrono::seconds(args.idle_timeout_s);
  // Only sandboxes that can attach code to a running process use it (the namespace sandbox).
  engine_options.prestarted_per_runtime = args.prestarted;
  engine_options.serve_lambda_api =
      [server = lambda_server->get(), &lambda_gateway](
          int listen_fd,
          std::shared_ptr<engine::InstanceCaller> caller) -> Result<std::shared_ptr<void>> {
    GUST_ASSIGN_OR_RETURN(
        std::unique_ptr<http::AdoptedListener> adopted,
        server->adopt(
            listen_fd, [caller, &lambda_gateway](http::Request&& req, http::Responder respond) {
              gateway::Gateway* gw = lambda_gateway.load();
              if (gw == nullptr) {
                http::Response res = http::Response::json(
                    503, R"({"Type":"Service","message":"the server is starting or stopping"})");
                res.headers.push_back({"x-amzn-errortype", "ServiceException"});
                return respond(std::move(res));
              }
              gw->handleFromInstance(*caller, std::move(req), std::move(respond));
            }));
    return std::shared_ptr<void>(std::move(adopted));
  };
  engine_options.on_logs = [&log_writer](const engine::FunctionSpec& fn,
                                         std::string_view request_id, std::string_view logs) {
    store::LogRecord record;
    record.function = fn.name;
    record.version = fn.version;
    record.request_id = std::string(request_id);
    record.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    record.text = std::string(logs);
    log_writer.add(std::move(record));
    // The store is where function logs live (`gust logs`); the server log repeats them only
    // when asked for, since a chatty function would otherwise drown the server's own lines.
    if (spdlog::should_log(spdlog::level::debug)) {
      std::string_view rest = logs;
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        spdlog::debug("[{}] {}", fn.name, rest.substr(0, nl));
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
    }
  };
  auto engine_host = EngineHost::start(std::move(host_options));
  if (!engine_host) return fail(engine_host.error());
  if ((*engine_host)->isolated()) {
    spdlog::info("sandbox: {}", (*engine_host)->description());
  } else {
    spdlog::warn(
        "*** --sandbox process: functions run WITHOUT isolation (no namespaces, cgroups or "
        "seccomp) and can see the host; use it for development only, never with untrusted code "
        "***");
  }
  engine::Engine* engine = &(*engine_host)->engine();

  control::FunctionService functions(**store, *blobs, data / "code");

  // Secrets of access keys are sealed with a key of this data directory.
  auto sealing_key = loadOrCreateKeyFile(data / "seal.key", kSealKeyBytes);
  if (!sealing_key) return fail(sealing_key.error());
  gateway::StoreCredentials credential_store(**store);
  auth::CredentialService credentials(credential_store, std::move(*sealing_key));

  // API keys and usage plans; their usage is flushed to the store every second.
  control::UsagePlanService usage_plans(**store);
  if (auto st = usage_plans.start(); !st) return fail(st.error());
  auto retry_delays = parseSecondsPair("--async-retry-delays", args.async_retry_delays);
  if (!retry_delays) return fail(retry_delays.error());
  auto backoff = parseSecondsPair("--async-backoff", args.async_backoff);
  if (!backoff) return fail(backoff.error());
  // Asynchronous invocations wait in their own database, committed in groups (events/queue.h).
  events::QueueOptions queue_options;
  queue_options.path = data / "events.db";
  auto queue = events::EventQueue::open(queue_options);
  if (!queue) return fail(queue.error());

  // Schedules and topics deliver through the same queue as Event invocations.
  events::SchedulerOptions scheduler_options;
  scheduler_options.test_clock = args.test_clock;
  events::Scheduler scheduler(scheduler_options, **store, queueEnqueuer(**queue));
  events::Topics topics(events::TopicsOptions{}, **store, queueEnqueuer(**queue));

  gateway::GatewayOptions gateway_options;
  gateway_options.events = queue->get();
  gateway_options.scheduler = &scheduler;
  gateway_options.topics = &topics;
  gateway_options.check_topic = [&topics](std::string_view arn) -> Status {
    size_t last = arn.rfind(':');
    std::string_view name = arn.substr(last == std::string_view::npos ? 0 : last + 1);
    if (auto topic = topics.get(name); !topic)
      return Error::invalid(fmt::format(
          "destination {}: topic \"{}\" does not exist; create it with `gust topic create {}`", arn,
          name, name));
    return okStatus();
  };
  gateway_options.token = *token;
  gateway_options.credentials = &credentials;
  gateway_options.usage_plans = &usage_plans;
  gateway_options.token_hint = (data / "token").string();
  auto gateway = std::make_unique<gateway::Gateway>(gateway_options, functions, *engine);
  lambda_gateway = gateway.get();
  // Reservations and provisioned instances of the functions deployed before this start.
  if (auto st = gateway->configureEngine(); !st)
    spdlog::warn("some functions could not be configured: {}", st.error().message);

  // Delivers queued events (those of a previous run first) through the gateway's invoke path.
  events::DispatcherOptions dispatcher_options;
  dispatcher_options.max_in_flight = args.async_concurrency;
  dispatcher_options.retry_delays = *retry_delays;
  dispatcher_options.backoff_min = (*backoff)[0];
  dispatcher_options.backoff_max = std::max((*backoff)[0], (*backoff)[1]);
  dispatcher_options.region = gateway_options.region;
  dispatcher_options.account_id = gateway_options.account_id;
  dispatcher_options.max_cascade_depth = engine::kMaxCascadeDepth;
  events::DispatcherHooks hooks;
  hooks.invoke = [gw = gateway.get()](const events::Event& event,
                                      std::function<void(Result<events::DeliveryResult>)> done) {
    engine::InvokeRequest request;
    request.payload = event.payload;
    request.request_id = event.id;
    request.client_context = event.client_context;
    request.trace_id = event.trace_id;
    request.invoked_qualifier = event.qualifier;
    request.cascade_depth = event.cascade_depth;
    gw->invoker().invoke(event.function, event.qualifier, std::move(request),
                         [done = std::move(done)](Result<engine::InvokeResult> result) {
                           if (!result) return done(result.error());
                           events::DeliveryResult delivered;
                           delivered.payload = std::move(result->payload);
                           delivered.function_error = result->function_error;
                           delivered.executed_version = std::move(result->executed_version);
                           done(std::move(delivered));
                         });
  };
  hooks.lookup = [&functions](std::string_view name, std::string_view qualifier) {
    return asyncTarget(functions, name, qualifier);
  };
  hooks.publish_topic = [&topics](std::string_view topic_arn, std::string message) {
    return topics.publishToArn(topic_arn, std::move(message));
  };
  auto dispatcher =
      std::make_unique<events::Dispatcher>(dispatcher_options, std::move(hooks), **queue);
  dispatcher->start();
  scheduler.start();  // a run missed while the server was down fires now, once

  listen->refusal = &gateway::Gateway::refusal;
  auto server = http::Server::start(
      *listen, [gw = gateway.get()](http::Request&& req, http::Responder respond) {
        gw->handle(std::move(req), std::move(respond));
      });
  if (!server) return fail(server.error());

  std::string host = listen->address.find(':') != std::string::npos ? "[" + listen->address + "]"
                                                                    : listen->address;
  std::string url = fmt::format("http://{}:{}", host, (*server)->port());
  std::string gust = commandName();
  fmt::print(
      "Gust {} is listening on {}\n"
      "  data: {} (SQLite metadata, code blobs; API token in {}/token)\n"
      "Next, in another terminal from this directory:\n"
      "  {} deploy examples/hello-python\n"
      "  {} invoke hello-python --payload '{{\"name\": \"Gust\"}}'\n"
      "Stop with Ctrl-C.\n",
      GUST_VERSION, url, data.string(), data.string(), gust, gust);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->stop();
  (*lambda_server)->stop();
  scheduler.stop();
  dispatcher->stopClaiming();
  engine->shutdown();  // deliveries in flight end (they are queued again)
  dispatcher.reset();  // waits for their outcomes to be stored
  lambda_gateway = nullptr;
  gateway.reset();  // drains queued control-plane work
  server->reset();
  queue->reset();
  return 0;
}

}  // namespace

void addServeCommand(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Run the Gust server (API, gateway and engine)");
  cmd->add_option("--listen", args->listen, "Address and port to listen on")->capture_default_str();
  cmd->add_option("--data-dir", args->data_dir, "Where metadata, code and the token live")
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout_s,
                  "Seconds an idle instance stays warm before it is stopped")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->add_option("--log-retention-hours", args->log_retention_hours,
                  "Hours invocation logs are kept (gust logs) before they are deleted")
      ->check(CLI::Range(1, 24 * 365))
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd->add_option("--sandbox", args->sandbox,
                  "namespace (isolated; needs root) or process (no isolation, development only)")
      ->check(CLI::IsMember({"namespace", "process"}))
      ->capture_default_str();
  cmd->add_option("--prestarted", args->prestarted,
                  "Pre-started generic instances kept per pool for fast cold starts "
                  "(python3.11; nodejs20.x per memory size; namespace sandbox); 0 disables")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  cmd->add_option("--egress-subnet", args->egress_subnet,
                  "IPv4 range this server takes a /20 of for sandboxes with network: egress "
                  "(NATed; needs nftables), or off")
      ->capture_default_str();
  cmd->add_option("--egress-dns", args->egress_dns,
                  "Comma-separated resolvers for sandboxes with network: egress (default: the "
                  "host's, less those on loopback or the host itself)");
  cmd->add_option("--async-retry-delays", args->async_retry_delays,
                  "Seconds before the first and the second retry of an asynchronous invocation "
                  "whose function failed (Lambda: 60,120)")
      ->capture_default_str();
  cmd->add_option("--async-backoff", args->async_backoff,
                  "Seconds before an asynchronous invocation that was throttled or could not "
                  "start is tried again: the first delay, doubling up to the second")
      ->capture_default_str();
  cmd->add_option("--async-concurrency", args->async_concurrency,
                  "Asynchronous invocations delivered at once at most (functions' reserved "
                  "concurrency and the account limit apply too)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  // Hidden from --help: a test option that lets anyone holding the API token move the
  // schedules' clock, confirmed through the environment so it is never on by accident.
  cmd->add_flag("--test-clock", args->test_clock,
                "Tests only: POST /api/v1/test/clock moves the schedules' clock forward (needs "
                "GUST_ALLOW_TEST_CLOCK=1)")
      ->group("");
  cmd->callback([args] {
    if (int code = serve(*args); code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gust::exe
