// Table: aligned columns for people. Widths count UTF-8 code points, so names with
// non-ASCII letters line up too. The last column is never padded.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ztdns::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void addRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Two columns, no header: "Label   value" lines.
class KeyValueList {
 public:
  void add(std::string label, std::string value) {
    rows_.push_back({std::move(label), std::move(value)});
  }
  void print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

size_t displayWidth(const std::string& s);

// Replaces control characters (from logs and peers) so that a cell stays on its line.
std::string printable(const std::string& s);

}  // namespace ztdns::cli
