// Pie servers, each with a pool of authenticated sessions kept open (reconnect with backoff
// and jitter); launches go to the least busy open session. A reload retires servers that were
// removed or changed: they take no new launches and close once their instances have ended.
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "cluster/cluster.hpp"
#include "obs/metrics.hpp"

namespace pg::cluster {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::milliseconds kDrainCheck{200};

bool same_server(const config::PieServer& a, const config::PieServer& b) {
  return a.name == b.name && a.host == b.host && a.port == b.port && a.path == b.path && a.auth.kind == b.auth.kind &&
         a.auth.username == b.auth.username && a.auth.token == b.auth.token && a.sessions == b.sessions &&
         a.connect_timeout == b.connect_timeout && a.request_timeout == b.request_timeout;
}

obs::Metrics::LaunchFailure metrics_reason(LaunchFailure::Kind k) {
  switch (k) {
    case LaunchFailure::Kind::Unavailable: return obs::Metrics::LaunchFailure::Unavailable;
    case LaunchFailure::Kind::Rejected: return obs::Metrics::LaunchFailure::Rejected;
    case LaunchFailure::Kind::Timeout: return obs::Metrics::LaunchFailure::Timeout;
  }
  return obs::Metrics::LaunchFailure::Unavailable;
}

class PieCluster : public Cluster, public std::enable_shared_from_this<PieCluster> {
 public:
  PieCluster(asio::any_io_executor ex, std::vector<config::PieServer> servers, obs::Metrics* metrics)
      : ex_(ex), drain_timer_(ex), metrics_(metrics) {
    for (auto& cfg : servers) servers_.push_back(make_server(std::move(cfg)));
  }

  void start() override {
    for (auto& s : servers_)
      for (auto& slot : s->slots) connect(s, slot);
  }

  void stop() override {
    stopped_ = true;
    drain_timer_.cancel();
    for (auto& s : servers_) close_server(*s);
  }

  void launch(pie::LaunchRequest req, LaunchOptions /*opts*/, pie::InstanceSink sink, LaunchDone done) override {
    Server* best_server = nullptr;
    Slot* best = nullptr;
    std::size_t best_load = SIZE_MAX;
    for (auto& s : servers_) {
      if (s->retired) continue;
      for (auto& slot : s->slots) {
        if (!usable(*slot)) continue;
        std::size_t load = slot->session->pending_requests() + slot->session->attached_instances();
        if (load < best_load) best_load = load, best = slot.get(), best_server = s.get();
      }
    }
    if (!best) {
      std::string why;
      for (auto& s : servers_)
        if (!s->retired)
          why += (why.empty() ? "" : "; ") + s->cfg.name + ": " + (s->last_error.empty() ? "connecting" : s->last_error);
      if (metrics_) metrics_->pie_launch_failure("", obs::Metrics::LaunchFailure::Unavailable);
      return done(LaunchFailure{LaunchFailure::Kind::Unavailable,
                                "no Pie server is reachable (" + (why.empty() ? "none configured" : why) + ")"});
    }
    auto session = best->session;
    std::string server = best_server->cfg.name;
    if (metrics_) metrics_->pie_launch(server);
    session->launch(std::move(req), std::move(sink),
                    [session, server, metrics = metrics_, done = std::move(done)](Result<std::string> r) {
                      if (r) return done(Placement{server, std::move(*r)});
                      LaunchFailure f;
                      f.message = r.error();
                      if (!session->is_open()) f.kind = LaunchFailure::Kind::Unavailable;
                      else if (r.error().rfind("timed out", 0) == 0) f.kind = LaunchFailure::Kind::Timeout;
                      else f.kind = LaunchFailure::Kind::Rejected;
                      if (metrics) metrics->pie_launch_failure(server, metrics_reason(f.kind));
                      done(std::move(f));
                    });
  }

  void terminate(const std::string& server, const std::string& instance_id) override {
    // Any session to the same Pie server may terminate any instance; prefer current servers.
    for (bool retired : {false, true})
      for (auto& s : servers_) {
        if (s->cfg.name != server || s->retired != retired) continue;
        for (auto& slot : s->slots)
          if (usable(*slot)) {
            slot->session->terminate(instance_id, [server, instance_id](Result<std::string> r) {
              if (!r) spdlog::warn("terminate {} on {} failed: {}", instance_id, server, r.error());
            });
            return;
          }
      }
    spdlog::warn("cannot terminate {} on {}: no open session", instance_id, server);
  }

