// The connection behind a Pie 0.5-line Session handle (private to lib/pie/v05): the 0.5
// messages over the session core both lines share (pie/common/connection_core.hpp).
// requests.cpp holds requests, replies, the routing of process events and files, and the
// edge's text frames; auth.cpp the connect sequence that works on all three servers of the
// line (0.5 edge, 0.5 direct, 0.4.0); session.cpp the factory.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pie/common/connection_core.hpp"
#include "pie/session.hpp"
#include "pie/v05/messages.hpp"

namespace pg::pie::v05 {

/// Bytes of files held per process while they are assembled; larger files are dropped.
inline constexpr std::size_t kMaxFileBytesPerProcess = 64 * 1024 * 1024;

class Connection final : public ConnectionCore {
 public:
  Connection(boost::asio::any_io_executor ex, SessionOptions opts);

  void launch(LaunchRequest req, InstanceSink sink, Session::Done done);
  void attach(std::string process_id, InstanceSink sink, Session::Done done);
  void terminate(std::string process_id, Session::Done done);
  void signal(std::string process_id, std::string message);
  void ping(Session::Done done);
  /// `model_status` goes out as a query; `program_exists` ("ns/name@version#hash", as the
  /// cluster's provisioning asks on either line) as check_program; other subjects are refused
  /// here, since a 0.5 server never answers them.
  void query(std::string subject, std::string record, Session::Done done);
  void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                     Session::Done done);
  /// transfer_file in 256 KiB chunks. Pie sends no reply: `done` runs once the chunks are queued.
  void upload_blob(std::string process_id, std::string bytes, Session::Done done);
  Protocol protocol() const { return Protocol::V05; }

 private:
  // ConnectionCore
  void begin_auth() override;                            // auth.cpp
  void handle_binary(std::string_view frame) override;   // requests.cpp
  void handle_text(std::string_view frame) override;     // requests.cpp
  void on_transport_lost(std::string why) override;      // requests.cpp
  void send_program(ProgramUpload u) override;           // requests.cpp
  void on_request_timed_out(std::uint32_t corr_id, const PendingRequest& p) override;
  std::vector<std::pair<std::string, std::string>> upgrade_headers() const override;

  // authentication (auth.cpp)
  void on_identify_reply(Result<std::string> r);
  void answer_challenge(const std::string& challenge_b64);
  void send_token();
  void on_final_auth_reply(const char* step, Result<std::string> r);

  // replies and routing (requests.cpp)
  void on_reply(Response& m);
  void on_event(ProcessEvent& m);
  void terminate_orphan(const std::string& process_id);
  void send(const ClientMessage& m);
  std::weak_ptr<Connection> weak() { return std::static_pointer_cast<Connection>(shared_from_this()); }

  /// corr_ids of launches that timed out: a late success is terminated at once (bounded).
  std::deque<std::uint32_t> late_launches_;
  /// The last text error the edge sent, until a binary frame follows: when the socket then
  /// closes, it is why (admission refused, a worker lost).
  std::string last_error_text_;
};

}  // namespace pg::pie::v05
