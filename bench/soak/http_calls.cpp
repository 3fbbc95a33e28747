#include "http_calls.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace pg::soak {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Request = http::request<http::string_body>;
using Parser = http::response_parser<http::string_body>;
using nlohmann::json;

constexpr std::size_t kBodyLimit = 4 << 20;  // an answer or a whole SSE stream
// A pooled connection idle this long may have been closed by the gateway's idle timeout (60 s by
// default, perhaps less): an end without any answer on it is retried once on a new connection.
// A connection used more recently that ends without an answer counts as "closed".
constexpr auto kMayBeStale = std::chrono::seconds(25);

// TARP RPC arguments: pickle protocol 2 of ("soak",) and of {}; and one that names os.system.
constexpr const char* kArgsSoak = "gAJYBAAAAHNvYWuFLg==";
constexpr const char* kNoKwargs = "gAJ9Lg==";
constexpr const char* kArgsGlobal = "gAJjb3MKc3lzdGVtClgCAAAAaWSFUi4=";

struct Reply {
  std::string outcome;  // "200", "503", ... or kUnanswered / kClosed
  unsigned status = 0;  // 0 when not answered
  std::string body;
  std::string detail;  // why there is no answer
  bool ok() const { return status == 200; }
};

auto with(beast::error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

Clock::time_point deadline_of(const HttpCtx& c) { return Clock::now() + c.timeout; }

Request make(const HttpCtx& c, http::verb verb, std::string target, std::string body = {},
             const char* type = "application/json") {
  Request r{verb, target, 11};
  r.set(http::field::host, c.host);
  r.set(http::field::user_agent, "pg-soak");
  if (!body.empty()) r.set(http::field::content_type, type);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Request sse(Request r) {
  r.set(http::field::accept, "text/event-stream");
  return r;
}

Reply no_answer(const beast::error_code& ec, const char* step) {
  Reply r;
  r.outcome = ec == beast::error::timeout ? kUnanswered : kClosed;
  r.detail = std::string(step) + ": " + ec.message();
  return r;
}

Reply answered(const Parser& p) {
  Reply r;
  r.status = p.get().result_int();
  r.outcome = std::to_string(r.status);
  r.body = p.get().body();
  return r;
}

/// A field of a TARP success envelope's result (or of the top-level object); "" if absent.
std::string field(const std::string& body, const char* key) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return {};
  const auto& r = j.contains("result") && j["result"].is_object() ? j["result"] : j;
  return r.contains(key) && r[key].is_string() ? r[key].get<std::string>() : std::string{};
}

std::string bad(HttpCtx& c, const char* what, const Reply& r) {
  c.tally.note(what, "unexpected answer " + r.outcome + ": " + r.body.substr(0, 200));
  return kBad;
}

net::awaitable<std::unique_ptr<Conn>> connect(HttpCtx& c, Clock::time_point deadline, beast::error_code& ec) {
  auto conn = std::make_unique<Conn>(c.ioc);
  conn->stream.expires_at(deadline);
  co_await conn->stream.async_connect(c.ep, with(ec));
  if (!ec) conn->stream.socket().set_option(tcp::no_delay(true), ec);
  co_return conn;
}

/// One request and its whole response on `conn`. `stale`: a connection idle in the pool for
/// kMayBeStale that ended before any byte of an answer (the server closed it while idle).
net::awaitable<Reply> exchange(Conn& conn, const Request& req, Clock::time_point deadline, bool& stale, bool& keep) {
  beast::error_code ec;
  conn.stream.expires_at(deadline);
  co_await http::async_write(conn.stream, req, with(ec));
  Parser p;
  p.body_limit(kBodyLimit);
  if (!ec) co_await http::async_read(conn.stream, conn.buf, p, with(ec));
  if (ec) {
    stale = conn.reused && Clock::now() - conn.idle_since >= kMayBeStale && !p.got_some() &&
            ec != beast::error::timeout;
    co_return no_answer(ec, "request");
  }
  keep = p.get().keep_alive();
  co_return answered(p);
}

/// A request on a pooled (or new) connection, with its deadline; the connection goes back to the
/// pool when the answer keeps it alive.
net::awaitable<Reply> call(HttpCtx& c, const Request& req, Clock::time_point deadline) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> conn;
    if (attempt == 0 && !c.idle.empty()) {
      conn = std::move(c.idle.back());
      c.idle.pop_back();
    } else {
      beast::error_code ec;
      conn = co_await connect(c, deadline, ec);
      if (ec) {
        auto r = no_answer(ec, "connect");
        c.tally.note(std::string(req.target()), r.detail);
        co_return r;
      }
    }
    bool stale = false, keep = false;
    auto r = co_await exchange(*conn, req, deadline, stale, keep);
    if (r.status) {
      if (keep && c.idle.size() < c.max_idle) {
        conn->reused = true;
        conn->idle_since = Clock::now();
        conn->stream.expires_never();
        c.idle.push_back(std::move(conn));
      }
      co_return r;
    }
    if (!stale || attempt == 1) {
      c.tally.note(std::string(req.target()), r.outcome + " (" + r.detail + ")");
      co_return r;
    }
    c.tally.add("keepalive", "stale-retry");
  }
  co_return Reply{kClosed, 0, {}, "unreachable"};
}

