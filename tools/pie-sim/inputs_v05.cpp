#include "inputs_v05.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace pie_sim {

namespace {

using nlohmann::json;

/// One JSON object of input, read field by field; the first problem is kept.
class Input {
 public:
  explicit Input(std::string_view text) {
    // nlohmann 3.11 parses and destroys iteratively: deep nesting costs memory (bounded by the
    // frame cap), not stack.
    j_ = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j_.is_discarded()) error_ = "invalid input: not JSON";
    else if (!j_.is_object()) error_ = "invalid input: not a JSON object";
  }
  std::optional<std::string> str(const char* key) {
    const auto* v = field(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) return fail(std::string("field '") + key + "' must be a string");
    return v->get<std::string>();
  }
  /// An integer in [0, max]; `dflt` when absent (required if dflt is nullopt).
  std::optional<std::uint64_t> uint(const char* key, std::uint64_t min, std::uint64_t max,
                                    std::optional<std::uint64_t> dflt) {
    if (!error_.empty()) return std::nullopt;
    if (dflt && !j_.contains(key)) return dflt;
    const auto* v = field(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || (v->is_number_integer() && !v->is_number_unsigned() && v->get<std::int64_t>() < 0) ||
        v->get<std::uint64_t>() < min || v->get<std::uint64_t>() > max)
      return fail(std::string("field '") + key + "' must be an integer in " + std::to_string(min) + ".." +
                  std::to_string(max));
    return v->get<std::uint64_t>();
  }
  const std::string& error() const { return error_; }

 private:
  const json* field(const char* key) {
    if (!error_.empty()) return nullptr;
    const auto it = j_.find(key);
    if (it == j_.end()) return fail(std::string("missing field '") + key + "'"), nullptr;
    return &*it;
  }
  std::nullopt_t fail(const std::string& what) {
    if (error_.empty()) error_ = "invalid input: " + what;
    return std::nullopt;
  }
  json j_;
  std::string error_;
};

}  // namespace

const std::vector<std::string>& registry_v05() {
  static const std::vector<std::string> kNames = {"echo@0.1.0",      "text-completion@0.1.0", "sleep@0.1.0",
                                                  "fail@0.1.0",      "chat@0.1.0",            "file-echo@0.1.0",
                                                  "image@0.1.0"};
  return kNames;
}

bool registry_v05_has(std::string_view name) {
  const auto& names = registry_v05();
  return std::find(names.begin(), names.end(), name) != names.end();
}

pg::Result<Launch05> launch_v05(std::string_view name, std::string_view input) {
  if (name == "fail@0.1.0") return Launch05{"std/fail@0.1.0", {}};
  if (name == "chat@0.1.0") return Launch05{"std/chat@0.1.0", {}};
  if (name == "file-echo@0.1.0") return Launch05{"std/blob-echo@0.1.0", {}};
  Input in(input);
  Launch05 out;
  if (name == "echo@0.1.0") {
    auto text = in.str("text");
    out = {"std/echo@0.1.0", {text.value_or("")}};
  } else if (name == "text-completion@0.1.0") {
    auto prompt = in.str("prompt");
    auto n = in.uint("max_tokens", 0, 4096, 16);
    out = {"std/text-completion@0.1.0", {"--prompt", prompt.value_or(""), "--max-tokens", std::to_string(n.value_or(0))}};
  } else if (name == "sleep@0.1.0") {
    auto ms = in.uint("ms", 0, 3'600'000, std::nullopt);
    out = {"std/sleep@0.1.0", {"--ms", std::to_string(ms.value_or(0))}};
  } else if (name == "image@0.1.0") {
    auto size = in.uint("size", 1, 256, 16);
    out = {"std/image@0.1.0", {"--size", std::to_string(size.value_or(16))}};
  } else {
    return pg::make_error("unknown inferlet " + std::string(name));
  }
  if (!in.error().empty()) return pg::make_error(in.error());
  return out;
}

}  // namespace pie_sim
