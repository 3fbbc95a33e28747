// Endpoints' `input:` (what a launched instance is sent first) and the top-level `daemons:`
// (server inferlets kept running). See README "Inputs and daemons".
#include <algorithm>

#include "config/pie_client_sections.hpp"

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
