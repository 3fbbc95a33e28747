#include "endpoints/registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace pg::endpoints {

Result<std::string> check_param(const config::Param& p, const std::string& value) {
  using config::ParamType;
  switch (p.type) {
    case ParamType::String:
      return value;
    case ParamType::Int: {
      char* end = nullptr;
      errno = 0;
      (void)std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || errno || end != value.c_str() + value.size())
        return make_error("parameter '" + p.name + "' must be a whole number (got '" + value + "')");
      return value;
    }
    case ParamType::Float: {
      char* end = nullptr;
      double d = std::strtod(value.c_str(), &end);
      if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(d))
        return make_error("parameter '" + p.name + "' must be a number (got '" + value + "')");
      return value;
    }
    case ParamType::Bool: {
      std::string v = value;
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      if (v == "true" || v == "1" || v == "yes" || v == "on") return std::string("true");
      if (v == "false" || v == "0" || v == "no" || v == "off") return std::string("false");
      return make_error("parameter '" + p.name + "' must be true or false (got '" + value + "')");
    }
  }
  return value;
}

Result<std::vector<std::string>> Endpoint::bind(const CallArgs& call) const {
  bool star_args = false, star_kwargs = false;
  for (const auto& t : args) {
    star_args |= t.spread() == ArgTemplate::Spread::Args;
    star_kwargs |= t.spread() == ArgTemplate::Spread::Kwargs;
  }
  const auto& params = cfg.params;
  std::vector<std::optional<std::string>> values(params.size());
  std::vector<std::string> extra_positional;
  Params extra_named;

  for (std::size_t i = 0; i < call.positional.size(); ++i) {
    if (i < params.size()) values[i] = call.positional[i];
    else if (star_args) extra_positional.push_back(call.positional[i]);
    else
      return make_error("endpoint '" + cfg.name + "' takes " + std::to_string(params.size()) +
                        " positional argument" + (params.size() == 1 ? "" : "s") + " but " +
                        std::to_string(call.positional.size()) + " were given");
  }
  for (std::size_t n = 0; n < call.named.size(); ++n) {
    const auto& [name, value] = call.named[n];
    for (std::size_t j = 0; j < n; ++j)
      if (call.named[j].first == name) return make_error("parameter '" + name + "' is given more than once");
    auto it = std::find_if(params.begin(), params.end(), [&](const config::Param& p) { return p.name == name; });
    if (it == params.end()) {
      if (star_kwargs) {
        // It becomes "--name": only plain names, so a keyword can never smuggle in other flags.
        if (!valid_param_name(name)) return make_error("keyword '" + name + "' is not a valid name (letters, digits, _)");
        extra_named.emplace_back(name, value);
        continue;
      }
      std::string known;
      for (const auto& p : params) known += (known.empty() ? "" : ", ") + p.name;
      return make_error("unknown parameter '" + name + "' for endpoint '" + cfg.name + "' (it takes: " +
                        (known.empty() ? "no parameters" : known) + ")");
    }
    auto& slot = values[static_cast<std::size_t>(it - params.begin())];
    if (slot) return make_error("parameter '" + name + "' is given both by position and by name");
    slot = value;
  }
  std::vector<std::string> checked(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!values[i]) {
      if (!params[i].default_value) return make_error("missing required parameter '" + params[i].name + "'");
      checked[i] = *params[i].default_value;
      continue;
    }
    auto v = check_param(params[i], *values[i]);
    if (!v) return make_error(v.error());
    checked[i] = std::move(*v);
  }
  auto lookup = [&](const std::string& name) -> const std::string& {
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].name == name) return checked[i];
    static const std::string kEmpty;
    return kEmpty;  // unreachable: the loader checked every placeholder
  };
  std::vector<std::string> out;
  out.reserve(args.size() + extra_positional.size() + 2 * extra_named.size());
  for (const auto& t : args) {
    switch (t.spread()) {
      case ArgTemplate::Spread::Args:
        out.insert(out.end(), extra_positional.begin(), extra_positional.end());
        break;
      case ArgTemplate::Spread::Kwargs:
        for (const auto& [k, v] : extra_named) {
          out.push_back("--" + k);
          out.push_back(v);
        }
        break;
      case ArgTemplate::Spread::None:
        out.push_back(t.render(lookup));
        break;
    }
  }
  return out;
}

Result<Registry> Registry::build(const std::vector<config::Endpoint>& eps) {
  Registry r;
  for (const auto& e : eps) {
    auto ep = std::make_shared<Endpoint>();
    ep->cfg = e;
    for (const auto& a : e.arguments) {
      auto t = ArgTemplate::parse(a);
      if (!t) return make_error("endpoint '" + e.name + "': " + t.error());
      ep->args.push_back(std::move(*t));
    }
    r.list_.push_back(ep);
  }
  auto slot = [](Named& n, const Endpoint* ep) -> const Endpoint*& {
    return ep->cfg.kind == config::EndpointKind::Get ? n.get : n.post;
  };
  for (const auto& ep : r.list_) slot(r.by_name_[ep->cfg.name], ep.get()) = ep.get();
  // Aliases never shadow a real name.
  for (const auto& ep : r.list_) {
    std::string alias = ep->cfg.name;
    std::replace(alias.begin(), alias.end(), '/', '_');
    if (alias == ep->cfg.name) continue;
    bool real = false;
    for (const auto& other : r.list_) real |= other->cfg.name == alias;
    if (!real) slot(r.by_name_[alias], ep.get()) = ep.get();
  }
  return r;
}

const Registry::Named* Registry::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &it->second;
}

}  // namespace pg::endpoints
