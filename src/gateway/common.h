// What the gateway's request handlers share (internal to the gateway component).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/engine.h"
#include "gateway/router.h"
#include "http/http.h"
#include "store/store.h"

namespace gust {
class ThreadPool;
namespace control {
class FunctionService;
}
}  // namespace gust

namespace gust::gateway {

using Handler = std::function<void(http::Request&&, const PathParams&, http::Responder)>;

// The control API's error answer: {"code", "message"} with the status of the error's code.
http::Response errorResponse(const Error& error);
http::Response errorResponse(ErrorCode code, std::string message);

// Runs blocking control-plane work (SQLite, disk) on `pool` and responds with its result.
void offload(ThreadPool& pool, http::Responder respond, std::function<http::Response()> work);

// Decoded query parameters; a malformed escape is kInvalidArgument.
Result<std::map<std::string, std::string>> parseQuery(std::string_view query);

// Lambda's X-Amz-Log-Result: base64 of the last 4 KB of the invocation's log.
std::string logTail(std::string_view logs);

// The engine's view of a stored version: its code extracted, and the function's reservation
// (which is per function, so it comes from `reserved` — $LATEST's — for published versions too).
// `provisioned`: instances to keep initialised for this version.
Result<std::shared_ptr<const engine::FunctionSpec>> specFor(control::FunctionService& functions,
                                                            const store::FunctionRecord& record,
                                                            std::optional<int> reserved,
                                                            int provisioned);

}  // namespace gust::gateway
