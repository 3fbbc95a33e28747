// Runs a test script that reports one line per check ("OK <name>" / "FAIL <name>: <why>", see
// tests/python/checks.py) to its end, bounded in lines and time, and collects the report.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pg::test {

struct ScriptReport {
  int ok = 0;                       // OK lines
  std::vector<std::string> failed;  // FAIL lines, as printed
  std::optional<int> status;        // exit status (nullopt: it did not end in time)
};

/// Runs `argv` (its stderr and anything unparsed go to `log`); each line must come within
/// `line_timeout`, and at most `max_lines` are read.
ScriptReport run_checks(const std::vector<std::string>& argv, const std::string& log,
                        std::chrono::milliseconds line_timeout = std::chrono::seconds(60), int max_lines = 200);

}  // namespace pg::test
