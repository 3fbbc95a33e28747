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

namespace {

void append_param_json(std::string& out, const config::Param& p, const std::string& v) {
  using config::ParamType;
  switch (p.type) {
    case ParamType::Int:
      if (append_json_int(out, v)) return;
      break;
    case ParamType::Float:
      if (append_json_float(out, v)) return;
      break;
    case ParamType::Bool:
      if (auto b = parse_bool_text(v)) {
        out += *b ? "true" : "false";
        return;
      }
      break;
    case ParamType::String:
      break;
  }
  append_json_string(out, v);  // a default the loader did not check (hand-built configs): as text
}

std::string join_spaces(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ' ';
    out += parts[i];
  }
  return out;
}

}  // namespace

Result<BoundCall> Endpoint::bind(const CallArgs& call) const {
  const auto& params = cfg.params;
  std::vector<std::optional<std::string>> values(params.size());
  std::vector<std::string> extra_positional;
  Params extra_named;
  if (const std::size_t n = call.positional.size() + call.named.size(); n > kMaxCallArguments)
    return make_error("endpoint '" + cfg.name + "': a call with " + std::to_string(n) + " arguments is over " +
                      std::string(kExpansionLimit) + " of " + std::to_string(kMaxCallArguments) + " arguments");

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
    auto it = std::find_if(params.begin(), params.end(), [&name = name](const config::Param& p) { return p.name == name; });
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
  std::string joined_args;  // {*args} inside a launch_input text: rendered once, if used
  bool joined = false;
  auto lookup = [&](const std::string& name) -> const std::string& {
    for (std::size_t i = 0; i < params.size(); ++i)
      if (params[i].name == name) return checked[i];
    if (name == ArgTemplate::kArgsName) {
      if (!joined) joined_args = join_spaces(extra_positional), joined = true;
      return joined_args;
    }
    static const std::string kEmpty;
    return kEmpty;  // unreachable: the loader checked every placeholder
  };
  // The expansion limit: templates may repeat a value and {*args} may be spread more than once,
  // so the sizes are added up before anything is rendered.
  const auto too_large = [&](const char* what) {
    return make_error("endpoint '" + cfg.name + "': the call's " + what + " would expand to more than " +
                      std::to_string(expansion_limit) + " bytes " + expansion_limit_name());
  };
  std::size_t expanded = 0;
  for (const auto& t : args) {
    switch (t.spread()) {
      case ArgTemplate::Spread::Args:
        for (const auto& v : extra_positional) expanded += v.size();
        break;
      case ArgTemplate::Spread::Kwargs:
        for (const auto& [k, v] : extra_named) expanded += k.size() + 2 + v.size();
        break;
      case ArgTemplate::Spread::None: expanded += t.rendered_size(lookup); break;
    }
    if (expanded > expansion_limit) return too_large("argument list");
  }
  BoundCall out;
  out.arguments.reserve(args.size() + extra_positional.size() + 2 * extra_named.size());
  for (const auto& t : args) {
    switch (t.spread()) {
      case ArgTemplate::Spread::Args:
        out.arguments.insert(out.arguments.end(), extra_positional.begin(), extra_positional.end());
        break;
      case ArgTemplate::Spread::Kwargs:
        for (const auto& [k, v] : extra_named) {
          out.arguments.push_back("--" + k);
          out.arguments.push_back(v);
        }
        break;
      case ArgTemplate::Spread::None:
        out.arguments.push_back(t.render(lookup));
        break;
    }
  }
  if (!cfg.runs_on_v05) return out;

  // The 0.5 input: a JSON object written directly (member names are escaped at build).
  using K = InputMember::Kind;
  std::string& in = out.input;
  std::size_t size = 2;
  for (const auto& v : checked) size += v.size() + 16;
  for (const auto& v : extra_positional) size += v.size() + 4;
  for (const auto& [k, v] : extra_named) size += k.size() + v.size() + 8;
  in.clear();
  in.reserve(size);
  in += '{';
  bool first = true;
  auto member = [&](std::string_view key) {
    if (!first) in += ',';
    first = false;
    in += key;
  };
  for (const auto& m : input) {
    switch (m.kind) {
      case K::Json:
        member(m.key);
        in += m.json;
        break;
      case K::Param:
        member(m.key);
        append_param_json(in, params[m.param], checked[m.param]);
        break;
      case K::Text:
        if (in.size() + m.text.rendered_size(lookup) > expansion_limit) return too_large("0.5 input");
        member(m.key);
        append_json_string(in, m.text.render(lookup));
        break;
      case K::ArgsList:
        member(m.key);
        in += '[';
        for (std::size_t i = 0; i < extra_positional.size(); ++i) {
          if (i) in += ',';
          append_json_string(in, extra_positional[i]);
        }
        in += ']';
        break;
      case K::ArgsText:
        member(m.key);
        append_json_string(in, lookup(ArgTemplate::kArgsName));
        break;
      case K::KwargsMembers:
        for (const auto& [k, v] : extra_named) {
          // The default mapping's own members ("args", the params) cannot be named twice.
          if (star_args && k == "args")
            return make_error("keyword 'args' clashes with the extra positional arguments of endpoint '" + cfg.name +
                              "' (its 0.5 input puts them under \"args\")");
          member({});
          append_json_string(in, k);
          in += ':';
          append_json_string(in, v);
        }
        break;
      case K::KwargsObject:
        member(m.key);
        in += '{';
        for (std::size_t i = 0; i < extra_named.size(); ++i) {
          if (i) in += ',';
          append_json_string(in, extra_named[i].first);
          in += ':';
          append_json_string(in, extra_named[i].second);
        }
        in += '}';
        break;
    }
    if (in.size() > expansion_limit) return too_large("0.5 input");  // at most one member's worth over it
  }
  in += '}';
  return out;
}

