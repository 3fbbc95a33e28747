// The soak's HTTP calls (TARP through the gateway), as Asio coroutines on one io_context. Every
// step has the call's deadline; keep-alive connections are pooled (bounded) and reused.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>  // before boost/asio/awaitable.hpp (1.74 uses std::exchange without it)
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "tally.hpp"

namespace pg::soak {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

/// One keep-alive connection and its read buffer.
struct Conn {
  explicit Conn(net::io_context& ioc) : stream(ioc) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buf;
  bool reused = false;
  Clock::time_point idle_since{};  // when it went back to the pool
};

struct HttpCtx {
  net::io_context& ioc;
  tcp::endpoint ep;
  std::string host;  // the Host header
  Tally& tally;
  Clock::duration timeout;
  std::size_t max_idle = 64;             // pooled idle connections at most
  std::vector<std::unique_ptr<Conn>> idle;
};

/// A call of one class: returns its outcome label (an HTTP status, or a Tally label).
using HttpCall = net::awaitable<std::string> (*)(HttpCtx&, std::uint64_t n);

net::awaitable<std::string> sync_echo(HttpCtx&, std::uint64_t n);      // GET /echo
net::awaitable<std::string> sync_complete(HttpCtx&, std::uint64_t n);  // GET /complete (tokens)
net::awaitable<std::string> rpc_echo(HttpCtx&, std::uint64_t n);       // POST /echo_rpc (pickles)
net::awaitable<std::string> async_poll(HttpCtx&, std::uint64_t n);     // submit, asyncProbe.., asyncGet
net::awaitable<std::string> async_watch(HttpCtx&, std::uint64_t n);    // submit, SSE gateway/jobs/ID/events
net::awaitable<std::string> sse_call(HttpCtx&, std::uint64_t n);       // SSE call stream; every 4th vanishes
net::awaitable<std::string> conversation(HttpCtx&, std::uint64_t n);   // chat open, 3 sends, close; every 4th vanishes
net::awaitable<std::string> vanish(HttpCtx&, std::uint64_t n);         // a client closing mid-call or mid-request
net::awaitable<std::string> bad_request(HttpCtx&, std::uint64_t n);    // requests the gateway must refuse (4xx)

/// Closes the pooled connections.
void close_idle(HttpCtx&);

}  // namespace pg::soak
