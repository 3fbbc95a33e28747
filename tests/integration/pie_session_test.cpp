// The Pie v0.2 client session against the real pie-sim binary, plus an in-process scripted
// WebSocket server for behaviour pie-sim cannot produce (garbage frames, late replies,
// challenges). Every wait is bounded: a test that would hang fails instead.
#include <gtest/gtest.h>

#include <utility>  // before Asio with C++20

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hash/blake3.hpp"
#include "pie/session.hpp"
#include "pie/v02/codec.hpp"
#include "support/pie_session_recorder.hpp"
#include "support/process.hpp"
#include "support/scripted_ws_server.hpp"

namespace pg::pie {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using test::Recorder;
using test::Reply;

class PieSessionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    sessions_.clear();
    io_.run_for(50ms);  // let close handshakes and aborted handlers finish
  }

  void start_sim(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {test::binary_path("pie-sim"), "--port", "0"});
    sim_ = std::make_unique<test::Process>(args);
    port_ = static_cast<std::uint16_t>(sim_->wait_for_port(10s));
    ASSERT_NE(port_, 0) << "pie-sim did not start";
  }

  SessionOptions options() {
    SessionOptions o;
    o.port = port_;
    o.connect_timeout = 3000ms;
    o.request_timeout = 5000ms;
    o.auth_timeout = 5000ms;
    return o;
  }

  Session::Ptr make(SessionOptions o) {
    auto s = make_session_v02(io_.get_executor(), std::move(o));
    sessions_.push_back(s);
    return s;
  }

  // Runs the io_context until `pred` holds or `limit` passes.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!pred() && Clock::now() < deadline) {
      io_.run_for(5ms);
      if (io_.stopped()) io_.restart();
    }
    return pred();
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  Session::Ptr open(std::optional<SessionOptions> o = std::nullopt) {
    auto s = make(o ? *o : options());
    Reply r;
    s->start(r.cb());
    EXPECT_TRUE(run_until([&] { return r.ready(); })) << "start did not finish";
    EXPECT_TRUE(r.ok()) << r.text();
    EXPECT_TRUE(s->is_open());
    return s;
  }

  // Launches and waits for the launch reply; returns the instance id ("" on failure).
  std::string launch(const Session::Ptr& s, const std::shared_ptr<Recorder>& rec, std::string inferlet,
                     std::vector<std::string> args = {}) {
    Reply r;
    s->launch(LaunchRequest{std::move(inferlet), std::move(args), false, false}, Recorder::sink(rec), r.cb());
    EXPECT_TRUE(run_until([&] { return r.ready(); }));
    EXPECT_TRUE(r.ok()) << r.text();
    return r.ok() ? r.r->value() : std::string();
  }

  net::io_context io_;
  std::unique_ptr<test::Process> sim_;
  std::uint16_t port_ = 0;
  std::vector<Session::Ptr> sessions_;
};

// ---- authentication ---------------------------------------------------------------------

TEST_F(PieSessionTest, AuthNoneAndPing) {
  start_sim();
  auto s = open();
  Reply pong;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
}

TEST_F(PieSessionTest, AuthToken) {
  start_sim({"--auth", "token", "--token", "s3cret"});
  auto o = options();
  o.auth.kind = AuthConfig::Kind::Token;
  o.auth.token = "s3cret";
  auto s = open(o);
  Reply pong;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
}

TEST_F(PieSessionTest, AuthWrongTokenFailsWithServerText) {
  start_sim({"--auth", "token", "--token", "s3cret", "--bad-token-delay-ms", "50:100"});
  auto o = options();
  o.auth.kind = AuthConfig::Kind::Token;
  o.auth.token = "wrong";
  auto s = make(o);
  bool closed_called = false;
  s->on_closed([&](std::string) { closed_called = true; });
  Reply r;
  const auto t0 = Clock::now();
  s->start(r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.text().find("authentication failed: "), std::string::npos) << r.text();
  EXPECT_GE(Clock::now() - t0, 40ms);  // the server's damping delay was waited for
  EXPECT_FALSE(s->is_open());
  Reply ping;
  s->ping(ping.cb());
  ASSERT_TRUE(run_until([&] { return ping.ready(); }));
  EXPECT_FALSE(ping.ok());
  run_for(50ms);
  EXPECT_FALSE(closed_called);  // never established
}

