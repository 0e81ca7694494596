// The gateway turns HTTP requests into control-plane calls and invocations:
//   GET  /healthz                               liveness (no auth)
//   GET  /api/v1/functions                      list
//   POST /api/v1/functions                      deploy (create or update; 201 / 200)
//   GET  /api/v1/functions/{name}               describe
//   DELETE /api/v1/functions/{name}             delete (204)
//   POST /api/v1/functions/{name}/invoke        synchronous invoke, Lambda-style headers
//                                               (throttling: 429 TooManyRequestsException)
//   GET  /api/v1/functions/{name}/logs          invocation logs (?since=&request_id=&limit=)
//   /api/v1/dead-letters[/{id}[/redrive]]       the dead-letter store (gateway/dead_letters.h)
//   POST /api/v1/credentials                    issue an access key for the AWS CLI/SDKs (201)
//   GET  /api/v1/credentials                    list access keys (never their secrets)
//   DELETE /api/v1/credentials/{id}             revoke one (204)
//   /api/v1/api-keys..., /api/v1/usage-plans... API keys and usage plans (usage_plan_api.h)
//   /api/v1/schedules..., /api/v1/topics...     schedules and topics (events_routes.h)
//   /2015-03-31/..., /2017-10-31/..., /2019-09-25/..., /2019-09-30/..., /2016-08-19/...
//                                               AWS Lambda's REST API (api/lambda-api.md)
// Everything under /api/ needs `Authorization: Bearer <token>` (api/openapi.yaml); the Lambda
// API takes that token or an AWS Signature Version 4 made with a key Gust issued.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "events/event.h"
#include "http/http.h"

namespace gust {
class ThreadPool;
namespace auth {
class CredentialService;
}
namespace control {
class FunctionService;
class UsagePlanService;
}  // namespace control
namespace engine {
class Engine;
class InstanceCaller;
}  // namespace engine
namespace events {
class EventQueue;
class Scheduler;
class Topics;
}  // namespace events
}  // namespace gust

namespace gust::gateway {

class Invoker;

struct GatewayOptions {
  std::string token;                                       // the control API's bearer token
  std::string token_hint = "the server's data directory";  // where users find it, for errors
  size_t max_sync_payload_bytes = 6 * 1024 * 1024;         // Lambda's synchronous limit
  size_t max_async_payload_bytes = 1024 * 1024;            // Lambda's limit for Event invokes
  int control_threads = 2;           // threads for blocking control-plane work (disk, SQLite)
  std::string region = "us-east-1";  // of the ARNs the Lambda API reports
  std::string account_id = "000000000000";  // likewise
  // The access keys that AWS Signature Version 4 requests are verified against, managed under
  // /api/v1/credentials. Null: signed requests are refused (only the bearer token works).
  auth::CredentialService* credentials = nullptr;
  // API keys and usage plans, managed under /api/v1/api-keys and /api/v1/usage-plans. Null:
  // those routes are absent.
  control::UsagePlanService* usage_plans = nullptr;
  // Where Event invocations wait for delivery (stored durably before their 202), and the
  // dead-letter store of /api/v1/dead-letters. Null: both answer 503.
  events::EventQueue* events = nullptr;
  // Whether a topic destination (arn:aws:sns:...) of an EventInvokeConfig can be published to;
  // empty: topic destinations are refused (the server has no topics).
  std::function<Status(std::string_view topic_arn)> check_topic;
  // Schedules (/api/v1/schedules, schedules in deploys). Null: those routes answer 503.
  events::Scheduler* scheduler = nullptr;
  // Topics (/api/v1/topics). Null: those routes answer 503.
  events::Topics* topics = nullptr;
};

// Thread-safety: handle() may be called concurrently. `functions` and `engine` must outlive it.
// The destructor waits for queued control-plane work.
class Gateway {
 public:
  Gateway(GatewayOptions options, control::FunctionService& functions, engine::Engine& engine);
  ~Gateway();

  void handle(http::Request&& request, http::Responder respond);

  // Lambda's API as a function's instance reaches it from inside its sandbox, on the listener
  // made for it (engine::EngineOptions::serve_lambda_api), on behalf of `caller`: Invoke only
  // (RequestResponse, Event, DryRun; answered as handle() answers it), for the callees its
  // function's `invokes` allows (else 403 AccessDeniedException), nested at most
  // engine::kMaxCascadeDepth deep (else 400 RecursiveInvocationException). Nothing is
  // authenticated: the listener identifies the caller. Other Lambda operations are 403
  // AccessDeniedException; any other path 404 UnsupportedOperationException.
  void handleFromInstance(const engine::InstanceCaller& caller, http::Request&& request,
                          http::Responder respond);

  // Tells the engine every stored function's configuration (reservations, provisioned
  // concurrency); deploys do it for the function they change. Call once at server start.
  // Blocking (reads the store); a function that cannot be resolved is skipped and reported.
  Status configureEngine();

  // The invoke path every caller shares (gateway/invoker.h): resolves references through its
  // cache and runs them on the engine. Lives as long as the gateway.
  Invoker& invoker();

  // The intake of asynchronous invocations (LambdaApi::enqueueEvent): checks the function and
  // qualifier exist, stores the event durably, then calls `done` with its id (the request id to
  // answer) or the error. Any thread; `done` runs on another one.
  void enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done);

  // The answer to a request the HTTP server refuses before the gateway sees it (413, 431, 400):
  // Lambda's error shape on the Lambda API's paths, the control API's elsewhere. For
  // http::ServerOptions::refusal.
  static http::Response refusal(std::string_view target, int status, std::string_view message);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gust::gateway
