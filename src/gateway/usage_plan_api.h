// The control API of API keys and usage plans (control::UsagePlanService):
//   POST   /api/v1/api-keys                       create (201; the value is in this answer only)
//   GET    /api/v1/api-keys                       list (never the values)
//   GET    /api/v1/api-keys/{id}                  describe (id or name)
//   PATCH  /api/v1/api-keys/{id}                  {"enabled": true|false}
//   DELETE /api/v1/api-keys/{id}                  delete (204)
//   POST   /api/v1/usage-plans                    create (201)
//   GET    /api/v1/usage-plans                    list
//   GET    /api/v1/usage-plans/{id}               describe (id or name)
//   DELETE /api/v1/usage-plans/{id}               delete (204)
//   GET    /api/v1/usage-plans/{id}/keys          the plan's keys
//   POST   /api/v1/usage-plans/{id}/keys          {"key_id": id or name} (201)
//   DELETE /api/v1/usage-plans/{id}/keys/{keyId}  (204)
//   GET    /api/v1/usage-plans/{id}/usage?startDate=&endDate=&keyId=   API Gateway's GetUsage
#pragma once

#include "gateway/common.h"

namespace gust {
class ThreadPool;
namespace control {
class UsagePlanService;
}
}  // namespace gust

namespace gust::gateway {

// Adds the routes above. `service` and `pool` (for the blocking store work) must outlive the
// router's use.
void addUsagePlanRoutes(Router<Handler>& router, control::UsagePlanService& service,
                        ThreadPool& pool);

}  // namespace gust::gateway
