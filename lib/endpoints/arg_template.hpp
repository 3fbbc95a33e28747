// Argument templates: "--prompt", "{prompt}", "--ms={ms}". `{name}` is a parameter,
// `{{` and `}}` are literal braces; "{*args}" and "{**kwargs}" spread extra arguments. Parsed once at config load, rendered per call.
#pragma once

#include <functional>
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

  static Result<ArgTemplate> parse(std::string_view text);
  Spread spread() const { return spread_; }

  /// Parameter names used, in order of appearance (may repeat).
  std::vector<std::string> names() const;
  /// Render with `lookup(name)` giving each parameter's value.
  std::string render(const std::function<const std::string&(const std::string&)>& lookup) const;

  const std::vector<Segment>& segments() const { return segs_; }

 private:
  std::vector<Segment> segs_;
  Spread spread_ = Spread::None;
};

/// A parameter name: letters, digits and '_', not starting with a digit.
bool valid_param_name(std::string_view name);

}  // namespace pg::endpoints
