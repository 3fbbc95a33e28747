// What a Pie session is on either line, below its protocol: the life of one connection (start
// over the shared WebSocket transport, authenticate, open, end), the requests waiting for their
// corr_id replies (each with a deadline), the instances attached to it, and program uploads one
// at a time. Each line (v02/, v05/) derives from it and adds its messages; the Session handle
// callers hold is SessionHandle<Line> (session_handle.hpp). One executor, no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "pie/common/instance_router.hpp"
#include "pie/common/request_table.hpp"
#include "pie/session.hpp"
#include "pie/transport/ws_client.hpp"

namespace pg::pie {

class ConnectionCore : public std::enable_shared_from_this<ConnectionCore> {
 public:
  ConnectionCore(boost::asio::any_io_executor ex, SessionOptions opts, std::size_t max_frame_bytes,
                 std::size_t max_blob_bytes);
  virtual ~ConnectionCore() = default;

  void start(Session::Done done);
  void close() { finish("closed by client", /*by_client=*/true); }
  /// The handle is gone: end without calling anything back.
  void abandon();
  bool is_open() const { return state_ == State::Open; }
  void on_closed(std::function<void(std::string)> cb) { on_closed_ = std::move(cb); }
  void upload_program(std::string program_hash, std::string manifest, std::shared_ptr<const std::string> bytes,
                      Session::Done done);
  std::size_t pending_requests() const { return requests_.size(); }
  std::size_t attached_instances() const { return router_.size(); }
  std::chrono::steady_clock::time_point last_received() const { return last_received_; }

 protected:
  enum class State { Idle, Connecting, Authenticating, Open, Closed };
  struct ProgramUpload {
    std::string hash;
    std::string manifest;
    std::shared_ptr<const std::string> bytes;
    Session::Done done;
  };

  // ---- what a line provides ----
  /// The first messages after the upgrade; ends in open_session() or fail_start().
  virtual void begin_auth() = 0;
  virtual void handle_binary(std::string_view frame) = 0;
  virtual void handle_text(std::string_view frame);  // default: ignored
  /// The transport ended an open or starting connection.
  virtual void on_transport_lost(std::string why) { finish(std::move(why), /*by_client=*/false); }
  /// Send one program's chunks under one corr_id; call on_program_done() when it is answered.
  virtual void send_program(ProgramUpload u) = 0;
  /// Extra headers for the upgrade request.
  virtual std::vector<std::pair<std::string, std::string>> upgrade_headers() const { return {}; }

  // ---- what the core gives a line ----
  void send_frame(std::string bytes);
  /// send_frame() unless `frame` is over opts_.max_message_bytes (send_limit.cpp): then nothing is
  /// written and request `corr_id` (0: none) fails with kMessageTooLarge; returns whether it was sent.
  bool send_bounded(std::string frame, std::uint32_t corr_id, std::string_view what);
  void fail_start(std::string why);
  void open_session(const std::string& reply);
  /// Fails `done` (posted) unless the session is open.
  bool check_open(Session::Done& done);
  std::uint32_t expect_reply(PendingRequest p, std::chrono::milliseconds timeout);
  /// A reply arrived: the request it answers, or nullopt (unknown, answered, or timed out).
  std::optional<PendingRequest> take_reply(std::uint32_t corr_id);
  /// The request timed out (the line may remember it, e.g. a launch whose late reply it must undo).
  virtual void on_request_timed_out(std::uint32_t corr_id, const PendingRequest& p) { (void)corr_id, (void)p; }
  void on_program_done();
  void finish(std::string reason, bool by_client);

  boost::asio::any_io_executor ex_;
  SessionOptions opts_;
  std::string name_;  // for logs
  State state_ = State::Idle;
  std::string close_reason_;
  RequestTable requests_;
  InstanceRouter router_;

 private:
  void on_upgraded();
  void on_timeout(std::uint32_t corr_id, std::chrono::milliseconds timeout);

  std::size_t max_frame_bytes_;
  transport::WsClient::Ptr ws_;  // from start() on
  Session::Done start_done_;
  std::function<void(std::string)> on_closed_;
  std::deque<ProgramUpload> program_queue_;  // waiting for the upload in flight
  bool program_in_flight_ = false;
  std::chrono::steady_clock::time_point last_received_ = std::chrono::steady_clock::now();
};

}  // namespace pg::pie
