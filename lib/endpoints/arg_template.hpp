// Argument templates: "--prompt", "{prompt}", "--ms={ms}". `{name}` is a parameter,
// `{{` and `}}` are literal braces. Parsed once at config load, rendered per call.
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

  static Result<ArgTemplate> parse(std::string_view text);

  /// Parameter names used, in order of appearance (may repeat).
  std::vector<std::string> names() const;
  /// Render with `lookup(name)` giving each parameter's value.
  std::string render(const std::function<const std::string&(const std::string&)>& lookup) const;

  const std::vector<Segment>& segments() const { return segs_; }

 private:
  std::vector<Segment> segs_;
};

/// A parameter name: letters, digits and '_', not starting with a digit.
bool valid_param_name(std::string_view name);

}  // namespace pg::endpoints
