// The control API's routes for schedules, topics and the test clock:
//   GET    /api/v1/schedules[?function=NAME]   list
//   POST   /api/v1/schedules                   create (201)
//   GET    /api/v1/schedules/{name}            describe (with last_fired and next_fire)
//   DELETE /api/v1/schedules/{name}            delete (204)
//   POST   /api/v1/schedules/{name}/enable     enable; .../disable: disable
//   GET    /api/v1/topics                      list
//   POST   /api/v1/topics                      {"name"}: create (201), or the existing one (200)
//   GET    /api/v1/topics/{name}               describe, with its subscriptions
//   DELETE /api/v1/topics/{name}               delete with its subscriptions (204)
//   POST   /api/v1/topics/{name}/publish       {"message","subject","message_attributes"}:
//                                              {"message_id"} once every subscriber's event is
//                                              queued durably
//   GET    /api/v1/topics/{name}/subscriptions list
//   POST   /api/v1/topics/{name}/subscriptions {"function","qualifier"}: subscribe (201; 200
//                                              when already subscribed)
//   DELETE /api/v1/topics/{name}/subscriptions/{id}  unsubscribe (204)
//   POST   /api/v1/test/clock                  {"advance_ms": N}: moves the schedules' clock
//                                              forward and fires what became due; only on a
//                                              server started with the test clock (else 404)
#pragma once

#include "gateway/common.h"

namespace gust {
class ThreadPool;
namespace events {
class Scheduler;
class Topics;
}  // namespace events
}  // namespace gust

namespace gust::gateway {

// Adds the routes above. A null `scheduler` answers them with 503 (schedules unavailable).
// `scheduler` and `pool` must outlive the router.
void addScheduleRoutes(Router<Handler>& router, ThreadPool& pool, events::Scheduler* scheduler);
// Adds the topic routes above; a null `topics` answers them with 503.
void addTopicRoutes(Router<Handler>& router, ThreadPool& pool, events::Topics* topics);

}  // namespace gust::gateway
