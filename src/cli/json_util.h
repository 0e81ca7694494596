// Reading the server's JSON answers and printing JSON output (one document on stdout).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gust::cli {

// The body as a JSON object, or an error quoting the start of the unexpected answer.
Result<boost::json::object> parseObject(std::string_view body);

// Fields of an object, with a fallback when absent or of another type.
std::string stringField(const boost::json::object& o, std::string_view key);
int64_t intField(const boost::json::object& o, std::string_view key, int64_t fallback = 0);
const boost::json::object& objectField(const boost::json::object& o, std::string_view key);
const boost::json::array& arrayField(const boost::json::object& o, std::string_view key);

// `text` parsed when it is JSON, else the string itself (a payload shown inside JSON output).
boost::json::value jsonOrString(std::string_view text);

// Prints `value` and a newline to stdout, on one line.
void printJson(const boost::json::value& value);

// `value` indented by two spaces per level, for JSON meant to be read and edited (sample
// events). Keys keep their order.
std::string prettyJson(const boost::json::value& value);

}  // namespace gust::cli
