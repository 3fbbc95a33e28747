// Pie servers, each with a pool of authenticated sessions kept open (reconnect with backoff
// and jitter); launches go to the least busy open session.
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "cluster/cluster.hpp"

namespace pg::cluster {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

class PieCluster : public Cluster, public std::enable_shared_from_this<PieCluster> {
 public:
  PieCluster(asio::any_io_executor ex, std::vector<config::PieServer> servers) : ex_(std::move(ex)) {
    for (auto& cfg : servers) {
      auto s = std::make_unique<Server>();
      s->cfg = std::move(cfg);
      for (unsigned i = 0; i < s->cfg.sessions; ++i) s->slots.push_back(std::make_unique<Slot>(ex_, i));
      servers_.push_back(std::move(s));
    }
  }

  void start() override {
    for (auto& s : servers_)
      for (auto& slot : s->slots) connect(*s, *slot);
  }

  void stop() override {
    stopped_ = true;
    for (auto& s : servers_)
      for (auto& slot : s->slots) {
        slot->retry.cancel();
        if (slot->session) slot->session->close();
        slot->session.reset();
        slot->ready = false;
      }
  }

  void launch(pie::LaunchRequest req, pie::InstanceSink sink, LaunchDone done) override {
    Server* best_server = nullptr;
    Slot* best = nullptr;
    std::size_t best_load = SIZE_MAX;
    for (auto& s : servers_)
      for (auto& slot : s->slots) {
        if (!slot->ready || !slot->session || !slot->session->is_open()) continue;
        std::size_t load = slot->session->pending_requests() + slot->session->attached_instances();
        if (load < best_load) best_load = load, best = slot.get(), best_server = s.get();
      }
    if (!best) {
      std::string why;
      for (auto& s : servers_)
        why += (why.empty() ? "" : "; ") + s->cfg.name + ": " + (s->last_error.empty() ? "connecting" : s->last_error);
      return done(LaunchFailure{LaunchFailure::Kind::Unavailable, "no Pie server is reachable (" + why + ")"});
    }
    auto session = best->session;
    std::string server = best_server->cfg.name;
    session->launch(std::move(req), std::move(sink),
                    [session, server, done = std::move(done)](Result<std::string> r) {
                      if (r) return done(Placement{server, std::move(*r)});
                      LaunchFailure f;
                      f.message = r.error();
                      if (!session->is_open()) f.kind = LaunchFailure::Kind::Unavailable;
                      else if (r.error().rfind("timed out", 0) == 0) f.kind = LaunchFailure::Kind::Timeout;
                      else f.kind = LaunchFailure::Kind::Rejected;
                      done(std::move(f));
                    });
  }

  void terminate(const std::string& server, const std::string& instance_id) override {
    for (auto& s : servers_) {
      if (s->cfg.name != server) continue;
      for (auto& slot : s->slots)
        if (slot->ready && slot->session && slot->session->is_open()) {
          slot->session->terminate(instance_id, [server, instance_id](Result<std::string> r) {
            if (!r) spdlog::warn("terminate {} on {} failed: {}", instance_id, server, r.error());
          });
          return;
        }
      spdlog::warn("cannot terminate {} on {}: no open session", instance_id, server);
    }
  }

  bool ready() const override {
    for (auto& s : servers_)
      for (auto& slot : s->slots)
        if (slot->ready) return true;
    return false;
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
                     {"state", open ? "healthy" : "connecting"},
                     {"sessions", s->cfg.sessions},
                     {"sessions_open", open},
                     {"instances_in_flight", instances},
                     {"last_error", s->last_error}});
    }
    return out;
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
    std::vector<std::unique_ptr<Slot>> slots;
    std::string last_error;
  };

  void connect(Server& s, Slot& slot) {
    if (stopped_) return;
    pie::SessionOptions o;
    o.host = s.cfg.host;
    o.port = s.cfg.port;
    o.path = s.cfg.path;
    o.auth.kind = static_cast<pie::AuthConfig::Kind>(s.cfg.auth.kind);
    o.auth.username = s.cfg.auth.username;
    o.auth.token = s.cfg.auth.token;
    o.connect_timeout = s.cfg.connect_timeout;
    o.request_timeout = s.cfg.request_timeout;
    auto session = pie::make_session_v02(ex_, o);
    slot.session = session;
    std::weak_ptr<PieCluster> weak = shared_from_this();
    pie::Session* raw = session.get();  // no shared_ptr: the session holds this callback
    session->on_closed([weak, &s, &slot, raw](std::string reason) {
      auto self = weak.lock();
      if (!self || slot.session.get() != raw) return;
      slot.ready = false;
      s.last_error = "session lost: " + reason;
      spdlog::warn("pie server {} session {} closed: {}", s.cfg.name, slot.index, reason);
      self->schedule_reconnect(s, slot);
    });
    session->start([weak, &s, &slot, session](Result<std::string> r) {
      auto self = weak.lock();
      if (!self || slot.session != session) return;
      if (r) {
        if (slot.failures > 0 || slot.index == 0) spdlog::info("pie server {} session {} ready ({})", s.cfg.name, slot.index, *r);
        slot.ready = true;
        slot.failures = 0;
        s.last_error.clear();
        return;
      }
      s.last_error = r.error();
      if (slot.failures == 0 || slot.failures % 20 == 0)
        spdlog::warn("pie server {} ({}) session {}: {}", s.cfg.name, s.cfg.uri, slot.index, r.error());
      self->schedule_reconnect(s, slot);
    });
  }

  void schedule_reconnect(Server& s, Slot& slot) {
    if (stopped_) return;
    if (slot.session) {
      auto old = slot.session;
      slot.session.reset();
      old->close();
    }
    auto backoff = std::min(kMaxBackoff, kMinBackoff * (1u << std::min(slot.failures, 6u)));
    ++slot.failures;
    std::uniform_int_distribution<long> jitter(0, backoff.count() / 2);
    slot.retry.expires_after(backoff + std::chrono::milliseconds(jitter(rng_)));
    std::weak_ptr<PieCluster> weak = shared_from_this();
    slot.retry.async_wait([weak, &s, &slot](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->connect(s, slot);
    });
  }

  asio::any_io_executor ex_;
  std::vector<std::unique_ptr<Server>> servers_;
  bool stopped_ = false;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace

std::shared_ptr<Cluster> make_pie_cluster(asio::any_io_executor ex, std::vector<config::PieServer> servers) {
  return std::make_shared<PieCluster>(std::move(ex), std::move(servers));
}

}  // namespace pg::cluster
