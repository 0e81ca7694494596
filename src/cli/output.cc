#include "cli/output.h"

#include <CLI/CLI.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace gust::cli {

void addOutputOption(CLI::App& command, OutputFormat& format) {
  command
      .add_option_function<std::string>(
          "--output,-o",
          [&format](const std::string& value) {
            format = value == "json" ? OutputFormat::kJson : OutputFormat::kTable;
          },
          "table (for people; the default) or json (for scripts: stable field names)")
      ->check(CLI::IsMember({"table", "json"}));
}

std::string Table::render() const {
  std::vector<size_t> widths(header_.size(), 0);
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : std::string();
      text += cell;
      if (i + 1 < widths.size()) text.append(widths[i] - cell.size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  };
  line(header_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string renderFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size() + 1);
  std::string out;
  for (const auto& [key, value] : fields) {
    std::string text = fmt::format("{:<{}}  {}", key + ":", width, value);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  }
  return out;
}

std::string humanBytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KB", static_cast<double>(n) / 1024);
  return fmt::format("{:.1f} MB", static_cast<double>(n) / (1024 * 1024));
}

}  // namespace gust::cli
