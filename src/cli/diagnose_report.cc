#include "cli/diagnose_report.h"

#include <algorithm>

#include "cli/table.h"

namespace ztdns::cli {

const char* checkStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "PASS";
    case CheckStatus::kWarn:
      return "WARN";
    case CheckStatus::kFail:
      return "FAIL";
    case CheckStatus::kSkip:
      return "SKIP";
  }
  return "FAIL";
}

bool DiagnoseReport::failed() const {
  return count(CheckStatus::kFail) > 0;
}

size_t DiagnoseReport::count(CheckStatus s) const {
  return static_cast<size_t>(
      std::count_if(checks_.begin(), checks_.end(), [s](const Check& c) { return c.status == s; }));
}

void DiagnoseReport::print(std::ostream& out) const {
  static const char* kSteps[] = {"",
                                 "Step 1: trusted DNS servers are configured",
                                 "Step 2: the servers answer over TLS",
                                 "Step 3: names resolve through the system path",
                                 "Step 4: configuration sanity",
                                 "Step 5: audit findings"};
  int step = 0;
  for (const auto& c : checks_) {
    if (c.step != step) {
      step = c.step;
      out << (step == 1 ? "" : "\n") << (step >= 1 && step <= 5 ? kSteps[step] : "Other") << '\n';
    }
    out << "  [" << checkStatusName(c.status) << "] "
        << printable(c.subject.empty() ? c.id : c.subject) << ": " << printable(c.message) << '\n';
    for (const auto& d : c.details) out << "         " << printable(d) << '\n';
    if (!c.remedy.empty() && c.status != CheckStatus::kPass)
      out << "         remedy: " << printable(c.remedy) << '\n';
  }
  size_t warnings = count(CheckStatus::kWarn);
  out << '\n'
      << count(CheckStatus::kPass) << " passed, " << warnings
      << (warnings == 1 ? " warning, " : " warnings, ") << count(CheckStatus::kFail) << " failed";
  if (count(CheckStatus::kSkip)) out << ", " << count(CheckStatus::kSkip) << " skipped";
  out << ".\n";
}

nlohmann::json DiagnoseReport::toJson() const {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : checks_) {
    checks.push_back({{"step", c.step},
                      {"check", c.id},
                      {"subject", c.subject},
                      {"status", checkStatusName(c.status)},
                      {"message", c.message},
                      {"remedy", c.remedy},
                      {"details", c.details}});
  }
  return {{"checks", checks},
          {"summary",
           {{"pass", count(CheckStatus::kPass)},
            {"warn", count(CheckStatus::kWarn)},
            {"fail", count(CheckStatus::kFail)},
            {"skip", count(CheckStatus::kSkip)}}},
          {"ok", !failed()}};
}

}  // namespace ztdns::cli
