#include "support/script_checks.hpp"

#include "support/process.hpp"

namespace pg::test {

ScriptReport run_checks(const std::vector<std::string>& argv, const std::string& log,
                        std::chrono::milliseconds line_timeout, int max_lines) {
  Process script(argv, log);
  ScriptReport report;
  for (int i = 0; i < max_lines; ++i) {
    auto line = script.read_line(line_timeout);
    if (!line) break;
    if (line->rfind("OK ", 0) == 0) ++report.ok;
    else if (line->rfind("FAIL ", 0) == 0) report.failed.push_back(*line);
  }
  report.status = script.wait(std::chrono::seconds(30));
  return report;
}

}  // namespace pg::test
