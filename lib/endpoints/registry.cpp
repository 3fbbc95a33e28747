#include "endpoints/registry.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

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

Result<std::vector<std::string>> Endpoint::bind(const Params& params) const {
  // Unknown or repeated names first: a typo should not silently fall back to a default.
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& name = params[i].first;
    if (std::none_of(cfg.params.begin(), cfg.params.end(), [&](const config::Param& p) { return p.name == name; })) {
      std::string known;
      for (const auto& p : cfg.params) known += (known.empty() ? "" : ", ") + p.name;
      return make_error("unknown parameter '" + name + "' for endpoint '" + cfg.name + "' (it takes: " +
                        (known.empty() ? "no parameters" : known) + ")");
    }
    for (std::size_t j = 0; j < i; ++j)
      if (params[j].first == name) return make_error("parameter '" + name + "' is given more than once");
  }
  std::vector<std::string> values;
  values.reserve(cfg.params.size());
  for (const auto& p : cfg.params) {
    auto it = std::find_if(params.begin(), params.end(), [&](const auto& kv) { return kv.first == p.name; });
    if (it == params.end()) {
      if (!p.default_value) return make_error("missing required parameter '" + p.name + "'");
      values.push_back(*p.default_value);
      continue;
    }
    auto v = check_param(p, it->second);
    if (!v) return make_error(v.error());
    values.push_back(std::move(*v));
  }
  auto lookup = [&](const std::string& name) -> const std::string& {
    for (std::size_t i = 0; i < cfg.params.size(); ++i)
      if (cfg.params[i].name == name) return values[i];
    static const std::string kEmpty;
    return kEmpty;  // unreachable: the loader checked every placeholder
  };
  std::vector<std::string> out;
  out.reserve(args.size());
  for (const auto& t : args) out.push_back(t.render(lookup));
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
