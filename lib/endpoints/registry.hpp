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

/// Named parameter values from a request (query, form or JSON body, keyword arguments).
using Params = std::vector<std::pair<std::string, std::string>>;

/// A call's arguments as text: positional (RPC) and named, like a Python call.
struct CallArgs {
  std::vector<std::string> positional;
  Params named;
};

struct Endpoint {
  config::Endpoint cfg;
  std::vector<ArgTemplate> args;

  /// The inferlet's argument list for this call, or a message for a 400 answer. Declared
  /// parameters take positional arguments in order, then keywords by name; extras go to
  /// {*args} / {**kwargs} where the template has them, and are errors otherwise.
  Result<std::vector<std::string>> bind(const CallArgs& call) const;
  Result<std::vector<std::string>> bind_named(const Params& named) const { return bind(CallArgs{{}, named}); }
};

class Registry {
 public:
  static Result<Registry> build(const std::vector<config::Endpoint>& eps);

  /// The GET and POST-like (post, rpc, asyncrpc) endpoints of one name (either may be null).
  struct Named {
    const Endpoint* get = nullptr;
    const Endpoint* post = nullptr;
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
