// The cluster's views (readiness, gateway/servers, healthy servers for fan-out) and reload:
// new servers connect, removed or changed ones drain and close once nothing runs on them.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/pie_cluster.hpp"
#include "cluster/session_auth.hpp"

namespace pg::cluster::detail {

namespace {

bool same_server(const config::PieServer& a, const config::PieServer& b) {
  return a.name == b.name && a.protocol == b.protocol && a.identity == b.identity && a.host == b.host && a.port == b.port && a.path == b.path && same_auth(a.auth, b.auth) &&
         a.tls == b.tls && a.ca_file == b.ca_file &&
         a.sessions == b.sessions &&
         a.connect_timeout == b.connect_timeout && a.request_timeout == b.request_timeout &&
         a.max_message_bytes == b.max_message_bytes;  // sessions take it when they connect
}

}  // namespace

// ---- views ---------------------------------------------------------------------------------

std::vector<std::string> PieCluster::healthy_servers(const std::string& group) const {
  std::vector<std::string> out;
  const auto now = Clock::now();
  for (auto& s : servers_)
    if (s->takes_launches(now) && s->in_group(group)) out.push_back(s->cfg.name);
  return out;
}

bool PieCluster::ready() const {
  return std::any_of(servers_.begin(), servers_.end(),
                     [](const ServerPtr& s) { return !s->retired && s->open_sessions() > 0; });
}

std::size_t PieCluster::pending_requests() const {
  std::size_t n = 0;
  for (auto& s : servers_)
    for (auto& slot : s->slots)
      if (slot->session) n += slot->session->pending_requests();
  return n;
}

nlohmann::json PieCluster::describe() const {
  auto out = nlohmann::json::array();
  const auto now = Clock::now();
  for (auto& s : servers_) {
    std::size_t detached = 0, queued = 0;
    for (auto& [id, run] : s->runs)
      if (run->state == Run::State::Detached || run->state == Run::State::Attaching) ++detached;
    for (auto& run : queue_)
      if (s->in_group(run->opts.group) && (run->opts.server.empty() || run->opts.server == s->cfg.name)) ++queued;
    nlohmann::json j = {{"name", s->cfg.name},
                        {"uri", s->cfg.uri},
                        {"protocol", s->cfg.protocol == config::PieServer::Protocol::V05 ? "0.5" : "0.2"},
                        {"state", to_string(s->health(now, settings_.server_lost_after))},
                        {"weight", s->cfg.weight},
                        {"max_instances", s->cfg.max_instances},
                        {"max_message_bytes", s->cfg.max_message_bytes},
                        {"labels", s->cfg.labels},
                        {"groups", s->groups},
                        {"sessions", s->cfg.sessions},
                        {"sessions_open", s->open_sessions()},
                        {"instances_in_flight", s->outstanding()},
                        {"launching", s->launching},
                        {"instances_detached", detached},
                        {"queued", queued},
                        {"launches", s->launches},
                        {"launch_failures", s->launch_failures},
                        {"consecutive_failures", s->consecutive_failures},
                        {"ejections", s->ejections},
                        {"reconnects", s->reconnects},
                        {"reattaches", s->reattaches},
                        {"instances_lost", s->lost_instances},
                        {"last_error", s->last_error},
                        {"daemons", describe_daemons(s->cfg.name)}};
    if (s->admission_refusals) j["admission_refusals"] = s->admission_refusals;
    if (s->admission_cap && now < s->admission_cap_until) j["admission_cap"] = s->admission_cap;
    if (s->ejected(now) && !s->probing)
      j["ejected_for_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(s->ejected_until - now).count();
    out.push_back(std::move(j));
  }
  return out;
}

// ---- reload --------------------------------------------------------------------------------

void PieCluster::reconfigure(config::ClusterConfig next) {
  settings_ = next.settings;
  groups_ = std::move(next.groups);
  set_programs(next.programs);
  std::vector<ServerPtr> added;
  for (auto& s : servers_) {
    if (s->retired) continue;
    auto it = std::find_if(next.servers.begin(), next.servers.end(), [&](const auto& c) { return same_server(c, s->cfg); });
    if (it == next.servers.end()) {
      s->retired = true;
      spdlog::info("pie server {} removed or changed by reload: draining its running instances", s->cfg.name);
    } else {
      // Balancing fields apply at once; they do not need new sessions.
      s->cfg.weight = it->weight;
      s->cfg.max_instances = it->max_instances;
      s->cfg.labels = it->labels;
    }
  }
  for (auto& cfg : next.servers) {
    bool exists = std::any_of(servers_.begin(), servers_.end(),
                              [&](const auto& s) { return !s->retired && same_server(cfg, s->cfg); });
    if (exists) continue;
    spdlog::info("pie server {} ({}) added by reload", cfg.name, cfg.uri);
    added.push_back(make_server(std::move(cfg)));
  }
  for (auto& s : added) servers_.push_back(s);
  assign_groups();
  for (auto& s : added)
    for (auto& slot : s->slots) connect(s, slot);
  check_drained();
  dispatch_queue();
}

/// Retired servers close once nothing runs on them; then they are dropped.
void PieCluster::check_drained() {
  for (auto& s : servers_) {
    if (!s->retired || s->closed || s->outstanding() > 0) continue;
    bool busy = std::any_of(s->slots.begin(), s->slots.end(),
                            [](const SlotPtr& slot) { return slot->session && slot->session->pending_requests() > 0; });
    if (busy) continue;
    spdlog::info("pie server {} drained: closing its sessions", s->cfg.name);
    close_server(*s);
    s->closed = true;
  }
  servers_.erase(std::remove_if(servers_.begin(), servers_.end(), [](const auto& s) { return s->closed; }),
                 servers_.end());
  bool draining = std::any_of(servers_.begin(), servers_.end(), [](const auto& s) { return s->retired; });
  if (!draining || stopped_) return;
  drain_timer_.expires_after(std::chrono::milliseconds(200));
  drain_timer_.async_wait(weak_cb([](PieCluster& self, boost::system::error_code ec) {
    if (!ec) self.check_drained();
  }));
}

}  // namespace pg::cluster::detail
