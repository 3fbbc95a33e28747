// One WebSocket connection = one Pie session. The Beast code lives in session.cpp only.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

namespace pie_sim {

struct World;

/// Serves an accepted connection until it closes; the session registers itself in `world`.
void start_session(boost::asio::ip::tcp::socket socket, const std::shared_ptr<World>& world);

}  // namespace pie_sim
