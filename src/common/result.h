// Result<T>: the return type of every operation that can fail in an expected way (bad input,
// missing resources, limits, timeouts, syscalls). A small subset of C++23 std::expected.
// Bugs are not Results: they hit GUST_CHECK.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace gust {

// The kinds of expected failure. Edges (HTTP, CLI) map them to status and exit codes.
enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong; the message says how to fix it
  kNotFound,            // the named resource does not exist
  kAlreadyExists,       // creating something that exists, or a conflict with another resource
  kFailedPrecondition,  // a conditional update whose condition (e.g. a revision id) no longer holds
  kUnauthenticated,     // missing or wrong credentials
  kPermissionDenied,    // known caller, not allowed
  kTooLarge,            // a size limit was crossed
  kResourceExhausted,   // a concurrency, rate or quota limit was hit
  kDeadlineExceeded,    // a timeout elapsed
  kUnavailable,         // a dependency (sandbox, runtime, disk) cannot serve now
  kInternal,            // a failure of Gust itself, with the cause in the message
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  static Error invalid(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Error notFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error tooLarge(std::string m) { return {ErrorCode::kTooLarge, std::move(m)}; }
  // An error from a failed syscall: "<what>: <strerror(errno)>".
  static Error fromErrno(std::string_view what, int err);
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    GUST_CHECK(ok(), "value() on an error Result");
    return std::get<0>(v_);
  }
  const T& value() const& {
    GUST_CHECK(ok(), "value() on an error Result");
    return std::get<0>(v_);
  }
  T&& value() && {
    GUST_CHECK(ok(), "value() on an error Result");
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    GUST_CHECK(!ok(), "error() on a successful Result");
    return std::get<1>(v_);
  }
  Error&& error() && {
    GUST_CHECK(!ok(), "error() on a successful Result");
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    GUST_CHECK(!ok_, "error() on a successful Result");
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status okStatus() { return {}; }

}  // namespace gust

// Returns the error of `expr` (a Result) from the enclosing function, which must return a Result.
#define GUST_TRY(expr)                                           \
  do {                                                           \
    auto&& gust_try_result_ = (expr);                            \
    if (!gust_try_result_.ok()) return gust_try_result_.error(); \
  } while (0)

// Declares `var` from the value of `expr` (a Result), or returns its error.
#define GUST_ASSIGN_OR_RETURN(var, expr)                         \
  auto GUST_CONCAT_(gust_res_, __LINE__) = (expr);               \
  if (!GUST_CONCAT_(gust_res_, __LINE__).ok())                   \
    return std::move(GUST_CONCAT_(gust_res_, __LINE__)).error(); \
  var = std::move(GUST_CONCAT_(gust_res_, __LINE__)).value()

#define GUST_CONCAT_INNER_(a, b) a##b
#define GUST_CONCAT_(a, b) GUST_CONCAT_INNER_(a, b)