TEST_F(PieSessionTest, ConnectRefused) {
  start_sim();
  const auto port = port_;
  sim_.reset();  // nothing listens there any more
  auto o = options();
  o.port = port;
  auto s = make(o);
  Reply r;
  s->start(r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.text().find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos) << r.text();
}

// ---- instances ----------------------------------------------------------------------------

TEST_F(PieSessionTest, LaunchEchoStdoutThenCompleted) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "std/echo", {"hello", "world"});
  EXPECT_EQ(id.size(), 36u) << id;  // a UUID
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->log, (std::vector<std::string>{"out:hello world", "end:Completed"}));
  EXPECT_EQ(rec->end_message, "hello world");
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_EQ(s->pending_requests(), 0u);
}

TEST_F(PieSessionTest, TextCompletionChunksInOrderBeforeCompleted) {
  start_sim({"--token-delay-ms", "2"});
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "text-completion", {"--prompt", "tell me", "--max-tokens", "12"});
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->end, InstanceEnd::Completed);
  ASSERT_EQ(rec->out_chunks.size(), 12u);
  EXPECT_EQ(rec->out, rec->end_message);  // the chunks, in order, are the return value
  EXPECT_EQ(rec->log.back(), "end:Completed");
  EXPECT_EQ(rec->ends, 1);
}

TEST_F(PieSessionTest, FailGivesStderrThenException) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "std/fail");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  ASSERT_EQ(rec->log.size(), 2u);
  EXPECT_EQ(rec->log[0].rfind("err:", 0), 0u);
  EXPECT_EQ(rec->log[1], "end:Exception");
  EXPECT_EQ(rec->end_message, "simulated failure");
}

TEST_F(PieSessionTest, UnknownProgramFailsLaunch) {
  start_sim();
  auto s = open();
  Reply r;
  auto rec = std::make_shared<Recorder>();
  s->launch(LaunchRequest{"nope/nothing@9.9.9", {}, false, false}, Recorder::sink(rec), r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.text().find("not found"), std::string::npos) << r.text();
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_EQ(rec->ends, 0);
}

TEST_F(PieSessionTest, TerminateGivesAborted) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "std/sleep", {"--ms", "60000"});
  EXPECT_EQ(s->attached_instances(), 1u);
  Reply t;
  s->terminate(id, t.cb());
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_TRUE(t.ok()) << t.text();
  EXPECT_EQ(rec->end, InstanceEnd::Aborted);
  EXPECT_EQ(s->attached_instances(), 0u);
}

TEST_F(PieSessionTest, ChatSignalsGiveMessages) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "std/chat");
  s->signal(id, "hi");
  s->signal(id, "there");
  ASSERT_TRUE(run_until([&] { return rec->messages.size() == 2; }));
  EXPECT_EQ(rec->messages, (std::vector<std::string>{"echo: hi", "echo: there"}));
  s->signal(id, "bye");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->end, InstanceEnd::Completed);
}

TEST_F(PieSessionTest, BlobEchoRoundTrip) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "std/blob-echo");
  std::string blob(600 * 1024 + 17, '\0');  // three upload chunks
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 131) ^ (i >> 7));
  Reply up;
  s->upload_blob(id, blob, up.cb());
  ASSERT_TRUE(run_until([&] { return rec->end.has_value() && up.ready(); }));
  EXPECT_TRUE(up.ok()) << up.text();
  ASSERT_EQ(rec->blobs.size(), 1u);
  EXPECT_EQ(rec->blobs[0].first, hash::blake3_hex(blob));
  EXPECT_TRUE(rec->blobs[0].second == blob);
  EXPECT_EQ(rec->end, InstanceEnd::Completed);
  EXPECT_EQ(rec->end_message, std::to_string(blob.size()) + " bytes");
}

TEST_F(PieSessionTest, ManyConcurrentLaunchesOnOneSession) {
  start_sim();
  auto s = open();
  constexpr int kCount = 200;
  std::vector<std::shared_ptr<Recorder>> recs;
  std::vector<Reply> replies(kCount);
  for (int i = 0; i < kCount; ++i) {
    recs.push_back(std::make_shared<Recorder>());
    s->launch(LaunchRequest{"std/echo", {"n" + std::to_string(i)}, false, false}, Recorder::sink(recs.back()),
              replies[i].cb());
  }
  EXPECT_EQ(s->pending_requests(), static_cast<std::size_t>(kCount));
  ASSERT_TRUE(run_until(
      [&] {
        for (auto& r : recs)
          if (!r->end) return false;
        return true;
      },
      30s));
  for (int i = 0; i < kCount; ++i) {
    EXPECT_TRUE(replies[i].ok()) << replies[i].text();
    EXPECT_EQ(recs[i]->end, InstanceEnd::Completed);
    EXPECT_EQ(recs[i]->out, "n" + std::to_string(i));
  }
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
}

