// The connection behind a Pie v0.2 Session handle (private to lib/pie/v02).
// session.cpp holds the transport (connect, WebSocket, read loop, write queue, close);
// requests.cpp the protocol (auth reply, requests and replies, routing of frames).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pie/session.hpp"
#include "pie/v02/instance_router.hpp"
#include "pie/v02/messages.hpp"
#include "pie/v02/request_table.hpp"
#include "pie/v02/session.hpp"

namespace pg::pie::v02 {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::any_io_executor ex, SessionOptions opts);

  void start(Session::Done done);
  void close() { finish("closed by client", /*by_client=*/true); }
  void abandon();
  bool is_open() const { return state_ == State::Open; }
  void on_closed(std::function<void(std::string)> cb) { on_closed_ = std::move(cb); }

  void launch(LaunchRequest req, InstanceSink sink, Session::Done done);
  void attach(std::string instance_id, InstanceSink sink, Session::Done done);
  void terminate(std::string instance_id, Session::Done done);
  void signal(std::string instance_id, std::string message);
  void ping(Session::Done done);
  void query(std::string subject, std::string record, Session::Done done);
  void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                     Session::Done done);
  void upload_blob(std::string instance_id, std::string bytes, Session::Done done);
  void upload_program(std::string program_hash, std::string manifest, std::shared_ptr<const std::string> bytes,
                      Session::Done done);

  std::size_t pending_requests() const { return requests_.size(); }
  std::size_t attached_instances() const { return router_.size(); }

 private:
  enum class State { Idle, Connecting, Authenticating, Open, Closed };

  // start: resolve -> connect -> handshake -> authenticate
  void on_resolve(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type results);
  void on_connect(boost::beast::error_code ec, boost::asio::ip::tcp::resolver::results_type::endpoint_type ep);
  void on_handshake(boost::beast::error_code ec);
  void fail_start(std::string why);

  // authentication (auth.cpp)
  void begin_auth();
  void on_auth_reply(Result<std::string> r);
  void answer_challenge(const std::string& challenge_b64);
  void on_signature_reply(Result<std::string> r);
  void open_session(const std::string& reply);

  // program uploads, one at a time (program_upload.cpp)
  struct ProgramUpload {
    std::string hash;
    std::string manifest;
    std::shared_ptr<const std::string> bytes;
    Session::Done done;
  };
  void send_program(ProgramUpload u);
  void on_program_done();

  // reading
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_frame(std::string_view bytes);
  void on_reply(std::uint32_t corr_id, const char* type, bool successful, std::string text);

  // writing: one async_write in flight, the rest queued in order
  void send(const ClientMessage& m);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);

  // requests
  bool check_open(Session::Done& done);
  std::uint32_t expect_reply(PendingRequest p, std::chrono::milliseconds timeout);
  void on_timeout(std::uint32_t corr_id, std::chrono::milliseconds timeout);
  void terminate_orphan(const std::string& instance_id);

  // ending
  void finish(std::string reason, bool by_client);
  void shutdown_io();
  void do_close();
  void on_close(boost::beast::error_code ec);
  std::string describe(boost::beast::error_code ec) const;

  boost::asio::any_io_executor ex_;
  SessionOptions opts_;
  std::string name_;  // for logs
  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::asio::steady_timer close_timer_;  // bounds the close handshake
  boost::beast::flat_buffer rbuf_;
  std::deque<std::string> wq_;
  bool writing_ = false;
  bool upgraded_ = false;       // the WebSocket handshake completed
  bool close_deferred_ = false;  // close after the write in flight
  bool close_started_ = false;
  State state_ = State::Idle;
  std::string close_reason_;
  Session::Done start_done_;
  std::function<void(std::string)> on_closed_;
  RequestTable requests_;
  InstanceRouter router_;
  std::deque<ProgramUpload> program_queue_;  // waiting for the upload in flight
  bool program_in_flight_ = false;
};

}  // namespace pg::pie::v02
