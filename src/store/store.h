// The metadata store: functions and their configuration. One interface, several backends
// (sqlite/ now; PostgreSQL later). Code bytes live in the BlobStore, addressed by SHA-256.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace gust::store {

// One function's configuration as stored: $LATEST or a published version. Validation happens
// before the store (control/).
struct FunctionRecord {
  std::string name;
  std::string runtime;  // e.g. "python3.11"
  std::string handler;  // e.g. "app.handler"
  int memory_mb = 128;
  int timeout_s = 3;
  std::map<std::string, std::string> environment;
  std::string description;
  std::string code_sha256;    // hex SHA-256 of the zip: the blob's address
  int64_t code_size = 0;      // bytes of the zip
  std::string last_modified;  // ISO 8601 UTC with milliseconds, e.g. 2026-11-24T20:46:29.123+0000
  int64_t revision = 0;       // bumped by every successful putFunction; 1 on creation
  std::optional<int> reserved_concurrency;  // nullopt: unreserved
  int provisioned_concurrency = 0;
  int ephemeral_storage_mb = 512;  // size of /tmp
  std::string network = "none";    // "none" or "egress"
  std::string role;                // Lambda's execution role ARN: kept and reported, not enforced
  // The functions it may invoke through Lambda's API inside its sandbox: "name" (any qualifier)
  // or "name:qualifier" (control::validateInvokes).
  std::vector<std::string> invokes;
  // "$LATEST" for the function's mutable configuration; "1", "2", ... for published versions
  // (immutable snapshots of $LATEST).
  std::string version = "$LATEST";
  // Lambda's RevisionId: a new UUID on every change of $LATEST (set by putFunction) and fixed
  // for a published version. Callers pass it back to make an update conditional.
  std::string revision_id;

  bool operator==(const FunctionRecord&) const = default;
};

// An alias: a name for one version, optionally sending a share of the traffic to a second one
// (Lambda's RoutingConfig.AdditionalVersionWeights, at most one entry, weight in [0, 1]).
struct AliasRecord {
  std::string function;
  std::string name;              // e.g. "live"; never a number or "$LATEST"
  std::string function_version;  // "1", "2", ... or "$LATEST"
  std::string description;
  std::map<std::string, double> additional_weights;  // version -> weight
  std::string revision_id;                           // new UUID on every change (set by putAlias)

  bool operator==(const AliasRecord&) const = default;
};

// Provisioned concurrency requested for a qualifier (a published version or an alias).
struct ProvisionedConfigRecord {
  std::string function;
  std::string qualifier;      // "1", "2", ... or an alias name
  int requested = 0;          // instances to keep initialised, >= 1
  std::string last_modified;  // ISO 8601 UTC with milliseconds (set by putProvisionedConfig)

  bool operator==(const ProvisionedConfigRecord&) const = default;
};

// Asynchronous invocation settings of one qualifier (Lambda's FunctionEventInvokeConfig).
// Validation (ranges, destination ARNs) happens before the store.
struct EventInvokeConfigRecord {
  std::string function;
  std::string qualifier;                      // "$LATEST", a version number or an alias name
  std::optional<int> maximum_retry_attempts;  // nullopt: Lambda's default (2)
  std::optional<int> maximum_event_age_s;     // nullopt: Lambda's default (21600)
  std::string on_success;                     // destination ARN; empty: none
  std::string on_failure;
  int64_t last_modified_ms = 0;  // wall clock epoch ms, set by putEventInvokeConfig

  bool operator==(const EventInvokeConfigRecord&) const = default;
};

// An access key for AWS Signature Version 4. The secret is stored sealed (encrypted with the
// server's key, see common/crypto.h), never in the clear.
struct CredentialRecord {
  std::string access_key_id;  // e.g. "GKIA..." (20 upper-case letters and digits)
  std::string sealed_secret;  // the secret access key, sealed
  std::string description;
  std::string created;  // ISO 8601 UTC

