#include "common/result.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace gust {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kFailedPrecondition:
      return "FailedPrecondition";
    case ErrorCode::kUnauthenticated:
      return "Unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "PermissionDenied";
    case ErrorCode::kTooLarge:
      return "TooLarge";
    case ErrorCode::kResourceExhausted:
      return "ResourceExhausted";
    case ErrorCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case ErrorCode::kUnavailable:
      return "Unavailable";
    case ErrorCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

Error Error::fromErrno(std::string_view what, int err) {
  return {ErrorCode::kInternal, fmt::format("{}: {}", what, std::strerror(err))};
}

namespace detail {
void checkFailed(const char* expr, const char* message, const char* file, int line) {
  std::fprintf(stderr, "GUST_CHECK failed at %s:%d: %s (%s)\n", file, line, expr, message);
  std::abort();
}
}  // namespace detail

}  // namespace gust
