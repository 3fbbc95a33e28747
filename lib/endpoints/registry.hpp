// Endpoints from the config, compiled for calls: templates parsed once, names indexed.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/expansion.hpp"
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

/// One call, bound: what either Pie line launches it with (pie::LaunchRequest's two parts).
struct BoundCall {
  std::vector<std::string> arguments;  // 0.2: the inferlet's argument list
  /// 0.5: the process input, a JSON object. Only built for endpoints that can run on a 0.5
  /// server (config::Endpoint::runs_on_v05); "{}" otherwise.
  std::string input = "{}";
};

struct Endpoint {
  config::Endpoint cfg;
  std::vector<ArgTemplate> args;

  /// One member of the 0.5 input, compiled at build from `launch_input:` or the default mapping.
  struct InputMember {
    enum class Kind {
      Json,          // a literal JSON value
      Param,         // a parameter's value, typed by the parameter
      Text,          // a template rendered as a JSON string
      ArgsList,      // the extra positional arguments as a list of strings
      ArgsText,      // ... joined by single spaces, as a string
      KwargsMembers, // the extra keywords, each a string member of the input itself (no key)
      KwargsObject,  // ... as an object of string members
    };
    Kind kind = Kind::Json;
    std::string key;   // `"name":` (escaped); empty for KwargsMembers
    std::string json;  // Json
    std::size_t param = 0;  // Param: index in cfg.params
    ArgTemplate text;       // Text
  };
  std::vector<InputMember> input;  // empty unless cfg.runs_on_v05
  bool star_args = false;    // extra positional arguments are taken ({*args} in arguments or launch_input)
  bool star_kwargs = false;  // extra keywords are taken ({**kwargs})
  /// The expansion limit (common/expansion.hpp): the bound on the bytes of the argument list and
  /// of the 0.5 input bind() builds, and on the values decoded from a call's body.
  std::size_t expansion_limit = kDefaultExpansionLimit;
  /// At most this many positional and keyword arguments in one call.
  static constexpr std::size_t kMaxCallArguments = 4096;

  /// The call's 0.2 argument list and (for a 0.5-capable endpoint) its 0.5 input, or a message
  /// for a 400 answer. Declared parameters take positional arguments in order, then keywords by
  /// name; extras go to {*args} / {**kwargs} where the templates have them, and are errors otherwise.
  /// A call whose argument list or input would exceed `expansion_limit` bytes (templates and
  /// {*args} repeat values) is refused before either is built, with an error naming the limit.
  Result<BoundCall> bind(const CallArgs& call) const;
  Result<BoundCall> bind_named(const Params& named) const { return bind(CallArgs{{}, named}); }
};

class Registry {
 public:
  /// Compiles each endpoint (argument templates; the 0.5 input plan where runs_on_v05 is set).
  /// `expansion_limit`: kExpansionFactor x limits.max_body_bytes (common/expansion.hpp).
  static Result<Registry> build(const std::vector<config::Endpoint>& eps,
                                std::size_t expansion_limit = kDefaultExpansionLimit);

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
