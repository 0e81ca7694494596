#include "events/scheduler.h"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/crypto.h"
#include "events/targets.h"

namespace gust::events {
namespace {

namespace json = boost::json;

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool isAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Status validateScheduleName(std::string_view name) {
  constexpr std::string_view kAllowed = "1 to 64 characters of A-Z, a-z, 0-9, '.', '-' and '_'";
  bool ok = !name.empty() && name.size() <= kMaxScheduleNameLength &&
            std::all_of(name.begin(), name.end(),
                        [](char c) { return isAlnum(c) || c == '.' || c == '-' || c == '_'; });
  if (!ok)
    return Error::invalid(
        fmt::format("schedule name {} is not allowed; use {}, e.g. nightly-report",
                    quotedValue(name), kAllowed));
  return okStatus();
}

// Description length in characters (UTF-8).
size_t utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

Status validateInput(const std::optional<std::string>& input) {
  if (!input) return okStatus();
  if (input->size() > kMaxScheduleInputBytes)
    return Error::invalid(fmt::format("input: is {} bytes; at most {} are allowed", input->size(),
                                      kMaxScheduleInputBytes));
  boost::system::error_code ec;
  (void)json::parse(json::string_view(input->data(), input->size()), ec);
  if (ec)
    return Error::invalid(
        fmt::format("input: is not valid JSON ({}); give the constant event as JSON text, e.g. "
                    "{{\"report\": \"daily\"}}",
                    ec.message()));
  return okStatus();
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, store::Store& store, EnqueueFn enqueue)
    : options_(std::move(options)), store_(store), enqueue_(std::move(enqueue)) {
  if (!options_.now_ms) options_.now_ms = systemNowMs;
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

int64_t Scheduler::nowMs() const { return options_.now_ms() + test_offset_ms_.load(); }

void Scheduler::run() {
  for (;;) {
    if (auto fired = tick(); !fired)
      spdlog::warn("schedules: cannot check for due schedules: {}", fired.error().message);
    // Sleep until the earliest next slot, at most max_sleep (the clock may be moved, schedules
    // may change), and wake at once when stopped.
    int64_t sleep_ms = options_.max_sleep.count();
    if (auto schedules = store_.listSchedules(""); schedules) {
      int64_t now = nowMs();
      for (const auto& s : *schedules) {
        auto v = view(s);
        if (v.next_fire_ms) sleep_ms = std::clamp<int64_t>(*v.next_fire_ms - now, 0, sleep_ms);
      }
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(sleep_ms), [&] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
  }
}

Result<int> Scheduler::tick() {
  std::lock_guard tick_lock(tick_mu_);
  GUST_ASSIGN_OR_RETURN(auto schedules, store_.listSchedules(""));
  int64_t now = nowMs();
  int fired = 0;
  for (const auto& s : schedules) {
    if (!s.enabled) continue;
    auto expr = ScheduleExpression::parse(s.expression);
    if (!expr) {
      spdlog::warn("schedule {}: stored expression is invalid: {}", s.name, expr.error().message);
      continue;
    }
    auto due = expr->nextFire(std::max(s.last_fired_ms, s.anchor_ms), s.anchor_ms);
    if (!due || *due > now) continue;
    auto ids = enqueue_({AsyncInvoke{s.function, s.qualifier, payloadFor(s, *due)}});
    if (!ids) {
      // Not recorded as fired: the next tick tries again.
      spdlog::warn("schedule {}: cannot enqueue its event for {}: {}", s.name, s.function,
                   ids.error().message);
      continue;
    }
    if (auto st = store_.recordScheduleFired(s.name, now);
        !st && st.error().code != ErrorCode::kNotFound)
      spdlog::warn("schedule {}: fired, but cannot record it: {}", s.name, st.error().message);
    ++fired;
    std::string target = s.qualifier.empty() ? s.function : s.function + ":" + s.qualifier;
    if (now - *due >= 60'000)
      spdlog::info("schedule {}: fired {} once for the runs missed since {} (event {})", s.name,
                   target, eventTime(*due), ids->empty() ? "" : ids->front());
    else
      spdlog::info("schedule {}: fired {} (event {})", s.name, target,
                   ids->empty() ? "" : ids->front());
  }
  return fired;
}

Result<std::pair<int64_t, int>> Scheduler::advanceTestClock(int64_t ms) {
  if (!options_.test_clock)
    return Error{ErrorCode::kFailedPrecondition,
                 "this server's clock cannot be moved: the test clock is only for tests (gust "
                 "serve --test-clock)"};
  if (ms < 0 || ms > int64_t{366} * 86'400'000)
    return Error::invalid("advance_ms: must be 0 to one year (31622400000) of milliseconds");
  test_offset_ms_ += ms;
  GUST_ASSIGN_OR_RETURN(int fired, tick());
  wake();
  return std::pair{nowMs(), fired};
}

std::string Scheduler::payloadFor(const store::ScheduleRecord& schedule, int64_t slot_ms) const {
  if (schedule.input) return *schedule.input;
  json::object event;
  event["version"] = "0";
  event["id"] = uuid4();
  event["detail-type"] = "Scheduled Event";
  event["source"] = "aws.events";
  event["account"] = options_.account_id;
  event["time"] = eventTime(slot_ms);
  event["region"] = options_.region;
  event["resources"] = json::array{fmt::format("arn:aws:events:{}:{}:rule/{}", options_.region,
                                               options_.account_id, schedule.name)};
  event["detail"] = json::object();
  return json::serialize(event);
}

ScheduleView Scheduler::view(store::ScheduleRecord record) const {
  ScheduleView v{std::move(record), std::nullopt};
  if (!v.record.enabled) return v;
  if (auto expr = ScheduleExpression::parse(v.record.expression); expr) {
    int64_t after = std::max(v.record.last_fired_ms, v.record.anchor_ms);
    v.next_fire_ms = expr->nextFire(after, v.record.anchor_ms);
  }
  return v;
}

Status Scheduler::validate(const ScheduleSpec& spec, bool check_target) {
  GUST_TRY(validateScheduleName(spec.name));
  GUST_TRY(ScheduleExpression::parse(spec.expression));
  GUST_TRY(validateInput(spec.input));
  if (size_t n = utf8Length(spec.description); n > kMaxScheduleDescriptionChars)
    return Error::invalid(fmt::format("description: is {} characters long; at most {} are allowed",
                                      n, kMaxScheduleDescriptionChars));
  return checkTarget(check_target ? &store_ : nullptr, spec.function, spec.qualifier);
}

Result<ScheduleView> Scheduler::create(ScheduleSpec spec) {
  GUST_TRY(validate(spec, true));
  store::ScheduleRecord r;
  r.name = std::move(spec.name);
  r.expression = std::move(spec.expression);
  r.function = std::move(spec.function);
  r.qualifier = normalQualifier(spec.qualifier);
  r.input = std::move(spec.input);
  r.description = std::move(spec.description);
  r.enabled = spec.enabled;
  r.source = "api";
  r.anchor_ms = nowMs();
  GUST_ASSIGN_OR_RETURN(auto stored, store_.createSchedule(std::move(r)));
  wake();
  return view(std::move(stored));
}

Result<ScheduleView> Scheduler::get(std::string_view name) {
  GUST_ASSIGN_OR_RETURN(auto stored, store_.getSchedule(name));
  return view(std::move(stored));
}

Result<std::vector<ScheduleView>> Scheduler::list(std::string_view function) {
  GUST_ASSIGN_OR_RETURN(auto stored, store_.listSchedules(function));
  std::vector<ScheduleView> out;
  out.reserve(stored.size());
  for (auto& s : stored) out.push_back(view(std::move(s)));
  return out;
}

Status Scheduler::remove(std::string_view name) { return store_.deleteSchedule(name); }

Result<ScheduleView> Scheduler::setEnabled(std::string_view name, bool enabled) {
  GUST_ASSIGN_OR_RETURN(auto stored, store_.setScheduleEnabled(name, enabled, nowMs()));
  wake();
  return view(std::move(stored));
}

Status Scheduler::syncManifest(std::string_view function, std::vector<ScheduleSpec> specs) {
  for (auto& spec : specs) {
    spec.function = std::string(function);
    GUST_TRY(validate(spec, true));
  }
  GUST_ASSIGN_OR_RETURN(auto existing, store_.listSchedules(function));
  for (auto& spec : specs) {
    auto current = store_.getSchedule(spec.name);
    if (!current && current.error().code != ErrorCode::kNotFound) return current.error();
    store::ScheduleRecord r;
    if (current) {
      if (current->source != "manifest" || current->function != function)
        return Error{ErrorCode::kAlreadyExists,
                     fmt::format("schedule \"{}\" already exists (for function \"{}\", made "
                                 "through the API); rename the schedule in gust.yaml or delete "
                                 "the existing one",
                                 spec.name, current->function)};
      r = *current;
    }
    bool restart =
        !current || current->expression != spec.expression || (!current->enabled && spec.enabled);
    r.name = spec.name;
    r.expression = std::move(spec.expression);
    r.function = std::string(function);
    r.qualifier = normalQualifier(spec.qualifier);
    r.input = std::move(spec.input);
    r.description = std::move(spec.description);
    r.enabled = spec.enabled;
    r.source = "manifest";
    if (restart) r.anchor_ms = nowMs();
    GUST_TRY(store_.putSchedule(std::move(r)));
  }
  for (const auto& s : existing) {
    bool listed = std::any_of(specs.begin(), specs.end(),
                              [&](const ScheduleSpec& spec) { return spec.name == s.name; });
    if (s.source == "manifest" && !listed) {
      auto st = store_.deleteSchedule(s.name);
      if (!st && st.error().code != ErrorCode::kNotFound) return st;
    }
  }
  wake();
  return okStatus();
}

// ---- JSON -----------------------------------------------------------------------------------

Result<ScheduleSpec> scheduleSpecFromJson(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec || !v.is_object())
    return Error::invalid(
        "the body must be a JSON object like {\"name\": \"nightly\", \"expression\": "
        "\"cron(0 12 * * ? *)\", \"function\": \"report\"}");
  ScheduleSpec spec;
  auto str = [](const json::value& val, std::string_view key) -> Result<std::string> {
    if (!val.is_string()) return Error::invalid(fmt::format("{}: expected a string", key));
    return std::string(val.get_string());
  };
  for (const auto& [key, val] : v.get_object()) {
    if (key == "name") {
      GUST_ASSIGN_OR_RETURN(spec.name, str(val, "name"));
    } else if (key == "expression") {
      GUST_ASSIGN_OR_RETURN(spec.expression, str(val, "expression"));
    } else if (key == "function") {
      GUST_ASSIGN_OR_RETURN(spec.function, str(val, "function"));
    } else if (key == "qualifier") {
      if (!val.is_null()) {
        GUST_ASSIGN_OR_RETURN(spec.qualifier, str(val, "qualifier"));
      }
    } else if (key == "description") {
      GUST_ASSIGN_OR_RETURN(spec.description, str(val, "description"));
    } else if (key == "input") {
      if (val.is_string())
        spec.input = std::string(val.get_string());
      else if (!val.is_null())
        spec.input = json::serialize(val);
    } else if (key == "enabled") {
      if (!val.is_bool()) return Error::invalid("enabled: expected true or false");
      spec.enabled = val.get_bool();
    } else {
      return Error::invalid(
          fmt::format("unknown key {}; allowed keys: name, expression, function, qualifier, input, "
                      "description, enabled",
                      quotedValue(std::string_view(key))));
    }
  }
  for (auto [key, value] : {std::pair{"name", &spec.name},
                            {"expression", &spec.expression},
                            {"function", &spec.function}}) {
    if (value->empty()) return Error::invalid(fmt::format("{}: is missing; it is required", key));
  }
  return spec;
}

namespace {

json::object scheduleObject(const ScheduleView& v) {
  const store::ScheduleRecord& r = v.record;
  json::object o;
  o["name"] = r.name;
  o["expression"] = r.expression;
  o["function"] = r.function;
  o["qualifier"] = r.qualifier;
  if (r.input)
    o["input"] = *r.input;
  else
    o["input"] = nullptr;
  o["description"] = r.description;
  o["enabled"] = r.enabled;
  o["source"] = r.source;
  o["created"] = r.created;
  if (r.last_fired_ms > 0)
    o["last_fired"] = eventTime(r.last_fired_ms);
  else
    o["last_fired"] = nullptr;
  if (v.next_fire_ms)
    o["next_fire"] = eventTime(*v.next_fire_ms);
  else
    o["next_fire"] = nullptr;
  return o;
}

}  // namespace

std::string scheduleToJson(const ScheduleView& schedule) {
  return json::serialize(scheduleObject(schedule));
}

std::string schedulesToJson(const std::vector<ScheduleView>& schedules) {
  json::array arr;
  for (const auto& s : schedules) arr.push_back(scheduleObject(s));
  return json::serialize(json::object{{"schedules", std::move(arr)}});
}

}  // namespace gust::events