// ---- faults -----------------------------------------------------------------------------

TEST_F(PieSessionTest, StalledServerTimesOutRequest) {
  start_sim({"--stall-after", "2"});  // answers auth and one ping, then nothing
  auto o = options();
  o.request_timeout = 300ms;
  auto s = open(o);
  Reply first, second;
  s->ping(first.cb());
  ASSERT_TRUE(run_until([&] { return first.ready(); }));
  EXPECT_EQ(first.text(), "Pong");
  const auto t0 = Clock::now();
  s->ping(second.cb());
  EXPECT_EQ(s->pending_requests(), 1u);
  ASSERT_TRUE(run_until([&] { return second.ready(); }, 5s));
  EXPECT_GE(Clock::now() - t0, 250ms);
  EXPECT_EQ(second.text(), "error: timed out after 300 ms waiting for response");
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_TRUE(s->is_open());  // a timeout does not end the session
}

TEST_F(PieSessionTest, ConnectionDropFailsPendingAndLosesInstances) {
  start_sim({"--drop-after", "3"});  // auth reply, launch result, one pong: then the server hangs up
  auto s = open();
  int closed_calls = 0;
  std::string closed_reason;
  s->on_closed([&](std::string reason) {
    ++closed_calls;
    closed_reason = reason;
  });
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "std/sleep", {"--ms", "60000"});
  Reply p1, p2;
  s->ping(p1.cb());
  s->ping(p2.cb());
  ASSERT_TRUE(run_until([&] { return p2.ready() && rec->end.has_value() && closed_calls > 0; }));
  EXPECT_EQ(p1.text(), "Pong");
  EXPECT_FALSE(p2.ok());
  EXPECT_EQ(p2.text().rfind("error: session closed: ", 0), 0u) << p2.text();
  EXPECT_EQ(rec->end, InstanceEnd::SessionLost);
  EXPECT_EQ(rec->ends, 1);
  EXPECT_FALSE(closed_reason.empty());
  EXPECT_FALSE(s->is_open());
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
  run_for(50ms);
  EXPECT_EQ(closed_calls, 1);
  // Requests after the loss fail promptly.
  Reply late;
  s->ping(late.cb());
  ASSERT_TRUE(run_until([&] { return late.ready(); }, 1s));
  EXPECT_FALSE(late.ok());
}

TEST_F(PieSessionTest, AttachFromAnotherSessionAfterClose) {
  start_sim({"--token-delay-ms", "20"});
  auto a = open();
  auto rec_a = std::make_shared<Recorder>();
  int a_closed = 0;
  a->on_closed([&](std::string) { ++a_closed; });
  auto id = launch(a, rec_a, "text-completion", {"--prompt", "reattach", "--max-tokens", "10"});
  ASSERT_TRUE(run_until([&] { return !rec_a->out.empty(); }));
  a->close();
  EXPECT_EQ(rec_a->end, InstanceEnd::SessionLost);
  EXPECT_FALSE(a->is_open());
  run_for(400ms);  // the instance finishes while detached

  auto b = open();
  auto rec_b = std::make_shared<Recorder>();
  Reply att;
  b->attach(id, Recorder::sink(rec_b), att.cb());
  ASSERT_TRUE(run_until([&] { return rec_b->end.has_value(); }));
  EXPECT_TRUE(att.ok()) << att.text();
  EXPECT_EQ(rec_b->end, InstanceEnd::Completed);
  EXPECT_EQ(rec_a->out + rec_b->out, rec_b->end_message);  // nothing lost, nothing doubled
  EXPECT_EQ(a_closed, 0);  // close() by the owner does not call on_closed
  EXPECT_EQ(b->attached_instances(), 0u);

  Reply again;
  b->attach(id, Recorder::sink(std::make_shared<Recorder>()), again.cb());
  ASSERT_TRUE(run_until([&] { return again.ready(); }));
  EXPECT_FALSE(again.ok());
}

