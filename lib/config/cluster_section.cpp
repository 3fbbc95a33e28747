#include "config/cluster_section.hpp"

#include <algorithm>
#include <cctype>

namespace pg::config {

using namespace std::chrono_literals;

namespace {

bool valid_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool boolean(const YAML::Node& map, const char* key, const std::string& path, Fields& f, bool dflt) {
  auto n = map[key];
  if (!n) return dflt;
  std::string v = f.str(n, path + "." + key);
  if (v == "true") return true;
  if (v == "false") return false;
  f.error(n, path + "." + key, "must be true or false (got '" + v + "')");
  return dflt;
}

std::map<std::string, std::string> labels(const YAML::Node& n, const std::string& path, Fields& f) {
  std::map<std::string, std::string> out;
  if (!n.IsMap()) {
    f.error(n, path, "must be a mapping of label names to values, e.g. {gpu: a100, zone: lab1}");
    return out;
  }
  for (const auto& kv : n) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (!valid_name(key)) {
      f.error(kv.first, path, "label name '" + key + "' is not valid (letters, digits, '_', '-', '.')");
      continue;
    }
    out[key] = f.str(kv.second, path + "." + key);
  }
  return out;
}

bool selects(const std::map<std::string, std::string>& selector, const PieServer& s) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& kv) {
    auto it = s.labels.find(kv.first);
    return it != s.labels.end() && it->second == kv.second;
  });
}

}  // namespace

void load_server_cluster_fields(const YAML::Node& n, const std::string& path, Fields& f, PieServer& s) {
  s.weight = static_cast<unsigned>(f.integer(n, "weight", path, s.weight, 1, 1000));
  s.max_instances = static_cast<unsigned>(f.integer(n, "max_instances", path, s.max_instances, 0, 1000000));
  s.max_message_bytes = static_cast<std::size_t>(f.integer(n, "max_message_bytes", path,
                                                          static_cast<long long>(s.max_message_bytes),
                                                          static_cast<long long>(PieServer::kMinMaxMessageBytes), 1LL << 30));
  if (auto l = n["labels"]) s.labels = labels(l, path + ".labels", f);
  if (!s.name.empty() && !valid_name(s.name))
    f.error(n["name"], path + ".name", "'" + s.name + "' is not a valid server name (letters, digits, '_', '-', '.')");
}

void load_cluster_settings(const YAML::Node& n, Fields& f, ClusterSettings& c) {
  const std::string p = "cluster";
  if (!f.expect_map(n, p, {"queue_size", "queue_wait", "ping_interval", "ping_timeout", "eject_after", "eject_time",
                           "max_eject_time", "retry_budget", "server_lost_after"}))
    return;
  c.queue_size = static_cast<std::size_t>(f.integer(n, "queue_size", p, static_cast<long long>(c.queue_size), 0, 1000000));
  c.queue_wait = f.duration(n, "queue_wait", p, c.queue_wait, 0ms, 1h);
  c.ping_interval = f.duration(n, "ping_interval", p, c.ping_interval, 100ms, 1h);
  c.ping_timeout = f.duration(n, "ping_timeout", p, c.ping_timeout, 100ms, 1h);
  c.eject_after = static_cast<unsigned>(f.integer(n, "eject_after", p, c.eject_after, 1, 1000));
  c.eject_time = f.duration(n, "eject_time", p, c.eject_time, 100ms, 1h);
  c.max_eject_time = f.duration(n, "max_eject_time", p, c.max_eject_time, 100ms, 24h);
  c.retry_budget = static_cast<unsigned>(f.integer(n, "retry_budget", p, c.retry_budget, 0, 100));
  c.server_lost_after = f.duration(n, "server_lost_after", p, c.server_lost_after, 100ms, 24h);
  if (c.max_eject_time < c.eject_time)
    f.error(n["max_eject_time"] ? n["max_eject_time"] : n, p + ".max_eject_time", "must not be shorter than eject_time");
}