  bool ready() const override {
    for (auto& s : servers_)
      if (!s->retired)
        for (auto& slot : s->slots)
          if (slot->ready) return true;
    return false;
  }

  std::vector<std::string> healthy_servers(const std::string& /*group*/) const override {
    std::vector<std::string> out;
    for (auto& s : servers_) {
      if (s->retired) continue;
      for (auto& slot : s->slots)
        if (usable(*slot)) {
          out.push_back(s->cfg.name);
          break;
        }
    }
    return out;
  }

  std::size_t pending_requests() const override {
    std::size_t n = 0;
    for (auto& s : servers_)
      for (auto& slot : s->slots)
        if (slot->session) n += slot->session->pending_requests();
    return n;
  }

  nlohmann::json describe() const override {
    auto out = nlohmann::json::array();
    for (auto& s : servers_) {
      unsigned open = 0;
      std::size_t instances = 0;
      for (auto& slot : s->slots)
        if (slot->ready && slot->session) ++open, instances += slot->session->attached_instances();
      out.push_back({{"name", s->cfg.name},
                     {"uri", s->cfg.uri},
                     {"state", s->retired ? "draining" : open ? "healthy" : "connecting"},
                     {"sessions", s->cfg.sessions},
                     {"sessions_open", open},
                     {"instances_in_flight", instances},
                     {"last_error", s->last_error}});
    }
    return out;
  }

  void reconfigure(std::vector<config::PieServer> next) override {
    std::vector<std::shared_ptr<Server>> added;
    for (auto& s : servers_) {
      if (s->retired) continue;
      bool kept = std::any_of(next.begin(), next.end(), [&](const auto& c) { return same_server(c, s->cfg); });
      if (!kept) {
        s->retired = true;
        spdlog::info("pie server {} removed or changed by reload: draining its running instances", s->cfg.name);
      }
    }
    for (auto& cfg : next) {
      bool exists = std::any_of(servers_.begin(), servers_.end(),
                                [&](const auto& s) { return !s->retired && same_server(cfg, s->cfg); });
      if (exists) continue;
      spdlog::info("pie server {} ({}) added by reload", cfg.name, cfg.uri);
      added.push_back(make_server(std::move(cfg)));
    }
    for (auto& s : added) {
      servers_.push_back(s);
      for (auto& slot : s->slots) connect(s, slot);
    }
    check_drained();
  }

 private:
  struct Slot {
    Slot(asio::any_io_executor ex, unsigned i) : index(i), retry(ex) {}
    unsigned index;
    pie::Session::Ptr session;
    bool ready = false;
    unsigned failures = 0;
    asio::steady_timer retry;
  };
  struct Server {
    config::PieServer cfg;
    std::vector<std::shared_ptr<Slot>> slots;
    std::string last_error;
    bool retired = false;  // removed or changed by a reload: no new launches
    bool closed = false;   // retired and its sessions closed
  };

  std::shared_ptr<Server> make_server(config::PieServer cfg) {
    auto s = std::make_shared<Server>();
    s->cfg = std::move(cfg);
    for (unsigned i = 0; i < s->cfg.sessions; ++i) s->slots.push_back(std::make_shared<Slot>(ex_, i));
    return s;
  }

  static bool usable(const Slot& slot) { return slot.ready && slot.session && slot.session->is_open(); }

  void close_server(Server& s) {
    for (auto& slot : s.slots) {
      slot->retry.cancel();
      slot->ready = false;
      if (auto session = std::exchange(slot->session, nullptr)) session->close();
    }
  }

