// GUST_CHECK: for bugs only (broken invariants), never for bad input. Aborts with a message.
#pragma once

namespace gust::detail {
[[noreturn]] void checkFailed(const char* expr, const char* message, const char* file, int line);
}  // namespace gust::detail

#define GUST_CHECK(cond, message)                                                 \
  do {                                                                            \
    if (!(cond)) ::gust::detail::checkFailed(#cond, message, __FILE__, __LINE__); \
  } while (0)
