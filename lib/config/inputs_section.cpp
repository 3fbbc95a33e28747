// Endpoints' `input:` (what a launched instance is sent first), `launch_input:` (the 0.5
// process input) and whether they can run on the 0.5 servers they target, and the top-level
// `daemons:` (server inferlets kept running). See README "Inputs and daemons", "launch_input".
#include <algorithm>
#include <cctype>

#include "config/cluster_section.hpp"
#include "config/pie_client_sections.hpp"
#include "endpoints/arg_template.hpp"
#include "pie/v05/names.hpp"

namespace pg::config {

namespace {

void load_one_input(const YAML::Node& n, const std::string& path, Fields& f, Endpoint& ep) {
  if (!f.expect_map(n, path, {"send", "from"})) return;
  EndpointInput in;
  const std::string send = f.required_str(n, "send", path);
  if (send == "message") in.send = EndpointInput::Send::Message;
  else if (send == "blob") in.send = EndpointInput::Send::Blob;
  else if (!send.empty()) f.error(n["send"], path + ".send", "must be message or blob (got '" + send + "')");
  const std::string from = n["from"] ? f.str(n["from"], path + ".from") : "body";
  if (from == "body") {
    // Only a web POST has a body of its own; an RPC body is the pickled call.
    if (ep.kind != EndpointKind::Post)
      f.error(n["from"] ? n["from"] : n, path + ".from",
              "'body' needs kind post (" + std::string(to_string(ep.kind)) + " endpoints feed inputs with param:NAME)");
  } else if (from.rfind("param:", 0) == 0) {
    in.param = from.substr(6);
    if (std::none_of(ep.params.begin(), ep.params.end(), [&](const Param& p) { return p.name == in.param; }))
      f.error(n["from"], path + ".from", "param:" + in.param + " names no declared parameter");
  } else {
    f.error(n["from"], path + ".from", "must be body or param:NAME (got '" + from + "')");
  }
  ep.inputs.push_back(std::move(in));
}

}  // namespace

void load_endpoint_inputs(const YAML::Node& node, const std::string& path, Fields& f, Endpoint& ep) {
  if (node.IsMap()) {
    load_one_input(node, path, f, ep);
  } else if (node.IsSequence() && node.size() > 0 && node.size() <= 16) {
    for (std::size_t i = 0; i < node.size(); ++i) load_one_input(node[i], path + "[" + std::to_string(i) + "]", f, ep);
  } else {
    return f.error(node, path, "must be {send: message|blob, from: body|param:NAME} or a list of 1 to 16 of them");
  }
  // A fan-out call is several runs; an input would have to be copied to each: not supported.
  if (ep.fanout) f.error(node, path, "a fan-out endpoint cannot take inputs");
}

namespace {

bool digits(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  return i > start;
}

/// YAML 1.2 core schema numbers (plain scalars only): 0 = not a number, 1 = int, 2 = float.
int yaml_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const bool whole = digits(s, i);
  bool fraction = false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = digits(s, i);
    if (!whole && !fraction) return 0;
  } else if (!whole) {
    return 0;
  }
  bool exponent = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits(s, i)) return 0;
    exponent = true;
  }
  if (i != s.size()) return 0;
  return (s.find('.') != std::string_view::npos || exponent) ? 2 : 1;
}

}  // namespace

void load_endpoint_launch_input(const YAML::Node& node, const std::string& path, Fields& f, Endpoint& ep) {
  using M = LaunchInputMember;
  if (!node.IsMap())
    return f.error(node, path, "must be a mapping of JSON member names to values or templates, e.g. {text: \"{*args}\"}");
  std::vector<M> members;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      f.error(kv.first, path, "member names must be plain strings");
      continue;
    }
    M m;
    m.name = kv.first.Scalar();
    const std::string mpath = path + "." + m.name;
    if (std::any_of(members.begin(), members.end(), [&](const M& o) { return o.name == m.name; })) {
      f.error(kv.first, mpath, "is given twice");
      continue;
    }
    const YAML::Node& v = kv.second;
    if (v.IsNull()) {
      m.value = "null";
    } else if (!v.IsScalar()) {
      f.error(v, mpath,
              "must be a single value or a template string, not a list or mapping (quote templates: \"{param}\")");
      continue;
    } else if (v.Tag() == "!") {  // quoted: a string, always a template
      m.kind = M::Kind::Template;
      m.value = v.Scalar();
    } else {
      const std::string& text = v.Scalar();
      const int number = yaml_number(text);
      if (text == "true" || text == "True" || text == "TRUE") m.value = "true";
      else if (text == "false" || text == "False" || text == "FALSE") m.value = "false";
      else if (number == 1 && endpoints::append_json_int(m.value, text)) {
      } else if (number == 2 && endpoints::append_json_float(m.value, text)) {
      } else if (number) {
        f.error(v, mpath, "'" + text + "' is out of range for a JSON number");
        continue;
      } else if (text == ".inf" || text == "-.inf" || text == "+.inf" || text == ".nan" || text == ".Inf" ||
                 text == ".NaN" || text == ".INF" || text == ".NAN" || text == "-.Inf" || text == "-.INF") {
        f.error(v, mpath, "'" + text + "' has no JSON form (quote it for a string)");
        continue;
      } else {
        m.kind = M::Kind::Template;
        m.value = text;
      }
    }
    if (m.kind == M::Kind::Template) {
      auto t = endpoints::ArgTemplate::parse(m.value, true);
      if (!t) {
        f.error(v, mpath, t.error());
        continue;
      }
      bool ok = true;
      for (const auto& name : t->names())
        if (name != endpoints::ArgTemplate::kArgsName &&
            std::none_of(ep.params.begin(), ep.params.end(), [&](const Param& p) { return p.name == name; })) {
          f.error(v, mpath, "placeholder {" + name + "} names no declared parameter");
          ok = false;
        }
      if (!ok) continue;
    }
    members.push_back(std::move(m));
  }
  ep.launch_input = std::move(members);
}

