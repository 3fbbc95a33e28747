// The connection behind a Pie v0.2 Session handle (private to lib/pie/v02): the v0.2 messages
// over the session core both lines share (pie/common/connection_core.hpp). requests.cpp holds
// requests, replies and the routing of frames, auth.cpp authentication, program_upload.cpp
// program uploads, session.cpp the factory.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pie/common/connection_core.hpp"
#include "pie/session.hpp"
#include "pie/v02/messages.hpp"
#include "pie/v02/session.hpp"

namespace pg::pie::v02 {

class Connection final : public ConnectionCore {
 public:
  Connection(boost::asio::any_io_executor ex, SessionOptions opts);

  void launch(LaunchRequest req, InstanceSink sink, Session::Done done);
  void attach(std::string instance_id, InstanceSink sink, Session::Done done);
  void terminate(std::string instance_id, Session::Done done);
  void signal(std::string instance_id, std::string message);
  void ping(Session::Done done);
  void query(std::string subject, std::string record, Session::Done done);
  void launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                     Session::Done done);
  void upload_blob(std::string instance_id, std::string bytes, Session::Done done);
  Protocol protocol() const { return Protocol::V02; }

 private:
  // ConnectionCore
  void begin_auth() override;                            // auth.cpp
  void handle_binary(std::string_view frame) override;   // requests.cpp
  void send_program(ProgramUpload u) override;           // program_upload.cpp

  // authentication (auth.cpp)
  void on_auth_reply(Result<std::string> r);
  void answer_challenge(const std::string& challenge_b64);
  void on_signature_reply(Result<std::string> r);

  // replies and routing (requests.cpp)
  void on_reply(std::uint32_t corr_id, const char* type, bool successful, std::string text);
  void on_event(const InstanceEvent& m);
  void terminate_orphan(const std::string& instance_id);
  void send(const ClientMessage& m);
  std::weak_ptr<Connection> weak() { return std::static_pointer_cast<Connection>(shared_from_this()); }
};

}  // namespace pg::pie::v02