TEST_F(PieSessionTest, CloseFromInsideCallbacks) {
  start_sim({"--token-delay-ms", "5"});
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  Reply pending;
  rec->on_first_stdout = [&] {
    s->close();
    s->close();  // idempotent
  };
  launch(s, rec, "text-completion", {"--prompt", "x", "--max-tokens", "50"});
  s->ping(pending.cb());
  ASSERT_TRUE(run_until([&] { return rec->end.has_value() && pending.ready(); }));
  EXPECT_EQ(rec->end, InstanceEnd::SessionLost);
  EXPECT_EQ(rec->ends, 1);
  EXPECT_EQ(pending.text(), "error: session closed: closed by client");
}

TEST_F(PieSessionTest, DroppingTheLastReferenceWhileBusyIsSafe) {
  start_sim({"--reply-delay-ms", "50"});
  {
    auto s = make_session_v02(io_.get_executor(), options());
    s->start([](Result<std::string>) { ADD_FAILURE() << "abandoned session called back"; });
  }  // dropped while resolving/connecting
  run_for(100ms);
  {
    auto s = make_session_v02(io_.get_executor(), options());
    bool started = false;
    s->start([&](Result<std::string> r) { started = r.ok(); });
    ASSERT_TRUE(run_until([&] { return started; }));
    for (int i = 0; i < 20; ++i) s->ping([](Result<std::string>) { ADD_FAILURE() << "abandoned ping answered"; });
    auto rec = std::make_shared<Recorder>();
    s->launch(LaunchRequest{"std/sleep", {"--ms", "1000"}, false, false}, Recorder::sink(rec),
              [](Result<std::string>) {});
    run_for(5ms);
  }  // dropped with replies outstanding
  run_for(300ms);
  // A session closed from its own start callback.
  Session::Ptr s = make_session_v02(io_.get_executor(), options());
  bool done = false;
  s->start([&](Result<std::string>) {
    s->close();
    s.reset();
    done = true;
  });
  ASSERT_TRUE(run_until([&] { return done; }));
  run_for(100ms);
}

// ---- a scripted in-process server -------------------------------------------------------

// The v0.2 messages over the shared scripted server (support/scripted_ws_server.hpp): accepts one
// WebSocket connection on its own thread and runs `script` over it synchronously.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(ScriptedServer&)> script) {
    ws_.start([this, script = std::move(script)] { script(*this); });
  }
  std::uint16_t port() const { return ws_.port(); }
  void join() { ws_.join(); }
  std::string error() const { return ws_.error(); }

  v02::ClientMessage read() {
    auto m = v02::decode_client(ws_.read_binary());
    if (!m) throw std::runtime_error("server got undecodable message: " + m.error());
    return std::move(m).value();
  }
  template <typename T>
  T read_as() {
    auto m = read();
    if (!std::holds_alternative<T>(m)) throw std::runtime_error(std::string("unexpected ") + v02::type_name(m));
    return std::get<T>(m);
  }
  void send(const v02::ServerMessage& m) { send_raw(v02::encode(m)); }
  void send_raw(const std::string& bytes) { ws_.send_binary(bytes); }
  void send_text(const std::string& text) { ws_.send_text(text); }
  void authenticate() {
    auto id = read_as<v02::Identification>();
    send(v02::Response{id.corr_id, true, "Authenticated (Engine disabled authentication)"});
  }
  // Reads until the client closes.
  void drain() { ws_.drain(); }

 private:
  test::ScriptedWsServer ws_;
};

class PieSessionScripted : public PieSessionTest {};