  bool operator==(const CredentialRecord&) const = default;
};

// An API key of the API gateway (sent in `x-api-key`). Only the SHA-256 of its value is stored:
// the value is shown once, when the key is created, and requests are matched by its hash.
struct ApiKeyRecord {
  std::string id;  // 10 lower-case letters and digits, e.g. "k3c9x0a1bq"
  std::string name;
  std::string description;
  bool enabled = true;
  std::string value_sha256;  // lower-case hex SHA-256 of the key's value; unique
  std::string created;       // ISO 8601 UTC (set by createApiKey when empty)
  std::string last_updated;  // likewise, and by updateApiKey

  bool operator==(const ApiKeyRecord&) const = default;
};

// One stage of one API that a usage plan applies to.
struct ApiStageRef {
  std::string api_id;
  std::string stage;

  auto operator<=>(const ApiStageRef&) const = default;
};

// A usage plan: the throttle and quota each of its API keys gets on the API stages it covers.
struct UsagePlanRecord {
  std::string id;  // 10 lower-case letters and digits
  std::string name;
  std::string description;
  std::optional<double> throttle_rate;    // requests per second; set with throttle_burst
  std::optional<int64_t> throttle_burst;  // requests at once
  std::optional<int64_t> quota_limit;     // requests per quota period; unset: no quota
  std::string quota_period;               // "DAY", "WEEK" or "MONTH" (with quota_limit)
  int64_t quota_offset = 0;               // requests fewer in the first period
  std::vector<ApiStageRef> api_stages;
  std::string created;  // ISO 8601 UTC (set by createUsagePlan when empty)

  bool operator==(const UsagePlanRecord&) const = default;
};

// Requests one API key made under one usage plan on one UTC day.
struct UsageRecord {
  std::string plan_id;
  std::string key_id;
  std::string date;  // YYYY-MM-DD
  int64_t count = 0;

  bool operator==(const UsageRecord&) const = default;
};

// A schedule: an EventBridge schedule expression that invokes a function asynchronously.
// Validation (name, expression, target, input) happens before the store (events/).
struct ScheduleRecord {
  std::string name;                  // 1-64 of A-Z a-z 0-9 . - _ (EventBridge's rule names)
  std::string expression;            // rate(...) or cron(...)
  std::string function;              // the target function
  std::string qualifier;             // a version or alias; empty: unqualified ($LATEST)
  std::optional<std::string> input;  // constant JSON sent instead of the scheduled event
  std::string description;
  bool enabled = true;
  std::string source = "api";  // "api" or "manifest" (a function's gust.yaml keeps it)
  // Rate expressions count periods from here; set at creation, at every enable and when the
  // expression changes. A schedule never fires for slots before it.
  int64_t anchor_ms = 0;
  int64_t last_fired_ms = 0;  // when it last fired (the scheduler's clock); 0: never
  std::string created;        // ISO 8601 UTC (set by the store)

  bool operator==(const ScheduleRecord&) const = default;
};

// A topic of the built-in publish/subscribe, and one subscription of a function to it.
struct TopicRecord {
  std::string name;     // 1-256 of A-Z a-z 0-9 - _ (SNS's topic names)
  std::string created;  // ISO 8601 UTC (set by the store)

  bool operator==(const TopicRecord&) const = default;
};

struct SubscriptionRecord {
  std::string id;  // a UUID (set by the store)
  std::string topic;
  std::string function;
  std::string qualifier;  // empty: unqualified
  std::string created;    // ISO 8601 UTC (set by the store)

  bool operator==(const SubscriptionRecord&) const = default;
};

// One invocation's log text (Lambda's START ... REPORT lines and the function's output between).
struct LogRecord {
  int64_t id = 0;  // assigned by appendLogs; increases with every record appended
  std::string function;
  std::string version;       // e.g. "$LATEST"
  std::string request_id;    // empty for output outside an invocation (a provisioned init)
  int64_t timestamp_ms = 0;  // wall-clock epoch milliseconds
  std::string text;

