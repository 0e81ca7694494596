// The functions that schedules and topic subscriptions invoke: how a target is named and
// checked (shared by scheduler.cc and topics.cc).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "store/store.h"

namespace gust::events {

// Checks that `function` is a function name and `qualifier` a version number, an alias name,
// "$LATEST" or empty; with `store`, also that they exist (kNotFound naming what is missing).
Status checkTarget(store::Store* store, std::string_view function, std::string_view qualifier);

// "$LATEST" and "" both mean unqualified; stored as "".
std::string normalQualifier(std::string_view qualifier);

// `value` quoted for an error message: bounded, with control bytes and quotes escaped.
std::string quotedValue(std::string_view value);

}  // namespace gust::events
