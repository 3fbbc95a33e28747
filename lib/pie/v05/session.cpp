// Pie 0.5-line client session: the factory, and the frames it sends. The session's life
// (transport, requests, ending) is the shared core (pie/common/connection_core.*).
#include <utility>

#include "pie/common/session_handle.hpp"
#include "pie/v05/codec.hpp"
#include "pie/v05/connection.hpp"

namespace pg::pie::v05 {

Connection::Connection(boost::asio::any_io_executor ex, SessionOptions opts)
    : ConnectionCore(std::move(ex), std::move(opts), kMaxFrameBytes, kMaxFileBytesPerProcess) {}

// Every message goes through the send-size check (pie/common/send_limit.cpp).
void Connection::send(const ClientMessage& m) { send_bounded(encode(m), 0, "outgoing"); }

std::vector<std::pair<std::string, std::string>> Connection::upgrade_headers() const {
  return {{"x-pie-identity", opts_.identity}};
}

}  // namespace pg::pie::v05

namespace pg::pie {

Session::Ptr make_session_v05(boost::asio::any_io_executor ex, SessionOptions opts) {
  return std::make_shared<SessionHandle<v05::Connection>>(std::make_shared<v05::Connection>(std::move(ex), std::move(opts)));
}

Session::Ptr make_session(boost::asio::any_io_executor ex, SessionOptions opts) {
  if (opts.protocol == Protocol::V05) return make_session_v05(std::move(ex), std::move(opts));
  return make_session_v02(std::move(ex), std::move(opts));
}

}  // namespace pg::pie
