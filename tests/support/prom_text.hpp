// A small parser of the Prometheus text exposition format (0.0.4), for tests: one sample per
// `name{label="value",...} number` line; `#` lines (HELP, TYPE) and blank lines are skipped.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pg::test {

using PromLabels = std::map<std::string, std::string>;

struct PromSample {
  std::string name;
  PromLabels labels;
  double value = 0;
};

class PromText {
 public:
  /// Throws std::runtime_error naming the line when a sample line does not parse.
  explicit PromText(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      samples_.push_back(parse_line(line, n));
    }
  }

  const std::vector<PromSample>& samples() const { return samples_; }

  /// The sample with exactly these labels, if any.
  std::optional<double> find(const std::string& name, const PromLabels& labels = {}) const {
    for (const auto& s : samples_)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  /// The sample's value, or 0 when absent (a counter not yet incremented is not exposed).
  double get(const std::string& name, const PromLabels& labels = {}) const { return find(name, labels).value_or(0); }
  /// The sum over every sample of `name` whose labels include `subset`.
  double sum(const std::string& name, const PromLabels& subset = {}) const {
    double total = 0;
    for (const auto& s : samples_) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : subset) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) total += s.value;
    }
    return total;
  }

 private:
  static PromSample parse_line(const std::string& line, int n) {
    auto fail = [&](const char* what) {
      return std::runtime_error("metrics line " + std::to_string(n) + ": " + what + ": " + line);
    };
    PromSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (s.name.empty()) throw fail("no metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') throw fail("bad label");
        std::string key = line.substr(i, eq - i);
        std::string value;
        i = eq + 2;
        for (;; ++i) {
          if (i >= line.size()) throw fail("unterminated label value");
          char c = line[i];
          if (c == '"') break;
          if (c == '\\' && i + 1 < line.size()) {
            char e = line[++i];
            value += e == 'n' ? '\n' : e;
          } else {
            value += c;
          }
        }
        ++i;  // closing quote
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) throw fail("unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') throw fail("no value");
    std::string number = line.substr(i + 1);
    if (auto sp = number.find(' '); sp != std::string::npos) number.resize(sp);  // optional timestamp
    char* end = nullptr;
    s.value = std::strtod(number.c_str(), &end);  // also reads +Inf, -Inf and NaN
    if (number.empty() || *end) throw fail("bad value");
    return s;
  }

  std::vector<PromSample> samples_;
};

}  // namespace pg::test