/// The outcome of a complete SSE body: its last event is `result` ("200") or `error` (the status
/// the plain call would have answered); anything else is bad.
std::string sse_outcome(HttpCtx& c, const char* what, const Reply& r) {
  if (!r.ok()) return r.outcome;  // refused before the stream started: a JSON error
  const auto& b = r.body;
  if (b.rfind("event: result\n") != std::string::npos) return "200";
  const auto e = b.rfind("event: error\ndata: ");
  if (e == std::string::npos) return bad(c, what, r);
  const auto start = e + 19;
  auto d = json::parse(b.substr(start, b.find('\n', start) - start), nullptr, false);
  if (!d.is_object() || !d.contains("http_status") || !d["http_status"].is_number()) return bad(c, what, r);
  return std::to_string(d["http_status"].get<int>());
}

// Bodies are built outside the coroutines: GCC 12 rejects braced lists of string literals in them.
std::string rpc_body(const char* args) { return json{{"args", args}, {"kwargs", kNoKwargs}}.dump(); }
std::string chat_body(const std::string& session, const std::string& message) {
  json j{{"session", session}};
  if (!message.empty()) j["message"] = message;
  return j.dump();
}

net::awaitable<void> pause(HttpCtx& c, std::chrono::milliseconds ms) {
  net::steady_timer t(c.ioc, ms);
  beast::error_code ec;
  co_await t.async_wait(with(ec));
}

/// Submits an async sleep; its job id, or "" with `out` set to the submit's outcome.
net::awaitable<std::string> submit(HttpCtx& c, Clock::time_point deadline, std::string& out) {
  const auto req = make(c, http::verb::get, "/sleep_async?ms=100");
  auto r = co_await call(c, req, deadline);
  out = r.outcome;
  if (!r.ok()) co_return std::string{};
  auto id = field(r.body, "ID");
  if (id.empty()) out = bad(c, "async submit", r);
  co_return id;
}

// A client that goes away mid-stream: the call stream is read until its first token, then closed.
net::awaitable<std::string> sse_vanish(HttpCtx& c, const Request& req, Clock::time_point deadline) {
  beast::error_code ec;
  auto conn = co_await connect(c, deadline, ec);
  if (!ec) co_await http::async_write(conn->stream, req, with(ec));
  Parser p;
  p.body_limit(kBodyLimit);
  if (!ec) co_await http::async_read_header(conn->stream, conn->buf, p, with(ec));
  while (!ec && !p.is_done() && p.get().body().find("event: stdout") == std::string::npos)
    co_await http::async_read_some(conn->stream, conn->buf, p, with(ec));
  if (ec) {
    auto r = no_answer(ec, "sse vanish");
    c.tally.note("sse vanish", r.detail);
    co_return r.outcome;
  }
  if (p.is_done()) co_return sse_outcome(c, "sse", answered(p));
  conn->stream.socket().close(ec);
  co_return kVanished;
}

}  // namespace

net::awaitable<std::string> sync_echo(HttpCtx& c, std::uint64_t n) {
  const auto text = "soak" + std::to_string(n);
  const auto req = make(c, http::verb::get, "/echo?text=" + text);
  auto r = co_await call(c, req, deadline_of(c));
  if (r.ok() && r.body.find(text) == std::string::npos) co_return bad(c, "echo", r);
  co_return r.outcome;
}

net::awaitable<std::string> sync_complete(HttpCtx& c, std::uint64_t n) {
  const auto req = make(c, http::verb::get, "/complete?prompt=p" + std::to_string(n));
  auto r = co_await call(c, req, deadline_of(c));
  co_return r.outcome;
}

net::awaitable<std::string> rpc_echo(HttpCtx& c, std::uint64_t) {
  const auto req = make(c, http::verb::post, "/echo_rpc", rpc_body(kArgsSoak));
  auto r = co_await call(c, req, deadline_of(c));
  if (r.ok() && field(r.body, "payload").empty()) co_return bad(c, "rpc", r);
  co_return r.outcome;
}

