// Fuzzes the EventBridge schedule expression parser (rate(...) and cron(...)), which sees
// expressions from the API, the CLI and gust.yaml, and the next-fire search over what it accepts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/schedule_expr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = gust::events::ScheduleExpression::parse(text);
  if (!parsed.ok()) {
    if (parsed.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (parsed->text() != text) __builtin_trap();
  // Fire times are strictly later, whole minutes for cron, and the search is consistent: asking
  // again from just before a fire time finds the same time.
  constexpr int64_t kAnchor = 1'795'000'000'000;  // 2026-11-19
  for (int64_t after :
       {int64_t{-1}, int64_t{0}, kAnchor - 1, kAnchor + 59'999, 7'258'118'400'000}) {
    auto next = parsed->nextFire(after, kAnchor);
    if (!next) continue;
    if (*next <= after) __builtin_trap();
    if (!parsed->isRate() && *next % 60'000 != 0) __builtin_trap();
    auto again = parsed->nextFire(*next - 1, kAnchor);
    if (!again || *again != *next) __builtin_trap();
    (void)gust::events::eventTime(*next);
  }
  return 0;
}