  /// Retired servers close once nothing runs on them; then they are dropped.
  void check_drained() {
    for (auto& s : servers_) {
      if (!s->retired || s->closed) continue;
      bool busy = false;
      for (auto& slot : s->slots)
        if (slot->session && (slot->session->attached_instances() || slot->session->pending_requests())) busy = true;
      if (busy) continue;
      spdlog::info("pie server {} drained: closing its sessions", s->cfg.name);
      close_server(*s);
      s->closed = true;
    }
    servers_.erase(std::remove_if(servers_.begin(), servers_.end(), [](const auto& s) { return s->closed; }),
                   servers_.end());
    bool draining = std::any_of(servers_.begin(), servers_.end(), [](const auto& s) { return s->retired; });
    if (!draining || stopped_) return;
    drain_timer_.expires_after(kDrainCheck);
    drain_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->check_drained();
    });
  }

  void connect(const std::shared_ptr<Server>& s, const std::shared_ptr<Slot>& slot) {
    if (stopped_ || s->retired) return;
    pie::SessionOptions o;
    o.host = s->cfg.host;
    o.port = s->cfg.port;
    o.path = s->cfg.path;
    o.auth.kind = static_cast<pie::AuthConfig::Kind>(s->cfg.auth.kind);
    o.auth.username = s->cfg.auth.username;
    o.auth.token = s->cfg.auth.token;
    o.connect_timeout = s->cfg.connect_timeout;
    o.request_timeout = s->cfg.request_timeout;
    auto session = pie::make_session_v02(ex_, o);
    slot->session = session;
    std::weak_ptr<PieCluster> weak = shared_from_this();
    std::weak_ptr<Server> ws = s;
    std::weak_ptr<Slot> wslot = slot;
    pie::Session* raw = session.get();  // no shared_ptr: the session holds this callback
    session->on_closed([weak, ws, wslot, raw](std::string reason) {
      auto self = weak.lock();
      auto s = ws.lock();
      auto slot = wslot.lock();
      if (!self || !s || !slot || slot->session.get() != raw) return;
      slot->ready = false;
      s->last_error = "session lost: " + reason;
      spdlog::warn("pie server {} session {} closed: {}", s->cfg.name, slot->index, reason);
      self->schedule_reconnect(s, slot);
    });
    session->start([weak, ws, wslot, session](Result<std::string> r) {
      auto self = weak.lock();
      auto s = ws.lock();
      auto slot = wslot.lock();
      if (!self || !s || !slot || slot->session != session) return;
      if (r) {
        if (slot->failures > 0 || slot->index == 0)
          spdlog::info("pie server {} session {} ready ({})", s->cfg.name, slot->index, *r);
        slot->ready = true;
        slot->failures = 0;
        s->last_error.clear();
        return;
      }
      s->last_error = r.error();
      if (slot->failures == 0 || slot->failures % 20 == 0)
        spdlog::warn("pie server {} ({}) session {}: {}", s->cfg.name, s->cfg.uri, slot->index, r.error());
      self->schedule_reconnect(s, slot);
    });
  }

  void schedule_reconnect(const std::shared_ptr<Server>& s, const std::shared_ptr<Slot>& slot) {
    if (stopped_ || s->retired) return;
    if (metrics_) metrics_->pie_reconnect(s->cfg.name);
    if (auto old = std::exchange(slot->session, nullptr)) old->close();
    auto backoff = std::min(kMaxBackoff, kMinBackoff * (1u << std::min(slot->failures, 6u)));
    ++slot->failures;
    std::uniform_int_distribution<long> jitter(0, backoff.count() / 2);
    slot->retry.expires_after(backoff + std::chrono::milliseconds(jitter(rng_)));
    std::weak_ptr<PieCluster> weak = shared_from_this();
    std::weak_ptr<Server> ws = s;
    std::weak_ptr<Slot> wslot = slot;
    slot->retry.async_wait([weak, ws, wslot](boost::system::error_code ec) {
      auto self = weak.lock();
      auto s = ws.lock();
      auto slot = wslot.lock();
      if (ec || !self || !s || !slot) return;
      self->connect(s, slot);
    });
  }

  asio::any_io_executor ex_;
  std::vector<std::shared_ptr<Server>> servers_;
  asio::steady_timer drain_timer_;
  bool stopped_ = false;
  obs::Metrics* metrics_ = nullptr;  // null: no metrics
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

std::shared_ptr<Cluster> make_pie_cluster(asio::any_io_executor ex, std::vector<config::PieServer> servers,
                                          obs::Metrics* metrics) {
  return std::make_shared<PieCluster>(std::move(ex), std::move(servers), metrics);
}

}  // namespace pg::cluster