void load_groups(const YAML::Node& n, Fields& f, Config& cfg) {
  if (!n.IsMap()) {
    f.error(n, "groups", "must map group names to a list of server names or to {labels: {...}}");
    return;
  }
  for (const auto& kv : n) {
    ServerGroup g;
    g.name = kv.first.IsScalar() ? kv.first.Scalar() : "";
    g.line = kv.first.Mark().line + 1;
    const std::string path = "groups." + g.name;
    if (!valid_name(g.name)) f.error(kv.first, "groups", "group name '" + g.name + "' is not valid (letters, digits, '_', '-', '.')");
    if (g.name == "all") f.error(kv.first, path, "'all' is reserved: it means every server");
    const auto& v = kv.second;
    if (v.IsSequence()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        std::string name = f.str(v[i], path + "[" + std::to_string(i) + "]");
        if (std::none_of(cfg.servers.begin(), cfg.servers.end(), [&](const PieServer& s) { return s.name == name; }))
          f.error(v[i], path + "[" + std::to_string(i) + "]", "names no server in 'servers' ('" + name + "')");
        else if (std::find(g.servers.begin(), g.servers.end(), name) != g.servers.end())
          f.error(v[i], path + "[" + std::to_string(i) + "]", "server '" + name + "' is listed twice");
        else g.servers.push_back(name);
      }
    } else if (v.IsMap()) {
      if (f.expect_map(v, path, {"labels"})) {
        if (!v["labels"]) f.error(v, path + ".labels", "is required (a label selector, e.g. {gpu: a100})");
        else g.selector = labels(v["labels"], path + ".labels", f);
      }
      if (g.selector.empty() && v["labels"] && v["labels"].IsMap())
        f.error(v["labels"], path + ".labels", "must name at least one label");
    } else {
      f.error(v, path, "must be a list of server names or {labels: {...}}");
    }
    for (const auto& other : cfg.groups)
      if (other.name == g.name) f.error(kv.first, path, "duplicate group '" + g.name + "'");
    if (!g.servers.empty() || !g.selector.empty()) {
      ClusterConfig probe;
      probe.servers = cfg.servers;
      probe.groups = {g};
      if (group_members(probe, g.name).empty()) f.error(kv.first, path, "selects no server (no server has those labels)");
    } else if (v.IsSequence()) {
      f.error(v, path, "lists no server");
    }
    cfg.groups.push_back(std::move(g));
  }
}

void load_endpoint_cluster_fields(const YAML::Node& n, const std::string& path, Fields& f, const Config& cfg,
                                  Endpoint& ep) {
  ep.idempotent = boolean(n, "idempotent", path, f, false);
  auto g = n["group"];
  if (!g) return;
  ep.group = f.str(g, path + ".group");
  if (ep.group == "all") ep.group.clear();
  if (ep.group.empty() ||
      std::any_of(cfg.groups.begin(), cfg.groups.end(), [&](const ServerGroup& x) { return x.name == ep.group; }))
    return;
  std::string known;
  for (const auto& x : cfg.groups) known += (known.empty() ? "" : ", ") + x.name;
  f.error(g, path + ".group",
          "names no group in 'groups' ('" + ep.group + "'; known: " + (known.empty() ? "none" : known) +
              "; 'all' = every server)");
}

std::vector<std::string> group_members(const ClusterConfig& c, const std::string& group) {
  std::vector<std::string> out;
  if (group.empty() || group == "all") {
    for (const auto& s : c.servers) out.push_back(s.name);
    return out;
  }
  for (const auto& g : c.groups) {
    if (g.name != group) continue;
    for (const auto& s : c.servers)
      if (std::find(g.servers.begin(), g.servers.end(), s.name) != g.servers.end() ||
          (!g.selector.empty() && selects(g.selector, s)))
        out.push_back(s.name);
  }
  return out;
}

}  // namespace pg::config