TEST_F(PieSessionScripted, GarbageAndUnknownMessagesAreDropped) {
  ScriptedServer srv([](ScriptedServer& s) {
    s.authenticate();
    s.send_raw("\xc1");                                             // never-used msgpack byte
    s.send_raw(std::string("\x92\x01\x02", 3));                     // an array, not a map
    s.send_raw(std::string("\x81\xa4type\xa7mystery", 14));         // unknown type
    s.send_raw(v02::encode(v02::ServerMessage{v02::Response{1, true, "x"}}) + std::string(1, '\0'));  // trailing byte
    s.send_text("a text frame");
    s.send(v02::Response{4242, true, "stray reply"});
    s.send(v02::StreamingOutput{"nobody", v02::Stream::Stdout, "orphan output"});
    s.send(v02::InstanceEvent{"nobody", 1, "orphan end"});
    s.send(v02::DownloadBlob{0, "nobody", "h", 0, 1, "x"});
    s.send(v02::ServerEvent{"hello from the server"});
    for (;;) {
      auto m = s.read();
      if (auto* p = std::get_if<v02::Ping>(&m)) {
        s.send(v02::Response{p->corr_id, true, "Pong"});
      } else if (auto* l = std::get_if<v02::LaunchInstance>(&m)) {
        s.send(v02::InstanceLaunchResult{l->corr_id, true, "inst-1"});
        s.send(v02::StreamingOutput{"inst-1", v02::Stream::Stdout, "ok"});
        s.send(v02::InstanceEvent{"inst-1", 77, "unknown code"});
        s.send(v02::DownloadBlob{0, "inst-1", "0000", 0, 1, "bad hash"});  // dropped: hash mismatch
        s.send(v02::DownloadBlob{0, "inst-1", hash::blake3_hex("good"), 0, 1, "good"});
        s.send(v02::InstanceEvent{"inst-1", 1, "done"});
        s.send(v02::InstanceEvent{"inst-1", 2, "after the end"});  // ignored: instance forgotten
      } else {
        break;
      }
    }
  });
  auto o = options();
  o.port = srv.port();
  auto s = open(o);
  Reply pong;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "anything");
  EXPECT_EQ(id, "inst-1");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  run_for(50ms);
  EXPECT_EQ(rec->log, (std::vector<std::string>{"out:ok", "blob:" + hash::blake3_hex("good"), "end:Completed"}));
  EXPECT_EQ(rec->ends, 1);
  EXPECT_TRUE(s->is_open());
  s->close();
  run_for(50ms);
  srv.join();
}

TEST_F(PieSessionScripted, ChallengeMeansPublicKeyAuthRequired) {
  ScriptedServer srv([](ScriptedServer& s) {
    auto id = s.read_as<v02::Identification>();
    if (id.username != "alice") throw std::runtime_error("wrong username " + id.username);
    s.send(v02::Response{id.corr_id, true, "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ"});
    s.drain();
  });
  auto o = options();
  o.port = srv.port();
  o.auth.kind = AuthConfig::Kind::Username;
  o.auth.username = "alice";
  auto s = make(o);
  Reply r;
  s->start(r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_EQ(r.text(), "error: server requires public-key authentication");
  run_for(50ms);
  srv.join();
  EXPECT_EQ(srv.error(), "");
}

TEST_F(PieSessionScripted, AuthTimeout) {
  ScriptedServer srv([](ScriptedServer& s) { s.drain(); });  // never answers
  auto o = options();
  o.port = srv.port();
  o.auth_timeout = 200ms;
  auto s = make(o);
  Reply r;
  s->start(r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }, 3s));
  EXPECT_EQ(r.text(), "error: authentication failed: timed out after 200 ms waiting for response");
  run_for(50ms);
  srv.join();
}

TEST_F(PieSessionScripted, LateSuccessfulLaunchIsTerminated) {
  std::promise<std::string> terminated;
  auto seen = terminated.get_future();
  ScriptedServer srv([&terminated](ScriptedServer& s) {
    s.authenticate();
    auto l = s.read_as<v02::LaunchInstance>();
    std::this_thread::sleep_for(400ms);  // the client gave up after 100 ms
    s.send(v02::InstanceLaunchResult{l.corr_id, true, "late-instance"});
    s.send(v02::StreamingOutput{"late-instance", v02::Stream::Stdout, "nobody listens"});
    auto t = s.read_as<v02::TerminateInstance>();
    terminated.set_value(t.instance_id);
    s.send(v02::Response{t.corr_id, true, "Instance terminated"});
    s.drain();
  });
  auto o = options();
  o.port = srv.port();
  o.request_timeout = 100ms;
  auto s = open(o);
  auto rec = std::make_shared<Recorder>();
  Reply r;
  s->launch(LaunchRequest{"std/sleep", {}, false, false}, Recorder::sink(rec), r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }, 3s));
  EXPECT_EQ(r.text(), "error: timed out after 100 ms waiting for instance_launch_result");
  ASSERT_TRUE(run_until([&] { return seen.wait_for(0s) == std::future_status::ready; }, 3s));
  EXPECT_EQ(seen.get(), "late-instance");
  run_for(50ms);
  EXPECT_TRUE(rec->log.empty());
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_TRUE(s->is_open());
  s->close();
  run_for(50ms);
  srv.join();
  EXPECT_EQ(srv.error(), "");
}

}  // namespace
}  // namespace pg::pie
