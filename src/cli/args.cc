#include "cli/args.h"

#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace gust::cli {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) return false;
    out = out * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  auto bad = [&] {
    return Error::invalid(fmt::format(
        "'{}' is not a duration; use a number and a unit (ms, s, m, h, d), e.g. 30s, 10m, 1h30m",
        text.substr(0, 64)));
  };
  constexpr int64_t kMaxMs = 10ll * 366 * 86400 * 1000;
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    while (pos < text.size() && isDigit(text[pos])) ++pos;
    if (pos == start || pos - start > 12) return bad();
    int64_t n = 0;
    std::from_chars(text.data() + start, text.data() + pos, n);
    size_t unit_start = pos;
    while (pos < text.size() && !isDigit(text[pos])) ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    int64_t unit_ms = 0;
    if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60 * 1000;
    } else if (unit == "h") {
      unit_ms = 3600 * 1000;
    } else if (unit == "d") {
      unit_ms = 86400 * 1000;
    } else {
      return bad();
    }
    if (n > kMaxMs / unit_ms) return bad();
    total += n * unit_ms;
    if (total > kMaxMs) return bad();
  }
  return std::chrono::milliseconds(total);
}

Result<int64_t> parseIsoTime(std::string_view text) {
  auto bad = [&] {
    return Error::invalid(
        fmt::format("'{}' is not an ISO 8601 time; use e.g. 2026-11-24T21:00:00Z, "
                    "2026-11-24T22:00:00+01:00 or 2026-11-24",
                    text.substr(0, 64)));
  };
  std::tm tm{};
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !digits(text, pos, 2, day))
    return bad();
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return bad();
    ++pos;
    if (!digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
        !digits(text, pos, 2, minute))
      return bad();
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!digits(text, pos, 2, second)) return bad();
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        size_t start = pos;
        while (pos < text.size() && isDigit(text[pos])) {
          if (pos - start < 3) millis = millis * 10 + (text[pos] - '0');
          ++pos;
        }
        if (pos == start) return bad();
        for (size_t n = pos - start; n < 3; ++n) millis *= 10;
      }
    }
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone.empty()) {
      offset_minutes = 0;
    } else if (zone[0] == '+' || zone[0] == '-') {
      size_t z = 1;
      int oh = 0, om = 0;
      if (!digits(zone, z, 2, oh)) return bad();
      if (z < zone.size() && zone[z] == ':') ++z;
      if (z < zone.size() && !digits(zone, z, 2, om)) return bad();
      if (z != zone.size() || oh > 23 || om > 59) return bad();
      offset_minutes = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
      return bad();
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  int64_t seconds = static_cast<int64_t>(timegm(&tm)) - int64_t{offset_minutes} * 60;
  return seconds * 1000 + millis;
}

Result<int64_t> parseSince(std::string_view text, int64_t now_ms) {
  if (auto duration = parseDuration(text)) return now_ms - duration->count();
  int64_t epoch_ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), epoch_ms);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty() && epoch_ms >= 0)
    return epoch_ms;
  if (auto time = parseIsoTime(text)) return *time;
  return Error::invalid(fmt::format(
      "--since '{}' is neither a duration nor a time; use a duration such as 30s, 10m, 1h or 2d, "
      "an ISO 8601 time such as 2026-11-24T21:00:00Z, or epoch milliseconds",
      text.substr(0, 64)));
}

Result<std::pair<std::string, double>> parseWeight(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Error::invalid(fmt::format(
        "--weight '{}': {}; use VERSION=WEIGHT with a published version and a share of the "
        "traffic between 0 and 1, e.g. --weight 2=0.1",
        text.substr(0, 64), why));
  };
  auto eq = text.find('=');
  if (eq == std::string_view::npos) return bad("there is no '='");
  std::string_view version = text.substr(0, eq);
  std::string_view weight = text.substr(eq + 1);
  if (version.empty() || version.size() > 10) return bad("the version is not a version number");
  for (char c : version) {
    if (!isDigit(c)) return bad("the version is not a version number ($LATEST cannot have one)");
  }
  double w = 0;
  auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), w);
  if (weight.empty() || ec != std::errc() || end != weight.data() + weight.size() ||
      !std::isfinite(w))
    return bad("the weight is not a number");
  if (w < 0 || w > 1) return bad("the weight is outside [0, 1]");
  return std::pair<std::string, double>{std::string(version), w};
}

Result<std::map<std::string, double>> parseWeights(const std::vector<std::string>& texts) {
  std::map<std::string, double> out;
  for (const auto& text : texts) {
    GUST_ASSIGN_OR_RETURN(auto weight, parseWeight(text));
    out[weight.first] = weight.second;
  }
  if (out.size() > 1)
    return Error::invalid(fmt::format(
        "--weight was given for {} versions; an alias sends extra traffic to one additional "
        "version only: give --weight once",
        out.size()));
  return out;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace gust::cli
