// Pie v0.2 client session, transport half: Beast WebSocket client in callback style (one step =
// one pair of member functions, as in Beast's example/websocket/client/async). One executor,
// no locks. The protocol half (requests, replies, routing) is in requests.cpp.
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "pie/v02/codec.hpp"
#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Connection::Connection(net::any_io_executor ex, SessionOptions opts)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      name_("pie " + opts_.host + ":" + std::to_string(opts_.port)),
      resolver_(ex_),
      ws_(ex_),
      close_timer_(ex_),
      router_(name_, kMaxBlobBytesPerInstance) {}

// ---- start ------------------------------------------------------------------------------

void Connection::start(Session::Done done) {
  if (state_ != State::Idle) {
    if (done) net::post(ex_, [done = std::move(done)] { done(make_error("session already started")); });
    return;
  }
  state_ = State::Connecting;
  start_done_ = std::move(done);
  resolver_.async_resolve(opts_.host, std::to_string(opts_.port),
                          beast::bind_front_handler(&Connection::on_resolve, shared_from_this()));
}

void Connection::on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (state_ == State::Closed) return;
  if (ec) return fail_start("cannot resolve " + opts_.host + ": " + ec.message());
  auto& tcp_layer = beast::get_lowest_layer(ws_);
  tcp_layer.expires_after(opts_.connect_timeout);
  tcp_layer.async_connect(results, beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
}

void Connection::on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
  if (state_ == State::Closed) return;
  if (ec) {
    const auto what = ec == beast::error::timeout
                          ? "timed out after " + std::to_string(opts_.connect_timeout.count()) + " ms"
                          : ec.message();
    return fail_start("cannot connect to " + opts_.host + ":" + std::to_string(opts_.port) + ": " + what);
  }
  // From here on the WebSocket layer keeps the time (handshake and close handshake).
  beast::get_lowest_layer(ws_).expires_never();
  // Small frames go out at once: Nagle would hold them behind unacknowledged ones.
  beast::error_code nodelay_ec;
  beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), nodelay_ec);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = opts_.connect_timeout;
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(beast::http::field::user_agent, "pie-gateway"); }));
  ws_.read_message_max(kMaxFrameBytes);
  ws_.auto_fragment(false);
  ws_.binary(true);
  ws_.async_handshake(opts_.host + ":" + std::to_string(opts_.port), opts_.path,
                      beast::bind_front_handler(&Connection::on_handshake, shared_from_this()));
}

void Connection::on_handshake(beast::error_code ec) {
  if (state_ == State::Closed) return;
  if (ec) return fail_start("WebSocket handshake with " + opts_.host + " failed: " + describe(ec));
  upgraded_ = true;
  state_ = State::Authenticating;
  do_read();
  begin_auth();  // auth.cpp
}


void Connection::fail_start(std::string why) {
  spdlog::warn("{}: session start failed: {}", name_, why);
  auto done = std::exchange(start_done_, nullptr);
  finish(why, /*by_client=*/true);
  if (done) done(make_error(std::move(why)));
}

// ---- reading ----------------------------------------------------------------------------

void Connection::do_read() {
  ws_.async_read(rbuf_, beast::bind_front_handler(&Connection::on_read, shared_from_this()));
}

void Connection::on_read(beast::error_code ec, std::size_t) {
  if (state_ == State::Closed) return;
  if (ec) return finish(describe(ec), /*by_client=*/false);
  if (ws_.got_binary()) {
    const auto data = rbuf_.cdata();
    handle_frame(std::string_view(static_cast<const char*>(data.data()), data.size()));
  } else {
    spdlog::debug("{}: ignoring a text frame", name_);
  }
  rbuf_.consume(rbuf_.size());
  if (state_ != State::Closed) do_read();
}

// ---- writing ----------------------------------------------------------------------------

void Connection::send(const ClientMessage& m) {
  if (state_ != State::Open && state_ != State::Authenticating) return;
  wq_.push_back(encode(m));
  if (!writing_) do_write();
}

void Connection::do_write() {
  writing_ = true;
  ws_.async_write(net::buffer(wq_.front()), beast::bind_front_handler(&Connection::on_write, shared_from_this()));
}

void Connection::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (!wq_.empty()) wq_.pop_front();
  if (state_ == State::Closed) {
    wq_.clear();
    if (close_deferred_) do_close();
    return;
  }
  if (ec) return finish("write failed: " + describe(ec), /*by_client=*/false);
  if (!wq_.empty()) do_write();
}

// ---- ending -----------------------------------------------------------------------------

