// The wall clock in the forms Gust stores and prints.
#pragma once

#include <cstdint>
#include <string>

namespace gust {

// Milliseconds since the Unix epoch (system_clock).
int64_t wallClockMs();

// ISO 8601 UTC with milliseconds, e.g. 2026-11-24T21:00:00.123Z.
std::string isoUtcMs(int64_t epoch_ms);

}  // namespace gust
