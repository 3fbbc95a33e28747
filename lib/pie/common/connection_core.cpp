// The part of a Pie session both lines share (connection_core.hpp): its life over the WebSocket
// transport, requests with their deadlines, and the ending that fails what was pending.
#include "pie/common/connection_core.hpp"

#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace pg::pie {

namespace net = boost::asio;

ConnectionCore::ConnectionCore(net::any_io_executor ex, SessionOptions opts, std::size_t max_frame_bytes,
                               std::size_t max_blob_bytes)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      name_("pie " + opts_.host + ":" + std::to_string(opts_.port)),
      router_(name_, max_blob_bytes),
      max_frame_bytes_(max_frame_bytes) {}

// ---- start ------------------------------------------------------------------------------

void ConnectionCore::start(Session::Done done) {
  if (state_ != State::Idle) {
    if (done) net::post(ex_, [done = std::move(done)] { done(make_error("session already started")); });
    return;
  }
  state_ = State::Connecting;
  start_done_ = std::move(done);
  transport::WsOptions o;
  o.host = opts_.host;
  o.port = opts_.port;
  o.path = opts_.path;
  o.tls = opts_.tls;
  o.headers = upgrade_headers();
  o.connect_timeout = opts_.connect_timeout;
  o.max_frame_bytes = max_frame_bytes_;
  o.name = name_;
  transport::WsEvents ev;
  const std::weak_ptr<ConnectionCore> w = shared_from_this();
  ev.on_open = [w] {
    if (auto self = w.lock()) self->on_upgraded();
  };
  ev.on_fail = [w](std::string why) {
    if (auto self = w.lock()) self->fail_start(std::move(why));
  };
  ev.on_frame = [w](std::string_view frame, bool binary) {
    auto self = w.lock();
    if (!self || self->state_ == State::Closed) return;
    self->last_received_ = std::chrono::steady_clock::now();  // any frame is proof of life
    if (binary) self->handle_binary(frame);
    else self->handle_text(frame);
  };
  ev.on_lost = [w](std::string why) {
    if (auto self = w.lock()) self->on_transport_lost(std::move(why));
  };
  ws_ = transport::make_ws_client(ex_, std::move(o), std::move(ev));
  ws_->start();
}

void ConnectionCore::on_upgraded() {
  if (state_ == State::Closed) return;
  state_ = State::Authenticating;
  begin_auth();
}

void ConnectionCore::fail_start(std::string why) {
  if (state_ == State::Closed) return;
  spdlog::warn("{}: session start failed: {}", name_, why);
  auto done = std::exchange(start_done_, nullptr);
  finish(why, /*by_client=*/true);
  if (done) done(make_error(std::move(why)));
}

void ConnectionCore::open_session(const std::string& reply) {
  state_ = State::Open;
  last_received_ = std::chrono::steady_clock::now();
  spdlog::debug("{}: session open ({})", name_, reply);
  auto done = std::exchange(start_done_, nullptr);
  if (done) done(reply);
}

void ConnectionCore::handle_text(std::string_view) { spdlog::debug("{}: ignoring a text frame", name_); }

void ConnectionCore::send_frame(std::string bytes) {
  if (state_ != State::Open && state_ != State::Authenticating) return;
  ws_->send(std::move(bytes));
}

// ---- requests ---------------------------------------------------------------------------

bool ConnectionCore::check_open(Session::Done& done) {
  if (state_ == State::Open) return true;
  std::string why = state_ == State::Closed ? "session closed: " + close_reason_ : "session is not open";
  if (done) net::post(ex_, [done = std::move(done), why = std::move(why)] { done(make_error(why)); });
  return false;
}

std::uint32_t ConnectionCore::expect_reply(PendingRequest p, std::chrono::milliseconds timeout) {
  const auto id = requests_.next_id();
  p.timer = std::make_unique<net::steady_timer>(ex_, timeout);
  p.timer->async_wait([w = weak_from_this(), id, timeout](boost::system::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->on_timeout(id, timeout);
  });
  requests_.add(id, std::move(p));
  return id;
}

std::optional<PendingRequest> ConnectionCore::take_reply(std::uint32_t corr_id) {
  auto p = requests_.take(corr_id);
  if (p && p->timer) p->timer->cancel();
  return p;
}

void ConnectionCore::on_timeout(std::uint32_t corr_id, std::chrono::milliseconds timeout) {
  auto p = requests_.take(corr_id);
  if (!p) return;  // answered while the expiry was queued
  std::string why = "timed out after " + std::to_string(timeout.count()) + " ms waiting for " + p->expect;
  spdlog::warn("{}: request {} {}", name_, corr_id, why);
  on_request_timed_out(corr_id, *p);
  if (p->done) p->done(make_error(std::move(why)));
}

// ---- program uploads, one at a time (the servers keep one per session) --------------------

void ConnectionCore::upload_program(std::string program_hash, std::string manifest,
                                    std::shared_ptr<const std::string> bytes, Session::Done done) {
  if (!check_open(done)) return;
  if (!bytes) bytes = std::make_shared<const std::string>();
  ProgramUpload u{std::move(program_hash), std::move(manifest), std::move(bytes), std::move(done)};
  if (program_in_flight_) {
    program_queue_.push_back(std::move(u));
    return;
  }
  program_in_flight_ = true;
  send_program(std::move(u));
}

void ConnectionCore::on_program_done() {
  program_in_flight_ = false;
  if (state_ != State::Open || program_queue_.empty()) return;
  auto next = std::move(program_queue_.front());
  program_queue_.pop_front();
  program_in_flight_ = true;
  send_program(std::move(next));
}

// ---- ending -----------------------------------------------------------------------------

void ConnectionCore::finish(std::string reason, bool by_client) {
  if (state_ == State::Closed) return;
  const bool was_open = state_ == State::Open;
  state_ = State::Closed;
  close_reason_ = reason;
  if (was_open && !by_client) spdlog::warn("{}: session lost: {}", name_, reason);
  if (ws_) ws_->close();

  // Everything is taken out first: each callback may call back into this session.
  auto pending = requests_.take_all();
  auto uploads = std::exchange(program_queue_, {});
  auto start_done = std::exchange(start_done_, nullptr);
  auto closed_cb = std::exchange(on_closed_, nullptr);
  const std::string why = "session closed: " + reason;
  for (auto& p : pending)
    if (p.done) p.done(make_error(why));
  for (auto& u : uploads)
    if (u.done) u.done(make_error(why));
  if (start_done) start_done(make_error(why));
  router_.end_all(InstanceEnd::SessionLost, reason);
  if (was_open && !by_client && closed_cb) closed_cb(reason);
}

void ConnectionCore::abandon() {
  start_done_ = nullptr;
  on_closed_ = nullptr;
  if (state_ != State::Closed) {
    state_ = State::Closed;
    close_reason_ = "session abandoned";
    if (ws_) ws_->close();
  }
  requests_.take_all();  // destroyed without being called; their timers are cancelled
  program_queue_.clear();
  router_.clear();
}

}  // namespace pg::pie