void check_endpoint_v05(const YAML::Node& n, const std::string& path, Fields& f, const Config& cfg, Endpoint& ep) {
  ClusterConfig targets;
  targets.servers = cfg.servers;
  targets.groups = cfg.groups;
  std::string v05;  // the targeted 0.5 servers, by name
  for (const auto& name : group_members(targets, ep.group))
    for (const auto& s : cfg.servers)
      if (s.name == name && s.protocol == PieServer::Protocol::V05) v05 += (v05.empty() ? "" : ", ") + name;
  if (v05.empty()) return;
  ep.runs_on_v05 = true;
  if (auto mapped = pie::v05::inferlet_name(ep.inferlet); !mapped && !ep.inferlet.empty()) {
    // names.hpp says "'NAME' cannot be named on a Pie 0.5 server: WHY" or "'NAME' is not ...".
    std::string why = mapped.error();
    const std::string quoted = "'" + ep.inferlet + "' ";
    if (why.rfind(quoted, 0) == 0) why.erase(0, quoted.size());
    const std::string cannot = "cannot be named on a Pie 0.5 server: ";
    if (why.rfind(cannot, 0) == 0) why.erase(0, cannot.size());
    else why = "it " + why;
    f.error(n["inferlet"], path + ".inferlet",
            "'" + ep.inferlet + "' cannot run on Pie 0.5 server(s) " + v05 + ": " + why);
  }
  // The default input names a member "args" for {*args}: a parameter of that name would clash.
  if (!ep.launch_input &&
      std::any_of(ep.params.begin(), ep.params.end(), [](const Param& p) { return p.name == "args"; }) &&
      std::any_of(ep.arguments.begin(), ep.arguments.end(), [](const std::string& a) { return a == "{*args}"; }))
    f.error(n["params"], path + ".params",
            "parameter 'args' and {*args} would both be the 0.5 input member \"args\" (on server(s) " + v05 +
                "): give the endpoint a launch_input");
}

void load_daemons_section(const YAML::Node& list, Fields& f, Config& cfg) {
  if (!list.IsSequence()) return f.error(list, "daemons", "must be a list of {server, port, inferlet, arguments}");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    const std::string path = "daemons[" + std::to_string(i) + "]";
    if (!f.expect_map(n, path, {"server", "port", "inferlet", "arguments"})) continue;
    DaemonSpec d;
    d.server = f.required_str(n, "server", path);
    if (!d.server.empty() &&
        std::none_of(cfg.servers.begin(), cfg.servers.end(), [&](const PieServer& s) { return s.name == d.server; }))
      f.error(n["server"], path + ".server", "'" + d.server + "' names no server in servers:");
    else if (std::any_of(cfg.servers.begin(), cfg.servers.end(), [&](const PieServer& s) {
               return s.name == d.server && s.protocol == PieServer::Protocol::V05;
             }))
      f.error(n["server"], path + ".server", "'" + d.server + "' is a Pie 0.5 server: 0.5 has no daemons");
    if (!n["port"]) f.error(n, path + ".port", "is missing");
    d.port = static_cast<std::uint32_t>(f.integer(n, "port", path, 0, 1, 65535));
    d.inferlet = f.required_str(n, "inferlet", path);
    if (auto a = n["arguments"]) {
      if (!a.IsSequence()) f.error(a, path + ".arguments", "must be a list of strings");
      else
        for (std::size_t j = 0; j < a.size(); ++j) d.arguments.push_back(f.str(a[j], path + ".arguments[" + std::to_string(j) + "]"));
    }
    for (const auto& o : cfg.daemons)
      if (o.server == d.server && o.port == d.port)
        f.error(n["port"], path + ".port", "server " + d.server + " already has a daemon on port " + std::to_string(d.port));
    cfg.daemons.push_back(std::move(d));
  }
}

}  // namespace pg::config