  bool operator==(const LogRecord&) const = default;
};

// Which logs to return: every set field must match. Results are ordered by id (oldest first).
struct LogQuery {
  std::string function;  // required
  std::optional<std::string> version;
  std::optional<std::string> request_id;
  int64_t since_ms = 0;                                    // timestamp_ms >= since_ms
  int64_t until_ms = std::numeric_limits<int64_t>::max();  // timestamp_ms < until_ms
  int64_t after_id = 0;  // id > after_id: a cursor for following new records
  int limit = 100;       // at most this many, the oldest that match
};

// Thread-safety: every method may be called concurrently from any thread.
// Durability: a method that returned ok has its effect on disk (survives a crash).
class Store {
 public:
  virtual ~Store() = default;

  // Creates the function, or replaces its configuration if it exists. Sets `revision` (1 on
  // create, previous + 1 on replace) and a new revision_id, and returns the stored record. An
  // empty `role` keeps the stored one (deploys from the gust CLI do not carry a role).
  virtual Result<FunctionRecord> putFunction(FunctionRecord record) = 0;
  // Creates the function; kAlreadyExists if it exists. Sets revision 1 and a revision_id.
  virtual Result<FunctionRecord> createFunction(FunctionRecord record) = 0;
  // Replaces an existing function's $LATEST; kNotFound if it does not exist; if
  // `expected_revision_id` is non-empty and differs from the stored one: kFailedPrecondition.
  // Bumps revision, sets a new revision_id.
  virtual Result<FunctionRecord> updateFunction(FunctionRecord record,
                                                std::string_view expected_revision_id) = 0;
  // kNotFound if there is no such function.
  virtual Result<FunctionRecord> getFunction(std::string_view name) = 0;
  // All functions, ordered by name.
  virtual Result<std::vector<FunctionRecord>> listFunctions() = 0;
  // kNotFound if there is no such function. Removes its published versions, aliases,
  // provisioned configs, event invoke configs, schedules and topic subscriptions too. Blobs are
  // not removed (they may be shared).
  virtual Status deleteFunction(std::string_view name) = 0;

  // Versions. putFunction/getFunction/listFunctions above work on $LATEST only.
  //
  // Publishes $LATEST as version max(existing) + 1 (numbers are never reused, even after a
  // delete) with the given description (empty: $LATEST's), stamped with the time of publishing
  // and its own revision_id, and returns it. If the newest published version already has
  // $LATEST's code_sha256 and configuration (descriptions aside), returns that version instead
  // (as Lambda does). If `expected_code_sha256` / `expected_revision_id` are non-empty and differ
  // from $LATEST's: kFailedPrecondition. kNotFound if there is no such function.
  //
  // A version's reserved_concurrency is always the function's current one: a reservation limits
  // the function, whichever version runs.
  virtual Result<FunctionRecord> publishVersion(std::string_view name, std::string description,
                                                std::string_view expected_code_sha256,
                                                std::string_view expected_revision_id) = 0;
  // "$LATEST" or a published version number. kNotFound if either is missing.
  virtual Result<FunctionRecord> getVersion(std::string_view name, std::string_view version) = 0;
  // $LATEST first, then published versions in increasing number. kNotFound if no function.
  virtual Result<std::vector<FunctionRecord>> listVersions(std::string_view name) = 0;
  // Deletes one published version and its provisioned and event invoke configs. kAlreadyExists (a
  // conflict, the message names the alias) while an alias routes traffic to it; kNotFound if
  // missing; kInvalidArgument for $LATEST (delete the function instead).
  virtual Status deleteVersion(std::string_view name, std::string_view version) = 0;

