// AWS Lambda's REST API (2015-03-31 and the later dated paths) on the gateway: the functions,
// versions, aliases, concurrency and Invoke operations, with Lambda's status codes and error
// shape (x-amzn-ErrorType + {"Type","message"}). api/lambda-api.md lists what is supported.
// Internal to the gateway component.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "events/event.h"
#include "gateway/common.h"
#include "gateway/invoker.h"
#include "gateway/lambda_json.h"

namespace gust::events {
class EventQueue;
}

namespace gust::gateway {

struct LambdaApiOptions {
  lambda::Account account;
  size_t max_sync_payload_bytes = 6 * 1024 * 1024;  // Lambda: 6 MB request and response
  size_t max_async_payload_bytes = 1024 * 1024;
  // Signs the code download links GetFunction hands out (Code.Location); they work without
  // other credentials until they expire, as Lambda's presigned links do.
  std::string link_key;
  std::chrono::seconds link_lifetime{600};  // Lambda: 1 MB for Event invocations
  // Where Event invocations are stored before their 202. Null: they are refused (503).
  events::EventQueue* events = nullptr;
};

// Lambda's error response for `error`: status and x-amzn-ErrorType from its code (or `type`
// when given), body {"Type": "User"|"Service", "message": ...}.
http::Response lambdaError(const Error& error, std::string_view type = {});

// Thread-safety: handlers may run concurrently. The references must outlive it.
class LambdaApi {
 public:
  // Invocations go through `invoker`, which this API also tells about every change it stores.
  LambdaApi(LambdaApiOptions options, control::FunctionService& functions, Invoker& invoker,
            ThreadPool& pool);

  // Adds every route of the API.
  void addRoutes(Router<Handler>& router);

  // Invoke, also used by the gust CLI's /api/v1/functions/{name}/invoke: params["name"] is the
  // FunctionName; the query may carry Qualifier. `cascade_depth`: how deeply the invocation is
  // nested (engine::InvokeRequest::cascade_depth), for one a function made.
  void invoke(http::Request&& req, const PathParams& params, http::Responder respond,
              int cascade_depth = 0);

  // An Event invocation's intake: checks that the function (and the qualifier) exists, stores
  // `event` durably (an empty id gets a new UUID) and calls `done` with its id once it is on
  // disk, or with the error (kNotFound, or the queue's). `event.function` and
  // `event.qualifier` name the target. Used by Invoke (X-Amz-Invocation-Type: Event) and the
  // API gateway's asynchronous routes; payload limits are the caller's to check.
  void enqueueEvent(events::Event event, std::function<void(Result<std::string>)> done);

  // Tells the engine every function's reservation and provisioned instances (server start).
  Status configureEngine();
  // The same for one function, after a change outside this API (the gust CLI's deploy).
  Status reconfigure(std::string_view function_name);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace gust::gateway
