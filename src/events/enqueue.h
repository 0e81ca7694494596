// How schedules and topics hand events to the durable asynchronous queue: the same path as an
// `Event` invocation, so a scheduled or published event gets the queue's durability, retries
// and destinations.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace gust::events {

// One asynchronous invocation to enqueue.
struct AsyncInvoke {
  std::string function;   // function name
  std::string qualifier;  // version or alias; empty: unqualified ($LATEST)
  std::string payload;    // the event, JSON text
};

// Stores every invocation durably (all of them, or an error for the whole call) and returns
// their event ids in order; returns only once they are on disk. Thread-safe.
using EnqueueFn = std::function<Result<std::vector<std::string>>(std::vector<AsyncInvoke>)>;

}  // namespace gust::events