  // Aliases. createAlias: kAlreadyExists if the name is taken. updateAlias: kNotFound if
  // missing; if `expected_revision_id` is non-empty and differs: kFailedPrecondition. Both check
  // that the function and the target versions exist (kNotFound) and set revision_id.
  virtual Result<AliasRecord> createAlias(AliasRecord alias) = 0;
  virtual Result<AliasRecord> updateAlias(AliasRecord alias,
                                          std::string_view expected_revision_id) = 0;
  virtual Result<AliasRecord> getAlias(std::string_view function, std::string_view name) = 0;
  // Ordered by name. kNotFound if there is no such function.
  virtual Result<std::vector<AliasRecord>> listAliases(std::string_view function) = 0;
  // Deletes the alias and its provisioned and event invoke configs.
  virtual Status deleteAlias(std::string_view function, std::string_view name) = 0;

  // Provisioned concurrency per qualifier. put creates or replaces; kNotFound if the function is
  // missing (the caller checks that the qualifier resolves).
  virtual Result<ProvisionedConfigRecord> putProvisionedConfig(ProvisionedConfigRecord config) = 0;
  virtual Result<ProvisionedConfigRecord> getProvisionedConfig(std::string_view function,
                                                               std::string_view qualifier) = 0;
  // Of one function (ordered by qualifier; kNotFound if there is no such function), or of every
  // function when `function` is empty (ordered by function, then qualifier).
  virtual Result<std::vector<ProvisionedConfigRecord>> listProvisionedConfigs(
      std::string_view function) = 0;
  virtual Status deleteProvisionedConfig(std::string_view function, std::string_view qualifier) = 0;

  // Event invoke configs per qualifier. put creates or replaces (setting last_modified_ms);
  // kNotFound if the function is missing (the caller checks that the qualifier resolves). get
  // and delete: kNotFound if there is none. list: of one function, ordered by qualifier
  // (kNotFound if there is no such function).
  virtual Result<EventInvokeConfigRecord> putEventInvokeConfig(EventInvokeConfigRecord config) = 0;
  virtual Result<EventInvokeConfigRecord> getEventInvokeConfig(std::string_view function,
                                                               std::string_view qualifier) = 0;
  virtual Result<std::vector<EventInvokeConfigRecord>> listEventInvokeConfigs(
      std::string_view function) = 0;
  virtual Status deleteEventInvokeConfig(std::string_view function, std::string_view qualifier) = 0;

  // Access keys. putCredential: kAlreadyExists if the id is taken; an empty `created` is set to
  // the time now.
  virtual Status putCredential(CredentialRecord credential) = 0;
  virtual Result<CredentialRecord> getCredential(std::string_view access_key_id) = 0;
  virtual Result<std::vector<CredentialRecord>> listCredentials() = 0;  // ordered by id
  virtual Status deleteCredential(std::string_view access_key_id) = 0;

  // API keys. createApiKey: kAlreadyExists if the id, the name or the value's hash is taken.
  // updateApiKey replaces name, description and enabled (kNotFound if missing). Deleting a key
  // removes it from its usage plans (its usage stays, for reports).
  virtual Result<ApiKeyRecord> createApiKey(ApiKeyRecord key) = 0;
  virtual Result<ApiKeyRecord> getApiKey(std::string_view id) = 0;
  virtual Result<std::vector<ApiKeyRecord>> listApiKeys() = 0;  // ordered by name
  virtual Result<ApiKeyRecord> updateApiKey(ApiKeyRecord key) = 0;
  virtual Status deleteApiKey(std::string_view id) = 0;

