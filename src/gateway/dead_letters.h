// The control API of the built-in dead-letter store (records of asynchronous invocations sent to
// an arn:aws:sqs:...:QUEUE destination), on the events component's EventQueue:
//   GET    /api/v1/dead-letters                 list (?queue=&function=&after=&limit=)
//   DELETE /api/v1/dead-letters                 purge (?queue=; all queues without it)
//   GET    /api/v1/dead-letters/{id}            one record with its invocation record
//   DELETE /api/v1/dead-letters/{id}            delete one (204)
//   POST   /api/v1/dead-letters/{id}/redrive    queue its event again (202, its request id)
// Internal to the gateway component.
#pragma once

#include "gateway/common.h"

namespace gust {
class ThreadPool;
namespace events {
class EventQueue;
}
}  // namespace gust

namespace gust::gateway {

// `queue` may be null (the routes then answer 503); it and `pool` must outlive the router.
void addDeadLetterRoutes(Router<Handler>& router, events::EventQueue* queue, ThreadPool& pool);

}  // namespace gust::gateway
