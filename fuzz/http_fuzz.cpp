// The HTTP connection (lib/http/connection.cpp) as a client drives it: the input is the byte
// stream a client sends on one connection (any number of pipelined requests), then the client
// half-closes and reads every answer until the server closes. The connection is the real one
// (Beast's request parser with the gateway's limits, keep-alive, error answers, streamed
// bodies), on one end of a socket pair, so no port is opened. Its handler is the router's entry
// as far as it needs no job or cluster: path decoding, query parsing, request id, Last-Event-ID,
// event-stream requests and body parameters, each answered as TARP does. PG_FUZZ_LOG=1 turns
// the connection's debug log on (stderr).
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "frontdoor/sse_request.hpp"
#include "http/server_impl.hpp"
#include "obs/logging.hpp"
#include "tarp/body.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"

namespace {

namespace asio = boost::asio;
using namespace pg;

class Router final : public http::Handler {
 public:
  void handle(http::Request req, http::Responder respond) override {
    std::string path = tarp::decode_path(req.path);
    auto params = tarp::parse_query(req.query);
    auto id = obs::request_id_or_new(req.header("X-Request-Id"));
    auto last = frontdoor::last_event_id(req, true);
    if (!last) return respond(tarp::error(400, "BadRequest", last.error()));
    if (frontdoor::wants_event_stream(req)) {
      http::Response r;
      r.content_type = "text/event-stream";
      r.headers.emplace_back("X-Request-Id", id);
      r.stream = [path, n = params.size()](std::shared_ptr<http::Stream> s) {
        s->write("event: path\ndata: " + std::to_string(path.size()) + "\n\n");
        s->write("data: " + std::to_string(n) + "\n\n");
        s->end();
      };
      return respond(std::move(r));
    }
    if (!req.body.empty()) {
      auto body = tarp::body_params(req.header("Content-Type"), req.body);
      if (!body) return respond(tarp::error(400, "BadRequest", body.error()));
    }
    auto r = tarp::success_text(path);
    r.headers.emplace_back("X-Request-Id", id);
    respond(std::move(r));
  }
  http::Response transport_error(int status, std::string_view type, std::string_view message) override {
    return tarp::error(status, type, message);
  }
};

struct Fixture {
  Fixture() {
    signal(SIGPIPE, SIG_IGN);
    spdlog::set_level(std::getenv("PG_FUZZ_LOG") ? spdlog::level::debug : spdlog::level::off);
    // Small limits (the shipped ones are 16 KiB of head, 1 MiB of body), so that inputs of a few
    // KiB reach the limit checks too.
    config::Limits limits;
    limits.max_header_bytes = 4096;
    limits.max_body_bytes = 8192;
    server = std::make_shared<http::Server::Impl>(io, config::ListenAddress{}, limits, router);
  }
  asio::io_context io;
  Router router;
  std::shared_ptr<http::Server::Impl> server;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture f;
  f.io.restart();
  asio::local::stream_protocol::socket client(f.io), peer(f.io);
  asio::local::connect_pair(client, peer);
  asio::ip::tcp::socket server_side(f.io);
  server_side.assign(asio::ip::tcp::v4(), peer.release());
  http::detail::make_connection(std::move(server_side), f.server)->start();

  const std::string in(reinterpret_cast<const char*>(data), size);
  std::string out;  // what the server answered (up to 1 MiB is kept)
  bool done = false;
  asio::async_write(client, asio::buffer(in), [&](boost::system::error_code, std::size_t) {
    boost::system::error_code ignore;
    client.shutdown(asio::socket_base::shutdown_send, ignore);
  });
  char chunk[16384];
  std::function<void()> read_more = [&] {
    client.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
      if (out.size() < (1u << 20)) out.append(chunk, n);
      if (ec) done = true;
      else read_more();
    });
  };
  read_more();
  // The client has sent everything and half-closed: the server must answer and close. One that
  // keeps the connection open is a finding (shown with what it answered), not a slow input.
  asio::steady_timer deadline(f.io, std::chrono::seconds(5));
  deadline.async_wait([&](boost::system::error_code ec) {
    if (ec || done) return;
    std::fprintf(stderr, "fuzz_http: the connection is still open 5 s after the client's EOF; it answered %zu bytes:\n",
                 out.size());
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::abort();
  });
  while (!done && f.io.run_one()) {
  }
  deadline.cancel();
  f.io.poll();  // the connection's last completions (it is gone once they ran)
  return 0;
}
