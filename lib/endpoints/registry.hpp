// Endpoints from the config, compiled for calls: templates parsed once, names indexed.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"
#include "endpoints/arg_template.hpp"

namespace pg::endpoints {

/// Named parameter values from a request (query, form or JSON body), in arrival order.
using Params = std::vector<std::pair<std::string, std::string>>;

struct Endpoint {
  config::Endpoint cfg;
  std::vector<ArgTemplate> args;

  /// The inferlet's argument list for these parameters, or a message for a 400 answer.
  Result<std::vector<std::string>> bind(const Params& params) const;
};

class Registry {
 public:
  static Result<Registry> build(const std::vector<config::Endpoint>& eps);

  /// The GET and POST endpoints of one name (either may be null).
  struct Named {
    const Endpoint* get = nullptr;
    const Endpoint* post = nullptr;
    const Endpoint* for_kind(config::EndpointKind k) const { return k == config::EndpointKind::Get ? get : post; }
  };
  /// By name; "a_b" also finds "a/b" (the TARP Python client turns '/' into '_' in URLs).
  /// Null when no endpoint has that name.
  const Named* find(std::string_view name) const;
  const std::vector<std::shared_ptr<const Endpoint>>& all() const { return list_; }

 private:
  std::vector<std::shared_ptr<const Endpoint>> list_;
  std::unordered_map<std::string, Named> by_name_;
};

/// Check `value` against a parameter type; returns the normalised text ("true"/"false" for bools).
Result<std::string> check_param(const config::Param& p, const std::string& value);

}  // namespace pg::endpoints
