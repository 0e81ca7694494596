// Lambda's EventInvokeConfig operations (asynchronous invocation settings per qualifier):
//   PUT    /2019-09-25/functions/{fn}/event-invoke-config        PutFunctionEventInvokeConfig
//   POST   /2019-09-25/functions/{fn}/event-invoke-config        UpdateFunctionEventInvokeConfig
//   GET    /2019-09-25/functions/{fn}/event-invoke-config        GetFunctionEventInvokeConfig
//   DELETE /2019-09-25/functions/{fn}/event-invoke-config        DeleteFunctionEventInvokeConfig
//   GET    /2019-09-25/functions/{fn}/event-invoke-config/list   ListFunctionEventInvokeConfigs
// with ?Qualifier= (or NAME:QUALIFIER), Lambda's JSON shapes and errors. Destinations are
// validated by events::parseDestination; topics through `check_topic`.
// Internal to the gateway component.
#pragma once

#include <functional>

#include "gateway/common.h"
#include "gateway/lambda_json.h"

namespace gust::gateway {

struct EventInvokeConfigApiOptions {
  lambda::Account account;
  // Whether a topic destination (its ARN) can be published to; empty: topics are refused.
  std::function<Status(std::string_view topic_arn)> check_topic;
};

// `functions` and `pool` must outlive the router.
void addEventInvokeConfigRoutes(Router<Handler>& router, EventInvokeConfigApiOptions options,
                                control::FunctionService& functions, ThreadPool& pool);

}  // namespace gust::gateway
