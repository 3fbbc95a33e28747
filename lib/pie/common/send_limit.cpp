// The send-size check of both lines: a message over the server's incoming frame limit makes the
// server drop the whole WebSocket, and with it every instance of the session. Such a message is
// never written; the request it carries fails with kMessageTooLarge, its caller's own fault.
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "pie/common/connection_core.hpp"

namespace pg::pie {

bool ConnectionCore::send_bounded(std::string frame, std::uint32_t corr_id, std::string_view what) {
  if (frame.size() <= opts_.max_message_bytes) {
    send_frame(std::move(frame));
    return true;
  }
  std::string why = std::string(kMessageTooLarge) + ": the " + std::string(what) + " message is " +
                    std::to_string(frame.size()) + " bytes, over the server's max_message_bytes of " +
                    std::to_string(opts_.max_message_bytes) + "; nothing was sent";
  spdlog::warn("{}: {}", name_, why);
  auto p = corr_id ? take_reply(corr_id) : std::nullopt;
  if (p && p->done) boost::asio::post(ex_, [done = std::move(p->done), why = std::move(why)] { done(make_error(why)); });
  return false;
}

}  // namespace pg::pie