net::awaitable<std::string> async_poll(HttpCtx& c, std::uint64_t) {
  const auto deadline = deadline_of(c);
  std::string out;
  const auto id = co_await submit(c, deadline, out);
  if (id.empty()) co_return out;
  // Poll every 100 ms until it ends; the deadline bounds the loop.
  for (;;) {
    co_await pause(c, std::chrono::milliseconds(100));
    if (Clock::now() >= deadline) {
      c.tally.note("async", "job " + id + " still in progress at the deadline");
      co_return kUnanswered;
    }
    const auto probe = make(c, http::verb::get, "/asyncProbe?UUID=" + id);
    auto p = co_await call(c, probe, deadline);
    if (!p.ok()) co_return p.outcome;
    const auto status = field(p.body, "status");
    if (status == "in_progress") continue;
    if (status != "completed" && status != "failed") co_return bad(c, "asyncProbe", p);
    break;
  }
  const auto fetch = make(c, http::verb::get, "/asyncGet?UUID=" + id + "&format=json");
  auto f = co_await call(c, fetch, deadline);
  co_return f.outcome;
}

net::awaitable<std::string> async_watch(HttpCtx& c, std::uint64_t) {
  const auto deadline = deadline_of(c);
  std::string out;
  const auto id = co_await submit(c, deadline, out);
  if (id.empty()) co_return out;
  const auto req = sse(make(c, http::verb::get, "/gateway/jobs/" + id + "/events"));
  auto r = co_await call(c, req, deadline);
  co_return sse_outcome(c, "async watch", r);
}

net::awaitable<std::string> sse_call(HttpCtx& c, std::uint64_t n) {
  const auto req = sse(make(c, http::verb::get, "/complete?prompt=s" + std::to_string(n)));
  if (n % 4 == 3) co_return co_await sse_vanish(c, req, deadline_of(c));
  auto r = co_await call(c, req, deadline_of(c));
  co_return sse_outcome(c, "sse", r);
}

net::awaitable<std::string> conversation(HttpCtx& c, std::uint64_t n) {
  const auto deadline = deadline_of(c);
  const auto open = make(c, http::verb::post, "/chat/open", "{}");
  auto o = co_await call(c, open, deadline);
  if (!o.ok()) co_return o.outcome;
  const auto session = field(o.body, "session");
  if (session.empty()) co_return bad(c, "chat open", o);
  const bool vanishes = n % 4 == 3;  // leaves it open: the idle timeout must close it
  std::string out = "200";
  for (int i = 0; i < (vanishes ? 1 : 3) && out == "200"; ++i) {
    const auto msg = "m" + std::to_string(i);
    const auto send = make(c, http::verb::post, "/chat/send", chat_body(session, msg));
    auto s = co_await call(c, send, deadline);
    out = s.outcome;
    if (s.ok() && field(s.body, "reply").find("echo: ") != 0) out = bad(c, "chat send", s);
  }
  if (vanishes && out == "200") co_return kVanished;
  const auto close = make(c, http::verb::post, "/chat/close", chat_body(session, ""));
  auto cl = co_await call(c, close, deadline);
  co_return out == "200" ? cl.outcome : out;
}

net::awaitable<std::string> vanish(HttpCtx& c, std::uint64_t n) {
  const auto deadline = deadline_of(c);
  std::string bytes;
  std::chrono::milliseconds after(10);
  switch (n % 3) {
    case 0:  // a sync call whose caller goes away while it runs (its instance must be terminated)
      bytes = "GET /sleep?ms=300 HTTP/1.1\r\nHost: " + c.host + "\r\n\r\n";
      after = std::chrono::milliseconds(30);
      break;
    case 1:  // half a request head
      bytes = "GET /echo?text=x HTTP/1.1\r\nHost: " + c.host + "\r\nX-Soak: ";
      break;
    default:  // a head promising a body that never comes
      bytes = "POST /echo_rpc HTTP/1.1\r\nHost: " + c.host +
              "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"args\": \"";
  }
  beast::error_code ec;
  auto conn = co_await connect(c, deadline, ec);
  if (!ec) co_await net::async_write(conn->stream, net::buffer(bytes), with(ec));
  if (ec) {
    auto r = no_answer(ec, "vanish");
    c.tally.note("vanish", r.detail);
    co_return r.outcome;
  }
  co_await pause(c, after);
  conn->stream.socket().close(ec);
  co_return kVanished;
}

net::awaitable<std::string> bad_request(HttpCtx& c, std::uint64_t n) {
  Request req;
  switch (n % 5) {
    case 0: req = make(c, http::verb::get, "/echo"); break;  // a missing parameter: 400
    case 1: req = make(c, http::verb::get, "/no_such_endpoint"); break;  // 404
    case 2: req = make(c, http::verb::delete_, "/echo?text=x"); break;   // 405
    case 3:  // a pickle that names os.system: 400
      req = make(c, http::verb::post, "/echo_rpc", rpc_body(kArgsGlobal));
      break;
    default: req = make(c, http::verb::get, "/asyncProbe?UUID=00000000-0000-4000-8000-000000000000");  // 404
  }
  auto r = co_await call(c, req, deadline_of(c));
  co_return r.outcome;
}

void close_idle(HttpCtx& c) {
  for (auto& conn : c.idle) {
    beast::error_code ec;
    conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    conn->stream.close();
  }
  c.idle.clear();
}

}  // namespace pg::soak