namespace {

std::string member_key(std::string_view name) {
  std::string k;
  append_json_string(k, name);
  k += ':';
  return k;
}

/// The 0.5 input plan: `launch_input:` as written, or the params, then "args" and the keywords.
Result<std::vector<Endpoint::InputMember>> compile_input(const Endpoint& ep) {
  using K = Endpoint::InputMember::Kind;
  const auto& c = ep.cfg;
  std::vector<Endpoint::InputMember> out;
  auto param_index = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < c.params.size(); ++i)
      if (c.params[i].name == name) return i;
    return std::nullopt;
  };
  if (!c.launch_input) {
    for (std::size_t i = 0; i < c.params.size(); ++i) {
      Endpoint::InputMember m;
      m.kind = K::Param;
      m.key = member_key(c.params[i].name);
      m.param = i;
      out.push_back(std::move(m));
    }
    bool args_in_arguments = false, kwargs_in_arguments = false;
    for (const auto& t : ep.args) {
      args_in_arguments |= t.spread() == ArgTemplate::Spread::Args;
      kwargs_in_arguments |= t.spread() == ArgTemplate::Spread::Kwargs;
    }
    if (args_in_arguments) {
      Endpoint::InputMember m;
      m.kind = K::ArgsList;
      m.key = member_key("args");
      out.push_back(std::move(m));
    }
    if (kwargs_in_arguments) {
      Endpoint::InputMember m;
      m.kind = K::KwargsMembers;
      out.push_back(std::move(m));
    }
    return out;
  }
  for (const auto& li : *c.launch_input) {
    Endpoint::InputMember m;
    m.key = member_key(li.name);
    if (li.kind == config::LaunchInputMember::Kind::Json) {
      m.kind = K::Json;
      m.json = li.value;
      out.push_back(std::move(m));
      continue;
    }
    auto t = ArgTemplate::parse(li.value, true);
    if (!t) return make_error("launch_input." + li.name + ": " + t.error());
    if (t->spread() == ArgTemplate::Spread::Args) {
      m.kind = K::ArgsText;
    } else if (t->spread() == ArgTemplate::Spread::Kwargs) {
      m.kind = K::KwargsObject;
    } else if (t->segments().size() == 1 && t->segments()[0].placeholder) {
      const auto& name = t->segments()[0].text;
      if (name == ArgTemplate::kArgsName) {
        m.kind = K::ArgsText;
      } else if (auto i = param_index(name)) {
        m.kind = K::Param;
        m.param = *i;
      } else {
        return make_error("launch_input." + li.name + ": placeholder {" + name + "} names no declared parameter");
      }
    } else {
      for (const auto& name : t->names())
        if (name != ArgTemplate::kArgsName && !param_index(name))
          return make_error("launch_input." + li.name + ": placeholder {" + name + "} names no declared parameter");
      m.kind = K::Text;
      m.text = std::move(*t);
    }
    out.push_back(std::move(m));
  }
  return out;
}

/// launch_input may take extra arguments too ({*args} anywhere, {**kwargs} as a whole value).
void input_spreads(const config::Endpoint& c, bool& star_args, bool& star_kwargs) {
  if (!c.launch_input) return;
  for (const auto& li : *c.launch_input) {
    if (li.kind != config::LaunchInputMember::Kind::Template) continue;
    auto t = ArgTemplate::parse(li.value, true);
    if (!t) continue;
    star_args |= t->spread() == ArgTemplate::Spread::Args;
    star_kwargs |= t->spread() == ArgTemplate::Spread::Kwargs;
    for (const auto& n : t->names()) star_args |= n == ArgTemplate::kArgsName;
  }
}

}  // namespace

Result<Registry> Registry::build(const std::vector<config::Endpoint>& eps, std::size_t expansion_limit) {
  Registry r;
  for (const auto& e : eps) {
    auto ep = std::make_shared<Endpoint>();
    ep->cfg = e;
    ep->expansion_limit = expansion_limit;
    for (const auto& a : e.arguments) {
      auto t = ArgTemplate::parse(a);
      if (!t) return make_error("endpoint '" + e.name + "': " + t.error());
      ep->star_args |= t->spread() == ArgTemplate::Spread::Args;
      ep->star_kwargs |= t->spread() == ArgTemplate::Spread::Kwargs;
      ep->args.push_back(std::move(*t));
    }
    input_spreads(e, ep->star_args, ep->star_kwargs);
    if (e.runs_on_v05) {
      auto in = compile_input(*ep);
      if (!in) return make_error("endpoint '" + e.name + "': " + in.error());
      ep->input = std::move(*in);
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
