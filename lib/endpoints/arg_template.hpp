// Argument templates: "--prompt", "{prompt}", "--ms={ms}". `{name}` is a parameter,
// `{{` and `}}` are literal braces; "{*args}" and "{**kwargs}" spread extra arguments. Parsed once at config load, rendered per call.
// Also the JSON text helpers the 0.5 launch input is built with (no DOM: it is on every call's path).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pg::endpoints {

class ArgTemplate {
 public:
  struct Segment {
    bool placeholder = false;
    std::string text;  // literal text, or the parameter name
  };

  /// A whole argument "{*args}" or "{**kwargs}" spreads the call's extra positional arguments,
  /// or its extra keyword arguments as "--name value" pairs, into several arguments.
  enum class Spread { None, Args, Kwargs };

  /// `embedded_args`: "{*args}" may also appear inside a longer text (a placeholder named
  /// kArgsName: the extra positional arguments joined by single spaces); for launch_input values.
  static Result<ArgTemplate> parse(std::string_view text, bool embedded_args = false);
  static constexpr const char* kArgsName = "*args";
  Spread spread() const { return spread_; }

  /// Parameter names used, in order of appearance (may repeat; kArgsName for an embedded {*args}).
  std::vector<std::string> names() const;
  /// Render with `lookup(name)` giving each parameter's value.
  std::string render(const std::function<const std::string&(const std::string&)>& lookup) const;
  /// The size render() would return, without rendering.
  std::size_t rendered_size(const std::function<const std::string&(const std::string&)>& lookup) const;

  const std::vector<Segment>& segments() const { return segs_; }

 private:
  std::vector<Segment> segs_;
  Spread spread_ = Spread::None;
};

/// A parameter name: letters, digits and '_', not starting with a digit.
bool valid_param_name(std::string_view name);

/// Appends `s` as a JSON string literal (quotes, escapes; ill-formed UTF-8 becomes U+FFFD).
void append_json_string(std::string& out, std::string_view s);
/// Appends a whole number (text strtoll accepts, e.g. " +007") as JSON ("7"); false if it is none.
bool append_json_int(std::string& out, const std::string& text);
/// Appends a finite number (text strtod accepts) as JSON, shortest round-trip form, always with
/// a '.' or exponent ("2" -> "2.0"); false if it is none.
bool append_json_float(std::string& out, const std::string& text);
/// The bool spellings parameters accept (true/1/yes/on, false/0/no/off, any case).
std::optional<bool> parse_bool_text(std::string_view text);

}  // namespace pg::endpoints
