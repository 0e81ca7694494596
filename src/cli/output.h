// How commands print data: a table for people (the default) or JSON for scripts (`--output
// json`, one document on stdout, stable snake_case field names). Pure functions, unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace gust::cli {

enum class OutputFormat { kTable, kJson };

// Adds --output/-o (table|json, default table) to a command that prints data.
void addOutputOption(CLI::App& command, OutputFormat& format);

// Columns padded to their widest cell, two spaces apart, no trailing spaces; each row ends with
// a newline. Rows shorter than the header are padded with empty cells.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t rowCount() const { return rows_.size(); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "Key:   value" lines with the values aligned, for one object (describe, deploy).
std::string renderFields(const std::vector<std::pair<std::string, std::string>>& fields);

// 512 B, 1.5 KB, 3.2 MB.
std::string humanBytes(uint64_t bytes);

}  // namespace gust::cli
