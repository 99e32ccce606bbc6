// The diagnose report: one Check per line of the guide's checklist, PASS/WARN/FAIL (or SKIP
// when it could not run) with a one-line message and, unless it passed, a one-line remedy.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace ztdns::cli {

enum class CheckStatus { kPass, kWarn, kFail, kSkip };
const char* checkStatusName(CheckStatus s);  // "PASS", ...

struct Check {
  int step = 0;         // the guide's step, 1..5
  std::string id;       // stable: "servers", "server", "resolv-conf", ...
  std::string subject;  // what it is about: "pdns1 198.51.100.53:853 DoT"
  CheckStatus status = CheckStatus::kPass;
  std::string message;
  std::string remedy;
  std::vector<std::string> details;  // more lines (timings, top destinations)
};

class DiagnoseReport {
 public:
  void add(Check check) { checks_.push_back(std::move(check)); }
  const std::vector<Check>& checks() const { return checks_; }
  bool failed() const;
  size_t count(CheckStatus s) const;
  void print(std::ostream& out) const;
  nlohmann::json toJson() const;

 private:
  std::vector<Check> checks_;
};

}  // namespace ztdns::cli
