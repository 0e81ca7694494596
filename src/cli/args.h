// Parsers of the CLI's own argument syntaxes (durations, times, alias weights). Pure functions:
// each error names the argument, what was given and what is allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace gust::cli {

// A duration as one or more <number><unit> parts, unit ms, s, m, h or d: "30s", "10m",
// "1h30m", "2d", "500ms". Up to 10 years.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// An ISO 8601 time, returned as epoch milliseconds: "2026-11-24T21:00:00Z",
// "2026-11-24T21:00:00.250+01:00", "2026-11-24T21:00" (no zone: UTC) or a date "2026-11-24"
// (midnight UTC). A space may stand for the "T".
Result<int64_t> parseIsoTime(std::string_view text);

// `gust logs --since`: a duration before `now_ms`, an ISO 8601 time, or epoch milliseconds.
Result<int64_t> parseSince(std::string_view text, int64_t now_ms);

// One `--weight VERSION=WEIGHT` of an alias (Lambda's RoutingConfig.AdditionalVersionWeights):
// a published version number and a share of the traffic in [0, 1], e.g. "2=0.1".
Result<std::pair<std::string, double>> parseWeight(std::string_view text);
// Every --weight given; Lambda allows one additional version per alias.
Result<std::map<std::string, double>> parseWeights(const std::vector<std::string>& texts);

int64_t nowMs();

}  // namespace gust::cli
