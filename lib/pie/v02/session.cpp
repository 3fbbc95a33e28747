// Pie v0.2 client session: the factory. The session's life (transport, requests, ending) is the
// shared core (pie/common/connection_core.*); the v0.2 protocol is in requests.cpp, auth.cpp and
// program_upload.cpp.
#include <utility>

#include "pie/common/session_handle.hpp"
#include "pie/v02/codec.hpp"
#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

Connection::Connection(boost::asio::any_io_executor ex, SessionOptions opts)
    : ConnectionCore(std::move(ex), std::move(opts), kMaxFrameBytes, kMaxBlobBytesPerInstance) {}

// Every message goes through the send-size check (pie/common/send_limit.cpp).
void Connection::send(const ClientMessage& m) { send_bounded(encode(m), 0, "outgoing"); }

}  // namespace pg::pie::v02

namespace pg::pie {

Session::Ptr make_session_v02(boost::asio::any_io_executor ex, SessionOptions opts) {
  return std::make_shared<SessionHandle<v02::Connection>>(std::make_shared<v02::Connection>(std::move(ex), std::move(opts)));
}

}  // namespace pg::pie