void Connection::finish(std::string reason, bool by_client) {
  if (state_ == State::Closed) return;
  const bool was_open = state_ == State::Open;
  state_ = State::Closed;
  close_reason_ = reason;
  if (was_open && !by_client) spdlog::warn("{}: session lost: {}", name_, reason);
  shutdown_io();

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

void Connection::abandon() {
  start_done_ = nullptr;
  on_closed_ = nullptr;
  if (state_ != State::Closed) {
    state_ = State::Closed;
    close_reason_ = "session abandoned";
    shutdown_io();
  }
  requests_.take_all();  // destroyed without being called; their timers are cancelled
  program_queue_.clear();
  router_.clear();
}

void Connection::shutdown_io() {
  resolver_.cancel();
  // Keep only the buffer of the write in flight.
  if (writing_) wq_.erase(wq_.begin() + 1, wq_.end());
  else wq_.clear();
  if (!upgraded_) {
    beast::get_lowest_layer(ws_).close();  // cancels connect / handshake
    return;
  }
  if (writing_) close_deferred_ = true;
  else do_close();
  // Whatever becomes of the close handshake (a write stuck on a peer that stopped reading),
  // the socket is gone after connect_timeout.
  close_timer_.expires_after(opts_.connect_timeout);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) beast::get_lowest_layer(self->ws_).close();
  });
}

void Connection::do_close() {
  if (close_started_) return;
  close_started_ = true;
  if (!ws_.is_open()) {
    beast::get_lowest_layer(ws_).close();
    return;
  }
  ws_.async_close(websocket::close_code::normal, beast::bind_front_handler(&Connection::on_close, shared_from_this()));
}

void Connection::on_close(beast::error_code ec) {
  close_timer_.cancel();
  if (ec && ec != net::error::operation_aborted)
    spdlog::debug("{}: close handshake: {}", name_, ec.message());
  beast::get_lowest_layer(ws_).close();
}

std::string Connection::describe(beast::error_code ec) const {
  if (ec == websocket::error::closed) {
    const auto& r = ws_.reason();
    std::string s = "server closed the connection (code " + std::to_string(r.code) + ")";
    if (!r.reason.empty()) s += ": " + std::string(r.reason.data(), r.reason.size());
    return s;
  }
  if (ec == beast::error::timeout) return "timed out";
  if (ec == net::error::eof || ec == beast::http::error::end_of_stream)
    return "server closed the connection without a close frame";
  return ec.message();
}

namespace {

// ---- the handle callers hold ------------------------------------------------------------

class SessionV02 final : public Session {
 public:
  explicit SessionV02(std::shared_ptr<Connection> c) : c_(std::move(c)) {}
  ~SessionV02() override { c_->abandon(); }

  void start(Done done) override { c_->start(std::move(done)); }
  void close() override { c_->close(); }
  bool is_open() const override { return c_->is_open(); }
  void on_closed(std::function<void(std::string reason)> cb) override { c_->on_closed(std::move(cb)); }
  void launch(LaunchRequest req, InstanceSink sink, Done done) override {
    c_->launch(std::move(req), std::move(sink), std::move(done));
  }
  void attach(std::string instance_id, InstanceSink sink, Done done) override {
    c_->attach(std::move(instance_id), std::move(sink), std::move(done));
  }
  void terminate(std::string instance_id, Done done) override { c_->terminate(std::move(instance_id), std::move(done)); }
  void signal(std::string instance_id, std::string message) override {
    c_->signal(std::move(instance_id), std::move(message));
  }
  void upload_blob(std::string instance_id, std::string bytes, Done done) override {
    c_->upload_blob(std::move(instance_id), std::move(bytes), std::move(done));
  }
  void upload_program(std::string program_hash, std::string manifest, std::shared_ptr<const std::string> bytes,
                      Done done) override {
    c_->upload_program(std::move(program_hash), std::move(manifest), std::move(bytes), std::move(done));
  }
  void ping(Done done) override { c_->ping(std::move(done)); }
  void query(std::string subject, std::string record, Done done) override {
    c_->query(std::move(subject), std::move(record), std::move(done));
  }
  void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                     Done done) override {
    c_->launch_server(port, std::move(inferlet), std::move(arguments), std::move(done));
  }
  std::size_t pending_requests() const override { return c_->pending_requests(); }
  std::size_t attached_instances() const override { return c_->attached_instances(); }

 private:
  std::shared_ptr<Connection> c_;
};

}  // namespace
}  // namespace pg::pie::v02

namespace pg::pie {

Session::Ptr make_session_v02(boost::asio::any_io_executor ex, SessionOptions opts) {
  return std::make_shared<v02::SessionV02>(std::make_shared<v02::Connection>(std::move(ex), std::move(opts)));
}

}  // namespace pg::pie
