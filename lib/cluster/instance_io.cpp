// PieCluster: talking to running instances (text messages, blobs), querying servers, and the
// server ("daemon") inferlets the gateway keeps running. Signals and blobs go through the very
// session the instance is attached to: Pie accepts blobs only from the owning client.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster/pie_cluster.hpp"

namespace pg::cluster::detail {

namespace {

/// The session an attached run of `servers` can be reached through, or why not.
Result<pie::Session::Ptr> session_of(const std::vector<std::shared_ptr<Server>>& servers, const std::string& server,
                                     const std::string& instance_id) {
  for (auto& s : servers) {
    if (s->cfg.name != server) continue;
    auto it = s->runs.find(instance_id);
    if (it == s->runs.end()) return make_error("instance " + instance_id + " is not running on " + server);
    auto& run = *it->second;
    auto session = run.session.lock();
    if (run.state != Run::State::Attached || !session || !session->is_open())
      return make_error("instance " + instance_id + " is not attached to a session right now (reconnecting)");
    return session;
  }
  return make_error("unknown Pie server '" + server + "'");
}

}  // namespace

Result<bool> PieCluster::signal(const std::string& server, const std::string& instance_id, std::string message) {
  auto session = session_of(servers_, server, instance_id);
  if (!session) return make_error(session.error());
  // Fire and forget, so the send-size check could not answer: refused here (framing: < 128 bytes).
  for (auto& s : servers_) {
    if (s->cfg.name == server && message.size() + instance_id.size() + 128 > s->cfg.max_message_bytes)
      return make_error(std::string(pie::kMessageTooLarge) + ": a message of " + std::to_string(message.size()) +
                        " bytes is over Pie server " + server + "'s max_message_bytes of " +
                        std::to_string(s->cfg.max_message_bytes) + "; nothing was sent");
  }
  (*session)->signal(instance_id, std::move(message));
  return true;
}

void PieCluster::upload_blob(const std::string& server, const std::string& instance_id, std::string bytes,
                             TextDone done) {
  auto session = session_of(servers_, server, instance_id);
  if (!session) return done(make_error(session.error()));
  (*session)->upload_blob(instance_id, std::move(bytes), std::move(done));
}

void PieCluster::query(const std::string& server, std::string subject, std::string record,
                       std::function<void(QueryAnswers)> done) {
  struct Gather {
    QueryAnswers answers;
    std::size_t left = 0;
    std::function<void(QueryAnswers)> done;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  std::vector<std::pair<std::size_t, pie::Session::Ptr>> asks;
  for (auto& s : servers_) {
    if (s->retired || (!server.empty() && s->cfg.name != server)) continue;
    Slot* slot = s->best_slot();
    g->answers.emplace_back(s->cfg.name, slot ? Result<std::string>(std::string())
                                              : Result<std::string>(make_error(
                                                    "no open session" + (s->last_error.empty() ? std::string()
                                                                                               : " (" + s->last_error + ")"))));
    if (slot) asks.emplace_back(g->answers.size() - 1, slot->session);
  }
  if (!server.empty() && g->answers.empty())
    g->answers.emplace_back(server, Result<std::string>(make_error("unknown Pie server '" + server + "'")));
  g->left = asks.size();
  if (asks.empty()) return g->done(std::move(g->answers));
  for (auto& [i, session] : asks) {
    session->query(subject, record, [g, i = i](Result<std::string> r) {
      g->answers[i].second = std::move(r);
      if (--g->left == 0) g->done(std::move(g->answers));
    });
  }
}

// ---- daemons -------------------------------------------------------------------------------

void PieCluster::launch_server(const std::string& server, std::uint32_t port, std::string inferlet,
                               std::vector<std::string> arguments, TextDone done) {
  auto it = std::find_if(servers_.begin(), servers_.end(), [&](auto& s) { return s->cfg.name == server; });
  if (it == servers_.end() || (*it)->retired) return done(make_error("unknown Pie server '" + server + "'"));
  if (port == 0 || port > 65535) return done(make_error("port must be 1-65535"));
  // One daemon per (server, port): launching it again replaces the record.
  std::erase_if(daemons_, [&](auto& d) { return d->server == server && d->port == port; });
  auto d = std::make_shared<Daemon>();
  d->server = server;
  d->port = port;
  d->inferlet = std::move(inferlet);
  d->arguments = std::move(arguments);
  daemons_.push_back(d);
  if ((*it)->open_sessions() == 0) {
    d->reply = "launched when a session to " + server + " opens";
    return done(d->reply);
  }
  launch_daemon(d, std::move(done));
}

void PieCluster::launch_daemon(const std::shared_ptr<Daemon>& d, TextDone done) {
  auto it = std::find_if(servers_.begin(), servers_.end(), [&](auto& s) { return s->cfg.name == d->server; });
  Slot* slot = it == servers_.end() ? nullptr : (*it)->best_slot();
  if (!slot) {
    d->state = "waiting";
    if (done) done(make_error("no open session to " + d->server));
    return;
  }
  d->state = "launching";
  ++d->launches;
  spdlog::info("launching server inferlet {} on {} port {}", d->inferlet, d->server, d->port);
  slot->session->launch_server(d->port, d->inferlet, d->arguments, [d, done](Result<std::string> r) {
    d->state = r ? "running" : "failed";
    d->reply = r ? *r : r.error();
    if (!r) spdlog::warn("server inferlet {} on {} port {}: {}", d->inferlet, d->server, d->port, r.error());
    if (done) done(std::move(r));
  });
}

void PieCluster::start_daemons(const ServerPtr& s) {
  if (s->open_sessions() != 1) return;  // not the first session to come up
  const bool restarted = s->unreachable_since != Clock::time_point{} &&
                         Clock::now() - s->unreachable_since >= settings_.server_lost_after;
  for (auto& d : daemons_) {
    if (d->server != s->cfg.name || d->state == "launching") continue;
    if (d->state == "running" && !restarted) continue;  // a blip: Pie still runs it
    launch_daemon(d, nullptr);
  }
}

nlohmann::json PieCluster::describe_daemons(const std::string& server) const {
  auto out = nlohmann::json::array();
  for (auto& d : daemons_)
    if (d->server == server)
      out.push_back({{"port", d->port},
                     {"inferlet", d->inferlet},
                     {"arguments", d->arguments},
                     {"state", d->state},
                     {"reply", d->reply},
                     {"launches", d->launches}});
  return out;
}

}  // namespace pg::cluster::detail
