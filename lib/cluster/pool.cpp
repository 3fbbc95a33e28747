// Session pools: each server keeps `sessions` authenticated sessions open, reconnecting with
// exponential back-off and jitter; a session on which nothing arrived for ping_interval is pinged,
// and closed (then reconnected) when nothing at all arrives for ping_timeout after that ping (see
// "liveness" below). Consecutive failed launches or pings eject a server for a back-off period;
// a ping then probes it before it takes launches again.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cluster/pie_cluster.hpp"
#include "cluster/session_auth.hpp"
#include "obs/metrics.hpp"

namespace pg::cluster::detail {

namespace {
constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
}  // namespace

const char* to_string(Health h) {
  switch (h) {
    case Health::Connecting: return "connecting";
    case Health::Healthy: return "healthy";
    case Health::Ejected: return "ejected";
    case Health::Down: return "down";
    case Health::Draining: return "draining";
  }
  return "?";
}

unsigned Server::open_sessions() const {
  return static_cast<unsigned>(std::count_if(slots.begin(), slots.end(), [](const auto& s) { return s->usable(); }));
}

Slot* Server::best_slot() {
  Slot* best = nullptr;
  for (auto& s : slots)
    if (s->usable() && (!best || s->load() < best->load())) best = s.get();
  return best;
}

Health Server::health(Clock::time_point now, std::chrono::milliseconds lost_after) const {
  if (retired) return Health::Draining;
  const unsigned open = open_sessions();
  if (!open && unreachable_since != Clock::time_point{} && now - unreachable_since >= lost_after) return Health::Down;
  if (ejected(now)) return Health::Ejected;
  return open ? Health::Healthy : Health::Connecting;
}

void PieCluster::close_server(Server& s) {
  s.eject_timer.cancel();
  s.reattach_timer.cancel();
  for (auto& slot : s.slots) {
    slot->retry.cancel();
    slot->ping_timer.cancel();
    slot->ready = false;
    if (auto session = std::exchange(slot->session, nullptr)) session->close();
  }
}

void PieCluster::connect(const ServerPtr& s, const SlotPtr& slot) {
  // A retired server still reconnects while instances of it wait to be re-attached.
  if (stopped_ || s->closed || (s->retired && s->runs.empty())) return;
  pie::SessionOptions o;
  o.protocol = s->cfg.protocol == config::PieServer::Protocol::V05 ? pie::Protocol::V05 : pie::Protocol::V02;
  o.identity = s->cfg.identity;
  o.host = s->cfg.host;
  o.port = s->cfg.port;
  o.path = s->cfg.path;
  o.tls = s->cfg.tls_context;
  o.auth = session_auth(s->cfg.auth);
  o.connect_timeout = s->cfg.connect_timeout;
  o.request_timeout = s->cfg.request_timeout;
  o.max_message_bytes = s->cfg.max_message_bytes;
  auto session = pie::make_session(ex_, o);
  slot->session = session;
  slot->ready = false;
  pie::Session* raw = session.get();  // no shared_ptr: the session holds this callback
  session->on_closed(weak_cb([s, slot, raw](PieCluster& self, std::string reason) {
    if (slot->session.get() != raw) return;
    self.on_session_down(s, slot, "session lost: " + reason);
  }));
  session->start(weak_cb([s, slot, session](PieCluster& self, Result<std::string> r) {
    if (slot->session != session) return;
    if (!r) {
      s->last_error = r.error();
      if (slot->failures == 0 || slot->failures % 20 == 0)
        spdlog::warn("pie server {} ({}) session {}: {}", s->cfg.name, s->cfg.uri, slot->index, r.error());
      return self.schedule_reconnect(s, slot);
    }
    if (slot->failures > 0 || slot->index == 0)
      spdlog::info("pie server {} session {} ready ({})", s->cfg.name, slot->index, *r);
    // The configured programs first (uploaded if missing): only then does it take launches.
    provision(session, self.programs_, self.weak_cb([s, slot, session](PieCluster& me, Result<std::size_t> p) {
      if (slot->session != session) return;
      if (!p) {
        s->last_error = "provisioning failed: " + p.error();
        spdlog::warn("pie server {} session {}: {}", s->cfg.name, slot->index, s->last_error);
        return me.schedule_reconnect(s, slot);
      }
      me.on_session_ready(s, slot);
    }), s->cfg.name);
  }));
}

bool terminates_on_close(const Slot& slot) {
  return slot.session && slot.session->protocol() == pie::Protocol::V05;
}

void PieCluster::release_held_slots(const ServerPtr& s) {
  for (auto& slot : s->slots)
    if (slot->held && slot->session && slot->session->attached_instances() == 0)
      on_session_down(s, slot, "closed after its processes ended (it had stopped answering pings)");
}

void PieCluster::on_session_ready(const ServerPtr& s, const SlotPtr& slot) {
  slot->ready = true;
  slot->failures = 0;
  start_daemons(s);  // before unreachable_since is cleared: it tells a restart from a blip
  s->unreachable_since = {};
  s->last_error.clear();
  arm_ping(s, slot, settings_.ping_interval);
  send_pending_terminates(s);
  reattach_all(s);
  if (s->probing) probe(s);
  dispatch_queue();
}

void PieCluster::on_session_down(const ServerPtr& s, const SlotPtr& slot, const std::string& why) {
  slot->ready = false;
  slot->ping_timer.cancel();
  s->last_error = why;
  spdlog::warn("pie server {} session {}: {}", s->cfg.name, slot->index, why);
  if (s->open_sessions() == 0 && s->unreachable_since == Clock::time_point{}) s->unreachable_since = Clock::now();
  schedule_reconnect(s, slot);
}

void PieCluster::schedule_reconnect(const ServerPtr& s, const SlotPtr& slot) {
  slot->ready = false;
  slot->held = false;
  slot->ping_timer.cancel();
  if (s->open_sessions() == 0 && s->unreachable_since == Clock::time_point{}) s->unreachable_since = Clock::now();
  if (auto old = std::exchange(slot->session, nullptr)) old->close();  // its runs detach (SessionLost)
  if (stopped_ || s->closed || (s->retired && s->runs.empty())) return;
  ++s->reconnects;
  if (metrics_) metrics_->pie_reconnect(s->cfg.name);
  auto backoff = std::min(kMaxBackoff, kMinBackoff * (1u << std::min(slot->failures, 6u)));
  ++slot->failures;
  std::uniform_int_distribution<long> jitter(0, backoff.count() / 2);
  slot->retry.expires_after(backoff + std::chrono::milliseconds(jitter(rng_)));
  slot->retry.async_wait(weak_cb([s, slot](PieCluster& self, boost::system::error_code ec) {
    if (!ec) self.connect(s, slot);
  }));
}

// ---- liveness -------------------------------------------------------------------------------
// Any frame received is proof of life: a busy session (tokens streaming) is never pinged, and an
// unanswered ping is not death while other frames still arrive (its pong may be queued behind
// them). A ping goes out once nothing has arrived for ping_interval; the session is silent, and
// closed, once nothing at all has arrived for ping_timeout after it.

void PieCluster::arm_ping(const ServerPtr& s, const SlotPtr& slot, Clock::duration delay) {
  slot->ping_outstanding = false;
  check_liveness_in(s, slot, delay);
}

void PieCluster::check_liveness_in(const ServerPtr& s, const SlotPtr& slot, Clock::duration delay) {
  const auto seq = ++slot->ping_seq;
  slot->ping_timer.expires_after(delay);
  slot->ping_timer.async_wait(weak_cb([s, slot, seq](PieCluster& self, boost::system::error_code ec) {
    if (!ec) self.on_ping_timer(s, slot, seq);
  }));
}

void PieCluster::on_alive(const ServerPtr& s, const SlotPtr& slot) {
  if (!slot->held) return;
  slot->held = false;
  slot->ready = true;
  spdlog::info("pie server {} session {}: alive again, taking launches", s->cfg.name, slot->index);
  dispatch_queue();
}

void PieCluster::on_ping_timer(const ServerPtr& s, const SlotPtr& slot, std::uint64_t seq) {
  if (seq != slot->ping_seq || !(slot->usable() || slot->holding())) return;
  const auto now = Clock::now();
  const auto last = slot->session->last_received();
  if (slot->ping_outstanding) {
    const auto deadline = std::max(last, slot->ping_sent_at) + settings_.ping_timeout;
    if (now < deadline) return check_liveness_in(s, slot, deadline - now);  // frames still arrive
    const std::string why = "nothing received within " + std::to_string(settings_.ping_timeout.count()) +
                            " ms of a ping (ping_timeout)";
    note_failure(s, why);
    if (terminates_on_close(*slot) && slot->session->attached_instances() > 0) {
      // Closing a 0.5 edge session terminates its processes: keep it for them (no new launches
      // on it), ping again, and close it only once they have ended (end_run) or it is heard again.
      if (!slot->held) {
        spdlog::warn("pie server {} session {}: {}; kept open for its {} running processes (closing it would "
                     "terminate them), no new launches on it", s->cfg.name, slot->index, why,
                     slot->session->attached_instances());
      }
      slot->held = true;
      slot->ready = false;
      s->last_error = why;
      return arm_ping(s, slot, settings_.ping_interval);
    }
    return on_session_down(s, slot, why);
  }
  if (now - last < settings_.ping_interval) {  // not idle: no ping needed
    if (last > slot->ping_sent_at) on_alive(s, slot);
    return check_liveness_in(s, slot, last + settings_.ping_interval - now);
  }
  slot->ping_outstanding = true;
  slot->ping_sent_at = now;
  const auto id = ++slot->pings_sent;
  check_liveness_in(s, slot, settings_.ping_timeout);
  auto session = slot->session;
  session->ping(weak_cb([s, slot, session, id](PieCluster& self, Result<std::string> r) {
    if (slot->session != session || id != slot->pings_sent || !slot->ping_outstanding) return;
    if (!r) {
      if (!session->is_open()) return;  // on_closed reports it
      // Timed out (the session's request_timeout): the liveness deadline above decides.
      if (session->last_received() <= slot->ping_sent_at) return;
      spdlog::debug("pie server {} session {}: ping refused: {}", s->cfg.name, slot->index, r.error());
    } else {
      self.note_success(s);
    }
    self.on_alive(s, slot);
    self.arm_ping(s, slot, self.settings_.ping_interval);
  }));
}

// ---- outlier ejection -------------------------------------------------------------------------

void PieCluster::note_success(const ServerPtr& s) { s->consecutive_failures = 0; }

void PieCluster::note_failure(const ServerPtr& s, const std::string& why) {
  s->last_error = why;
  ++s->consecutive_failures;
  const auto now = Clock::now();
  if (s->consecutive_failures < settings_.eject_after || s->ejected(now) || s->retired) return;
  // Never eject the last server that takes launches: a slow server beats none.
  bool others = std::any_of(servers_.begin(), servers_.end(),
                            [&](const ServerPtr& x) { return x != s && x->takes_launches(now); });
  if (!others) {
    spdlog::warn("pie server {}: {} consecutive failures, but it is the last healthy server: not ejected", s->cfg.name,
                 s->consecutive_failures);
    return;
  }
  eject(s, why);
}

void PieCluster::eject(const ServerPtr& s, const std::string& why) {
  ++s->ejections;
  ++s->ejections_in_row;
  auto time = settings_.eject_time * (1LL << std::min(s->ejections_in_row - 1, 20u));
  time = std::min<std::chrono::milliseconds>(time, settings_.max_eject_time);
  s->ejected_until = Clock::now() + time;
  s->probing = false;
  if (metrics_) metrics_->pie_ejection(s->cfg.name);
  spdlog::warn("pie server {} ejected for {} ms after {} consecutive failures (last: {})", s->cfg.name, time.count(),
               s->consecutive_failures, why);
  s->eject_timer.expires_at(s->ejected_until);
  s->eject_timer.async_wait(weak_cb([s](PieCluster& self, boost::system::error_code ec) {
    if (!ec) self.probe(s);
  }));
}

void PieCluster::probe(const ServerPtr& s) {
  if (stopped_ || s->retired) return;
  s->probing = true;  // stays out of balancing until the probe answers
  Slot* slot = s->best_slot();
  if (!slot) return;  // probed when a session opens (on_session_ready)
  auto session = slot->session;
  session->ping(weak_cb([s, session](PieCluster& self, Result<std::string> r) {
    if (!s->probing) return;
    if (r) {
      spdlog::info("pie server {}: probe answered, taking launches again", s->cfg.name);
      s->probing = false;
      s->ejected_until = {};
      s->consecutive_failures = 0;
      return self.dispatch_queue();
    }
    s->last_error = "probe failed: " + r.error();
    self.eject(s, s->last_error);
  }));
}

}  // namespace pg::cluster::detail
