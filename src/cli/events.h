// `gust generate-event KIND`: sample events of the sources that invoke Lambda functions, with
// the fields AWS documents, for `gust invoke --file` and `gust local invoke --event`.
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gust::cli {

// apigateway-v1 (REST API proxy, payload 1.0), apigateway-v2 (HTTP API, payload 2.0), schedule
// (EventBridge scheduled event), topic (an SNS notification).
const std::vector<std::string>& sampleEventKinds();

struct EventOptions {
  std::string method = "GET";        // API Gateway: the HTTP method
  std::string path = "/hello";       // API Gateway: the request path
  std::string query = "name=world";  // API Gateway: the raw query string
  std::string body;                  // API Gateway: the request body; topic: the message
  int64_t now_ms = 0;                // the event's time
};

// The event as pretty-printed JSON; kInvalidArgument for an unknown kind or a path that does not
// start with '/'.
Result<std::string> sampleEvent(std::string_view kind, const EventOptions& options);

}  // namespace gust::cli