  // Usage plans. createUsagePlan: kAlreadyExists if the id or name is taken. Deleting a plan
  // removes its keys' membership and its usage.
  virtual Result<UsagePlanRecord> createUsagePlan(UsagePlanRecord plan) = 0;
  virtual Result<UsagePlanRecord> getUsagePlan(std::string_view id) = 0;
  virtual Result<std::vector<UsagePlanRecord>> listUsagePlans() = 0;  // ordered by name
  virtual Status deleteUsagePlan(std::string_view id) = 0;
  // Keys in plans: kNotFound if the plan or the key is missing; adding a key twice is
  // kAlreadyExists, removing one not in the plan kNotFound.
  virtual Status addUsagePlanKey(std::string_view plan_id, std::string_view key_id) = 0;
  virtual Status removeUsagePlanKey(std::string_view plan_id, std::string_view key_id) = 0;
  // Ids of the plan's keys, ordered (kNotFound if there is no such plan); of every plan when
  // `plan_id` is empty, as (plan id, key id) pairs ordered by plan.
  virtual Result<std::vector<std::pair<std::string, std::string>>> listUsagePlanKeys(
      std::string_view plan_id) = 0;

  // Adds each record's count to the stored count of its (plan, key, date), in one transaction.
  virtual Status addUsage(const std::vector<UsageRecord>& records) = 0;
  // Counts of one plan between two dates (inclusive, YYYY-MM-DD), of one key when `key_id` is
  // not empty; ordered by key, then date. Days without requests are absent.
  virtual Result<std::vector<UsageRecord>> queryUsage(std::string_view plan_id,
                                                      std::string_view key_id,
                                                      std::string_view from_date,
                                                      std::string_view to_date) = 0;

  // Schedules. createSchedule: kAlreadyExists if the name is taken; putSchedule creates or
  // replaces. Both set `created` when it is empty. deleteFunction deletes the schedules that
  // target the function.
  virtual Result<ScheduleRecord> createSchedule(ScheduleRecord schedule) = 0;
  virtual Result<ScheduleRecord> putSchedule(ScheduleRecord schedule) = 0;
  virtual Result<ScheduleRecord> getSchedule(std::string_view name) = 0;
  // Ordered by name; of one function when `function` is non-empty.
  virtual Result<std::vector<ScheduleRecord>> listSchedules(std::string_view function) = 0;
  virtual Status deleteSchedule(std::string_view name) = 0;
  // Enables (with a new anchor) or disables a schedule. kNotFound if missing.
  virtual Result<ScheduleRecord> setScheduleEnabled(std::string_view name, bool enabled,
                                                    int64_t anchor_ms) = 0;
  // Records that the schedule fired at `fired_ms`. kNotFound if it was deleted meanwhile.
  virtual Status recordScheduleFired(std::string_view name, int64_t fired_ms) = 0;

  // Topics and subscriptions. createTopic returns the existing topic when the name is taken
  // (SNS's CreateTopic is idempotent), with `created` telling which. deleteTopic deletes its
  // subscriptions; deleteFunction deletes the subscriptions of the function.
  virtual Result<std::pair<TopicRecord, bool>> createTopic(std::string_view name) = 0;
  virtual Result<TopicRecord> getTopic(std::string_view name) = 0;
  virtual Result<std::vector<TopicRecord>> listTopics() = 0;  // ordered by name
  virtual Status deleteTopic(std::string_view name) = 0;
  // Subscribes a function (and qualifier) to a topic; the existing subscription when it is
  // already subscribed (SNS's Subscribe is idempotent). kNotFound if the topic is missing.
  virtual Result<SubscriptionRecord> subscribe(SubscriptionRecord subscription) = 0;
  // Ordered by creation. kNotFound if the topic is missing.
  virtual Result<std::vector<SubscriptionRecord>> listSubscriptions(std::string_view topic) = 0;
  virtual Status unsubscribe(std::string_view topic, std::string_view id) = 0;

  // Appends log records in one transaction, assigning their ids in order. Logs outlive their
  // function (deleteFunction keeps them until they expire).
  virtual Status appendLogs(std::vector<LogRecord> records) = 0;
  virtual Result<std::vector<LogRecord>> queryLogs(const LogQuery& query) = 0;
  // Deletes records with timestamp_ms < before_ms; returns how many.
  virtual Result<int64_t> pruneLogs(int64_t before_ms) = 0;
};

}  // namespace gust::store
