// The Pie 0.5-line client session (lib/pie/v05) on its own: against the real pie-sim binary in
// its 0.5 edge mode (`--protocol 0.5`), and against a scripted in-process WebSocket server
// (support/scripted_ws_server.hpp) playing a 0.4.0 runtime (authentication on and off, late
// replies) and the edge's text frames. Wire facts: shared/protocols/pie-v0.5.md.
// Every wait is bounded: a test that would hang fails instead. Loopback only.
#include <gtest/gtest.h>

#include <utility>  // before Asio with C++20

#include <boost/asio/io_context.hpp>

#include <openssl/evp.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "hash/blake3.hpp"
#include "integration/ssh_keys.hpp"
#include "pie/auth/ssh_key.hpp"
#include "pie/session.hpp"
#include "pie/v05/codec.hpp"
#include "support/pie_session_recorder.hpp"
#include "support/process.hpp"
#include "support/scripted_ws_server.hpp"
#include "value/base64.hpp"

namespace pg::pie {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::Recorder;
using test::Reply;

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

class PieSession05Test : public ::testing::Test {
 protected:
  void TearDown() override {
    sessions_.clear();
    io_.run_for(50ms);  // let close handshakes and aborted handlers finish
  }

  void start_sim(std::vector<std::string> args = {}) {
    args.insert(args.begin(), {test::binary_path("pie-sim"), "--port", "0", "--protocol", "0.5"});
    sim_ = std::make_unique<test::Process>(args);
    port_ = static_cast<std::uint16_t>(sim_->wait_for_port(10s));
    ASSERT_NE(port_, 0) << "pie-sim did not start";
  }

  // Options for pie-sim's 0.5 edge: the path is the caller's to set.
  SessionOptions options() {
    SessionOptions o;
    o.protocol = Protocol::V05;
    o.port = port_;
    o.path = "/v1/ws";
    o.connect_timeout = 3000ms;
    o.request_timeout = 5000ms;
    o.auth_timeout = 5000ms;
    return o;
  }

  Session::Ptr make(SessionOptions o) {
    auto s = make_session(io_.get_executor(), std::move(o));
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
  // Runs what is ready now (posted handlers), without waiting for the network.
  void poll() {
    io_.restart();
    io_.poll();
    io_.restart();
  }

  // Starts a session; returns it with the start reply.
  std::pair<Session::Ptr, Reply> start(SessionOptions o) {
    auto s = make(std::move(o));
    Reply r;
    s->start(r.cb());
    EXPECT_TRUE(run_until([&] { return r.ready(); })) << "start did not finish";
    return {s, r};
  }

  Session::Ptr open(std::optional<SessionOptions> o = std::nullopt) {
    auto [s, r] = start(o ? *o : options());
    EXPECT_TRUE(r.ok()) << r.text();
    EXPECT_TRUE(s->is_open());
    return s;
  }

  // Launches and waits for the launch reply; returns the process id ("" on failure).
  std::string launch(const Session::Ptr& s, const std::shared_ptr<Recorder>& rec, std::string inferlet,
                     std::string input = "{}") {
    auto r = launch_reply(s, rec, std::move(inferlet), std::move(input));
    EXPECT_TRUE(r.ok()) << r.text();
    return r.ok() ? r.r->value() : std::string();
  }

  // Launches and waits for the launch reply, whatever it is.
  Reply launch_reply(const Session::Ptr& s, const std::shared_ptr<Recorder>& rec, std::string inferlet,
                     std::string input = "{}") {
    Reply r;
    LaunchRequest req;
    req.inferlet = std::move(inferlet);
    req.input = std::move(input);
    s->launch(std::move(req), Recorder::sink(rec), r.cb());
    EXPECT_TRUE(run_until([&] { return r.ready(); }));
    return r;
  }

  net::io_context io_;
  std::unique_ptr<test::Process> sim_;
  std::uint16_t port_ = 0;
  std::vector<Session::Ptr> sessions_;
};

// ---- pie-sim --protocol 0.5 (the 0.5 edge) ------------------------------------------------

TEST_F(PieSession05Test, StartOnTheEdgeAndPing) {
  start_sim();
  auto [s, r] = start(options());
  ASSERT_TRUE(r.ok()) << r.text();
  EXPECT_EQ(r.text(), "Already authenticated");
  EXPECT_TRUE(s->is_open());
  EXPECT_EQ(s->protocol(), Protocol::V05);
  Reply pong;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
}

TEST_F(PieSession05Test, EchoNameMappedStdoutThenCompleted) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "std/echo@0.1.0", R"({"text":"hi"})");
  EXPECT_EQ(id.size(), 36u) << id;  // a UUID
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->log, (std::vector<std::string>{"out:hi", "end:Completed"}));
  EXPECT_EQ(rec->end_message, "hi");
  EXPECT_EQ(rec->ends, 1);
  // The bare 0.5 form works too.
  auto rec2 = std::make_shared<Recorder>();
  launch(s, rec2, "echo@0.1.0", R"({"text":"again"})");
  ASSERT_TRUE(run_until([&] { return rec2->end.has_value(); }));
  EXPECT_EQ(rec2->log, (std::vector<std::string>{"out:again", "end:Completed"}));
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_EQ(s->pending_requests(), 0u);
}

TEST_F(PieSession05Test, UnmappableNamesFailWithoutSendingAnything) {
  // pie-sim handles the identify and one more message, then stalls: if a refused launch went
  // out, it would be that one message and the ping below would never be answered.
  start_sim({"--stall-after", "2"});
  auto o = options();
  o.request_timeout = 1000ms;
  auto s = open(o);
  const std::vector<std::string> names = {"other/x@1.0.0", "std/echo", "echo@latest", "echo@1.0"};
  std::vector<Reply> replies(names.size());
  auto rec = std::make_shared<Recorder>();
  for (std::size_t i = 0; i < names.size(); ++i) {
    LaunchRequest req;
    req.inferlet = names[i];
    req.input = R"({"text":"hi"})";
    s->launch(std::move(req), Recorder::sink(rec), replies[i].cb());
  }
  Reply detached;
  LaunchRequest det;
  det.inferlet = "std/echo@0.1.0";
  det.detached = true;
  s->launch(std::move(det), Recorder::sink(rec), detached.cb());
  EXPECT_EQ(s->pending_requests(), 0u);  // nothing is waiting for a reply
  poll();                                // refused at once: no round trip
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(replies[i].ready()) << names[i];
    EXPECT_FALSE(replies[i].ok()) << names[i];
    EXPECT_TRUE(contains(replies[i].text(), "'" + names[i] + "' cannot be named on a Pie 0.5 server"))
        << replies[i].text();
  }
  ASSERT_TRUE(detached.ready());
  EXPECT_EQ(detached.text(), "error: Pie 0.5 has no detached launches");
  Reply pong, stalled;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");  // the server's second message: nothing was sent before it
  s->ping(stalled.cb());           // the third is never handled: the stall is real
  ASSERT_TRUE(run_until([&] { return stalled.ready(); }));
  EXPECT_EQ(stalled.text(), "error: timed out after 1000 ms waiting for ping reply");
  EXPECT_EQ(rec->ends, 0);
  EXPECT_EQ(s->attached_instances(), 0u);
}

TEST_F(PieSession05Test, TextCompletionStreamsInOrder) {
  start_sim({"--token-delay-ms", "2"});
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "std/text-completion@0.1.0", R"({"prompt":"tell me","max_tokens":12})");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->end, InstanceEnd::Completed);
  ASSERT_EQ(rec->out_chunks.size(), 12u);
  for (const auto& c : rec->out_chunks) EXPECT_FALSE(c.empty());
  EXPECT_EQ(rec->out, rec->end_message);  // the chunks, in order, are the return value
  EXPECT_EQ(rec->log.back(), "end:Completed");
  EXPECT_EQ(rec->log.size(), 13u);
  EXPECT_EQ(rec->ends, 1);
}

TEST_F(PieSession05Test, FailGivesStderrThenException) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "fail@0.1.0");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  ASSERT_EQ(rec->log.size(), 2u);
  EXPECT_EQ(rec->log[0].rfind("err:", 0), 0u) << rec->log[0];
  EXPECT_EQ(rec->log[1], "end:Exception");
  EXPECT_EQ(rec->end_message, "simulated failure");
}

TEST_F(PieSession05Test, TerminateGivesAbortedSignal) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "sleep@0.1.0", R"({"ms":60000})");
  EXPECT_EQ(s->attached_instances(), 1u);
  Reply t;
  s->terminate(id, t.cb());
  ASSERT_TRUE(run_until([&] { return rec->end.has_value() && t.ready(); }));
  EXPECT_EQ(t.text(), "Process terminated");
  EXPECT_EQ(rec->end, InstanceEnd::Aborted);
  EXPECT_EQ(rec->end_message, "Signal");
  EXPECT_EQ(rec->ends, 1);
  EXPECT_EQ(s->attached_instances(), 0u);
  // Gone now.
  Reply again;
  s->terminate(id, again.cb());
  ASSERT_TRUE(run_until([&] { return again.ready(); }));
  EXPECT_EQ(again.text(), "error: Process not found");
}

TEST_F(PieSession05Test, ChatSignalsGiveMessages) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  auto id = launch(s, rec, "chat@0.1.0");
  s->signal(id, "hi");
  s->signal(id, "there");
  ASSERT_TRUE(run_until([&] { return rec->messages.size() == 2; }));
  EXPECT_EQ(rec->messages, (std::vector<std::string>{"echo: hi", "echo: there"}));
  s->signal(id, "bye");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->end, InstanceEnd::Completed);
  EXPECT_EQ(rec->end_message, "bye");
  EXPECT_EQ(rec->log, (std::vector<std::string>{"msg:echo: hi", "msg:echo: there", "msg:echo: bye", "end:Completed"}));
}

TEST_F(PieSession05Test, FileEchoRoundTrip) {
  start_sim();
  auto s = open();
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{262145}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) ^ (i >> 7));
    auto rec = std::make_shared<Recorder>();
    auto id = launch(s, rec, "file-echo@0.1.0");
    Reply up;
    s->upload_blob(id, bytes, up.cb());
    ASSERT_TRUE(run_until([&] { return rec->end.has_value() && up.ready(); }));
    EXPECT_TRUE(up.ok()) << up.text();
    ASSERT_EQ(rec->blobs.size(), 1u);
    EXPECT_EQ(rec->blobs[0].first, hash::blake3_hex(bytes));
    EXPECT_EQ(rec->blobs[0].second.size(), size);
    EXPECT_TRUE(rec->blobs[0].second == bytes);
    EXPECT_EQ(rec->end, InstanceEnd::Completed);
    EXPECT_EQ(rec->end_message, std::to_string(size) + " bytes");
    EXPECT_EQ(rec->log.back(), "end:Completed");
  }
  EXPECT_EQ(s->attached_instances(), 0u);
}

TEST_F(PieSession05Test, Queries) {
  start_sim();
  auto s = open();
  Reply status, exists, missing;
  s->query("model_status", "", status.cb());
  s->query("program_exists", "std/echo@0.1.0#" + hash::blake3_hex("some wasm"), exists.cb());
  s->query("program_exists", "nothing@9.9.9", missing.cb());
  ASSERT_TRUE(run_until([&] { return status.ready() && exists.ready() && missing.ready(); }));
  ASSERT_TRUE(status.ok()) << status.text();
  const auto st = status.text();
  ASSERT_FALSE(st.empty());
  EXPECT_EQ(st.front(), '{') << st;
  EXPECT_EQ(st.back(), '}') << st;
  EXPECT_TRUE(contains(st, "kv_pages_used")) << st;
  EXPECT_EQ(exists.text(), "true");
  EXPECT_EQ(missing.text(), "false");

  // Subjects a 0.5 server never answers, and names it cannot hold, are refused here at once.
  Reply unknown, bad_name;
  s->query("list_models", "", unknown.cb());
  s->query("program_exists", "other/x@1.0.0", bad_name.cb());
  EXPECT_EQ(s->pending_requests(), 0u);
  poll();
  ASSERT_TRUE(unknown.ready());
  EXPECT_EQ(unknown.text(), "error: a Pie 0.5 server answers no 'list_models' query (only model_status)");
  ASSERT_TRUE(bad_name.ready());
  EXPECT_TRUE(contains(bad_name.text(), "cannot be named on a Pie 0.5 server")) << bad_name.text();

  Reply daemon;
  s->launch_server(8080, "std/echo@0.1.0", {}, daemon.cb());
  EXPECT_EQ(s->pending_requests(), 0u);
  poll();
  ASSERT_TRUE(daemon.ready());
  EXPECT_FALSE(daemon.ok());
  EXPECT_TRUE(contains(daemon.text(), "no daemons")) << daemon.text();
  EXPECT_TRUE(s->is_open());
}

TEST_F(PieSession05Test, AttachUnknownProcessFails) {
  start_sim();
  auto s = open();
  auto rec = std::make_shared<Recorder>();
  Reply att;
  s->attach("00000000-0000-4000-8000-000000000000", Recorder::sink(rec), att.cb());
  ASSERT_TRUE(run_until([&] { return att.ready(); }));
  EXPECT_EQ(att.text(), "error: Process not found");
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_EQ(rec->ends, 0);
  EXPECT_TRUE(s->is_open());
}

TEST_F(PieSession05Test, EmptyIdentityIsRefusedWith401) {
  start_sim();
  auto o = options();
  o.identity = "";
  auto s = make(o);
  bool closed_called = false;
  s->on_closed([&](std::string) { closed_called = true; });
  Reply r;
  s->start(r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.text(), "HTTP 401")) << r.text();
  EXPECT_FALSE(s->is_open());
  run_for(50ms);
  EXPECT_FALSE(closed_called);  // never established
}

TEST_F(PieSession05Test, DroppedSocketLosesProcessesAndCallsOnClosed) {
  // Sent: identify reply, turn_done, launch reply, turn_done, the first Pong: then the drop.
  start_sim({"--drop-after", "5"});
  auto s = open();
  int closed_calls = 0;
  std::string closed_reason;
  s->on_closed([&](std::string reason) {
    ++closed_calls;
    closed_reason = reason;
  });
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "sleep@0.1.0", R"({"ms":60000})");
  EXPECT_EQ(s->attached_instances(), 1u);
  Reply p1, p2;
  s->ping(p1.cb());
  s->ping(p2.cb());
  ASSERT_TRUE(run_until([&] { return p2.ready() && rec->end.has_value() && closed_calls > 0; }));
  EXPECT_EQ(p1.text(), "Pong");
  EXPECT_EQ(p2.text().rfind("error: session closed: ", 0), 0u) << p2.text();
  EXPECT_FALSE(contains(p2.text(), kAdmissionRefused)) << p2.text();  // a plain drop, no text error
  EXPECT_EQ(rec->end, InstanceEnd::SessionLost);
  EXPECT_EQ(rec->ends, 1);
  EXPECT_FALSE(closed_reason.empty());
  EXPECT_EQ(rec->end_message, closed_reason);
  EXPECT_FALSE(s->is_open());
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
  run_for(50ms);
  EXPECT_EQ(closed_calls, 1);
  Reply late;
  s->ping(late.cb());
  ASSERT_TRUE(run_until([&] { return late.ready(); }, 1s));
  EXPECT_EQ(late.text().rfind("error: session closed: ", 0), 0u) << late.text();
}

TEST_F(PieSession05Test, AdmissionRefusedAtMaxProcesses) {
  start_sim({"--max-processes", "1"});
  auto s = open();
  int closed_calls = 0;
  std::string closed_reason;
  s->on_closed([&](std::string reason) {
    ++closed_calls;
    closed_reason = reason;
  });
  auto first = std::make_shared<Recorder>();
  launch(s, first, "sleep@0.1.0", R"({"ms":60000})");
  auto second = std::make_shared<Recorder>();
  auto r = launch_reply(s, second, "echo@0.1.0", R"({"text":"one too many"})");
  ASSERT_TRUE(r.ready());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.text(), kAdmissionRefused)) << r.text();
  EXPECT_TRUE(contains(r.text(), "server at capacity")) << r.text();  // the edge's own words
  ASSERT_TRUE(run_until([&] { return first->end.has_value() && closed_calls > 0; }));
  EXPECT_EQ(first->end, InstanceEnd::SessionLost);  // the edge terminated the socket's processes
  EXPECT_TRUE(contains(first->end_message, kAdmissionRefused)) << first->end_message;
  EXPECT_TRUE(contains(closed_reason, kAdmissionRefused)) << closed_reason;
  EXPECT_EQ(second->ends, 0);
  EXPECT_FALSE(s->is_open());
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_EQ(s->pending_requests(), 0u);
}

TEST_F(PieSession05Test, StalledServerTimesOutEveryRequest) {
  start_sim({"--stall-after", "1"});  // answers the identify, then nothing
  auto o = options();
  o.request_timeout = 300ms;
  auto s = open(o);
  auto rec = std::make_shared<Recorder>();
  Reply ping, launch, attach, terminate, status, exists, program;
  s->ping(ping.cb());
  LaunchRequest req;
  req.inferlet = "echo@0.1.0";
  req.input = R"({"text":"hi"})";
  s->launch(std::move(req), Recorder::sink(rec), launch.cb());
  s->attach("00000000-0000-4000-8000-000000000000", Recorder::sink(rec), attach.cb());
  s->terminate("00000000-0000-4000-8000-000000000001", terminate.cb());
  s->query("model_status", "", status.cb());
  s->query("program_exists", "std/echo@0.1.0", exists.cb());
  s->upload_program(hash::blake3_hex("wasm"), "[package]\nname = \"p\"\nversion = \"1.0.0\"\n",
                    std::make_shared<const std::string>("wasm"), program.cb());
  EXPECT_EQ(s->pending_requests(), 7u);
  const std::vector<std::pair<Reply*, std::string>> expected = {
      {&ping, "ping reply"},           {&launch, "launch_process reply"},
      {&attach, "attach_process reply"}, {&terminate, "terminate_process reply"},
      {&status, "query reply"},         {&exists, "check_program reply"},
      {&program, "add_program reply"},
  };
  ASSERT_TRUE(run_until([&] {
    for (auto& [r, _] : expected)
      if (!r->ready()) return false;
    return true;
  }));
  for (auto& [r, what] : expected) EXPECT_EQ(r->text(), "error: timed out after 300 ms waiting for " + what);
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_TRUE(rec->log.empty());
  EXPECT_TRUE(s->is_open());  // a timeout does not end the session
}

// ---- a scripted server (0.4.0 runtime, 0.5-style replies, the edge's text frames) -------

// The 0.5-line messages over the shared scripted server: records the type of every message the
// client sent (read after join()).
class Scripted05 {
 public:
  explicit Scripted05(std::function<void(Scripted05&)> script) {
    ws_.start([this, script = std::move(script)] { script(*this); });
  }
  std::uint16_t port() const { return ws_.port(); }
  void join() { ws_.join(); }
  std::string error() const { return ws_.error(); }
  std::string target() const { return ws_.target(); }
  std::optional<std::string> identity() const { return ws_.identity(); }
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

  v05::ClientMessage read() {
    auto m = v05::decode_client(ws_.read_binary());
    if (!m) throw std::runtime_error("server got an undecodable message: " + m.error());
    std::lock_guard lock(mu_);
    received_.emplace_back(v05::type_name(*m));
    return std::move(m).value();
  }
  template <typename T>
  T read_as() {
    auto m = read();
    if (!std::holds_alternative<T>(m)) throw std::runtime_error(std::string("unexpected ") + v05::type_name(m));
    return std::get<T>(m);
  }
  void send(const v05::ServerMessage& m) { ws_.send_binary(v05::encode(m)); }
  void send_text(const std::string& text) { ws_.send_text(text); }
  void turn_done() { ws_.send_text(v05::encode_turn_done()); }
  void close() { ws_.close(); }
  // Reads (and records) until the client closes.
  void drain() {
    try {
      for (;;) read();
    } catch (const std::exception&) {
    }
  }
  // 0.4.0 with authentication off.
  void authenticate_040() {
    auto id = read_as<v05::AuthIdentify>();
    send(v05::Response{id.corr_id, true, "Authenticated (Engine disabled authentication)"});
  }
  // The 0.5 edge.
  void authenticate_05() {
    auto id = read_as<v05::AuthIdentify>();
    send(v05::Response{id.corr_id, true, "Already authenticated"});
    turn_done();
  }

 private:
  test::ScriptedWsServer ws_;
  mutable std::mutex mu_;
  std::vector<std::string> received_;
};

// Verifies an Ed25519 signature with OpenSSL against the raw public key of a .pub file.
bool verify_ed25519(const std::string& key_path, const std::string& message, const std::string& signature) {
  std::istringstream in(test::pub_line(key_path));
  std::string type, b64;
  in >> type >> b64;
  auto blob = base64_decode(b64);
  if (type != "ssh-ed25519" || !blob || blob->size() < 32) return false;
  const std::string raw = blob->substr(blob->size() - 32);
  EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = pk && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pk) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  return ok;
}

class PieSession05Scripted : public PieSession05Test {
 protected:
  SessionOptions scripted(std::uint16_t port) {
    auto o = options();
    o.port = port;
    o.path = "/any/path";  // 0.4.0 and the 0.5 direct server check no path
    return o;
  }
  // Closes the session and waits for the script; the script must have ended cleanly.
  void finish(const Session::Ptr& s, Scripted05& srv) {
    if (s) s->close();
    run_for(50ms);
    srv.join();
    EXPECT_EQ(srv.error(), "");
  }

  // A fresh Ed25519 key by ssh-keygen (OpenSSH format) in a fresh directory; returns its path.
  static std::string ed25519_key(const std::string& name) { return test::keygen(test::temp_dir(), name, "ed25519"); }
};

TEST_F(PieSession05Scripted, V040AuthOff) {
  Scripted05 srv([](Scripted05& s) {
    auto id = s.read_as<v05::AuthIdentify>();
    if (id.username != "pie-gateway") throw std::runtime_error("username " + id.username);
    s.send(v05::Response{id.corr_id, true, "Authenticated (Engine disabled authentication)"});
    auto p = s.read_as<v05::Ping>();
    s.send(v05::Response{p.corr_id, true, "Pong"});
    s.drain();
  });
  auto o = scripted(srv.port());
  o.identity = "lab/alice";
  auto [s, r] = start(o);
  EXPECT_EQ(r.text(), "Authenticated (Engine disabled authentication)");
  EXPECT_TRUE(s->is_open());
  Reply pong;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
  finish(s, srv);
  EXPECT_EQ(srv.target(), "/any/path");     // the path is the caller's
  EXPECT_EQ(srv.identity(), "lab/alice");   // the header goes out on every server kind
  EXPECT_EQ(srv.received(), (std::vector<std::string>{"auth_identify", "ping"}));
}

TEST_F(PieSession05Scripted, V040KeyAuthSignsTheChallenge) {
  const auto path = ed25519_key("alice");
  auto key = auth::SshKey::load_file(path);
  ASSERT_TRUE(key.ok()) << key.error();
  std::string challenge(48, '\0');
  for (std::size_t i = 0; i < challenge.size(); ++i) challenge[i] = static_cast<char>(i * 37 + 11);
  std::promise<bool> verified;
  auto verified_f = verified.get_future();
  Scripted05 srv([&](Scripted05& s) {
    auto id = s.read_as<v05::AuthIdentify>();
    if (id.username != "alice") throw std::runtime_error("username " + id.username);
    s.send(v05::Response{id.corr_id, true, base64_encode(challenge)});
    auto prove = s.read_as<v05::AuthProve>();
    auto sig = base64_decode(prove.signature);
    const bool ok = sig && verify_ed25519(path, challenge, *sig);
    verified.set_value(ok);
    s.send(v05::Response{prove.corr_id, ok, ok ? "Authenticated" : "Signature verification failed"});
    s.drain();
  });
  auto o = scripted(srv.port());
  o.auth.kind = AuthConfig::Kind::Key;
  o.auth.username = "alice";
  o.auth.key = *key;
  auto [s, r] = start(o);
  EXPECT_EQ(r.text(), "Authenticated");
  EXPECT_TRUE(s->is_open());
  ASSERT_EQ(verified_f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(verified_f.get()) << "the signature does not verify over the decoded challenge";
  finish(s, srv);
  EXPECT_EQ(srv.received(), (std::vector<std::string>{"auth_identify", "auth_prove"}));
}

TEST_F(PieSession05Scripted, V040KeyAuthRefusedNamesTheKey) {
  const auto path = ed25519_key("bob");
  auto key = auth::SshKey::load_file(path);
  ASSERT_TRUE(key.ok()) << key.error();
  Scripted05 srv([](Scripted05& s) {
    auto id = s.read_as<v05::AuthIdentify>();
    s.send(v05::Response{id.corr_id, true, base64_encode(std::string(48, 'c'))});
    auto prove = s.read_as<v05::AuthProve>();
    s.send(v05::Response{prove.corr_id, false, "Signature verification failed"});
    s.drain();  // failures never close the socket on 0.4.0: the client does
  });
  auto o = scripted(srv.port());
  o.auth.kind = AuthConfig::Kind::Key;
  o.auth.username = "bob";
  o.auth.key = *key;
  auto [s, r] = start(o);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.text(), test::fingerprint(path))) << r.text();  // as ssh-keygen -l names it
  EXPECT_TRUE(contains(r.text(), "'bob'")) << r.text();
  EXPECT_TRUE(contains(r.text(), "Signature verification failed")) << r.text();
  EXPECT_FALSE(s->is_open());
  run_for(50ms);
  srv.join();  // ends: the failed session closed its socket
  EXPECT_EQ(srv.error(), "");
  EXPECT_EQ(srv.received(), (std::vector<std::string>{"auth_identify", "auth_prove"}));
}

TEST_F(PieSession05Scripted, V040TokenAuth) {
  for (const bool right : {true, false}) {
    SCOPED_TRACE(right ? "right token" : "wrong token");
    Scripted05 srv([](Scripted05& s) {
      auto id = s.read_as<v05::AuthIdentify>();
      s.send(v05::Response{id.corr_id, false, "User 'pie-gateway' is not authorized"});
      auto t = s.read_as<v05::AuthByToken>();
      const bool ok = t.token == "s3cret";
      s.send(v05::Response{t.corr_id, ok, ok ? "Authenticated" : "Invalid token"});
      s.drain();
    });
    auto o = scripted(srv.port());
    o.auth.kind = AuthConfig::Kind::Token;
    o.auth.token = right ? "s3cret" : "wrong";
    auto [s, r] = start(o);
    if (right) {
      EXPECT_EQ(r.text(), "Authenticated");
      EXPECT_TRUE(s->is_open());
    } else {
      EXPECT_EQ(r.text(), "error: authentication failed: the server refused the token: Invalid token");
      EXPECT_FALSE(s->is_open());
      EXPECT_FALSE(contains(r.text(), "wrong"));  // the token is never echoed
    }
    finish(s, srv);
    EXPECT_EQ(srv.received(), (std::vector<std::string>{"auth_identify", "auth_by_token"}));
  }
}

TEST_F(PieSession05Scripted, TokenSessionOnA05ServerSendsNoAuthByToken) {
  Scripted05 srv([](Scripted05& s) {
    s.authenticate_05();
    s.drain();  // records everything the client sends until it closes
  });
  auto o = scripted(srv.port());
  o.auth.kind = AuthConfig::Kind::Token;
  o.auth.token = "s3cret";
  auto [s, r] = start(o);
  EXPECT_EQ(r.text(), "Already authenticated");
  EXPECT_TRUE(s->is_open());
  run_for(100ms);  // room for a stray message to arrive
  finish(s, srv);
  const auto got = srv.received();
  EXPECT_EQ(got, (std::vector<std::string>{"auth_identify"}));
  for (const auto& t : got) EXPECT_NE(t, "auth_by_token");
}

TEST_F(PieSession05Scripted, LateLaunchReplyIsTerminated) {
  std::promise<std::string> terminated;
  auto seen = terminated.get_future();
  Scripted05 srv([&terminated](Scripted05& s) {
    s.authenticate_040();
    auto l = s.read_as<v05::LaunchProcess>();
    if (l.inferlet != "sleep@0.1.0" || l.input != R"({"ms":1})" || !l.capture_outputs)
      throw std::runtime_error("unexpected launch " + l.inferlet + " " + l.input);
    std::this_thread::sleep_for(400ms);  // the client gave up after 100 ms
    s.send(v05::Response{l.corr_id, true, "late-process"});
    s.send(v05::ProcessEvent{"late-process", "stdout", "nobody listens"});
    auto t = s.read_as<v05::TerminateProcess>();
    terminated.set_value(t.process_id);
    s.send(v05::Response{t.corr_id, true, "Process terminated"});
    s.send(v05::ProcessEvent{"late-process", "error", "Signal"});
    s.drain();
  });
  auto o = scripted(srv.port());
  o.request_timeout = 100ms;
  auto s = open(o);
  auto rec = std::make_shared<Recorder>();
  LaunchRequest req;
  req.inferlet = "std/sleep@0.1.0";
  req.input = R"({"ms":1})";
  Reply r;
  s->launch(std::move(req), Recorder::sink(rec), r.cb());
  ASSERT_TRUE(run_until([&] { return r.ready(); }, 3s));
  EXPECT_EQ(r.text(), "error: timed out after 100 ms waiting for launch_process reply");
  ASSERT_TRUE(run_until([&] { return seen.wait_for(0s) == std::future_status::ready; }, 3s));
  EXPECT_EQ(seen.get(), "late-process");
  run_for(50ms);
  EXPECT_TRUE(rec->log.empty());
  EXPECT_EQ(s->pending_requests(), 0u);
  EXPECT_EQ(s->attached_instances(), 0u);
  EXPECT_TRUE(s->is_open());
  finish(s, srv);
  EXPECT_EQ(srv.received(), (std::vector<std::string>{"auth_identify", "launch_process", "terminate_process"}));
}

TEST_F(PieSession05Scripted, ProgramExistsGoesOutAsCheckProgram) {
  std::promise<v05::CheckProgram> got;
  auto got_f = got.get_future();
  Scripted05 srv([&got](Scripted05& s) {
    s.authenticate_05();
    auto c = s.read_as<v05::CheckProgram>();
    got.set_value(c);
    s.send(v05::Response{c.corr_id, true, "true"});
    s.turn_done();
    s.drain();
  });
  auto s = open(scripted(srv.port()));
  Reply r;
  s->query("program_exists", "std/echo@0.1.0#aaaa+bbbb", r.cb());  // 0.2's "#wasm+manifest" form
  ASSERT_TRUE(run_until([&] { return r.ready(); }));
  EXPECT_EQ(r.text(), "true");
  ASSERT_EQ(got_f.wait_for(5s), std::future_status::ready);
  const auto c = got_f.get();
  EXPECT_EQ(c.name, "echo");
  EXPECT_EQ(c.version, "0.1.0");
  EXPECT_EQ(c.wasm_hash, std::optional<std::string>("aaaa"));
  EXPECT_EQ(c.manifest_hash, std::nullopt);
  finish(s, srv);
}

// ---- text frames (the 0.5 edge) -----------------------------------------------------------

TEST_F(PieSession05Scripted, TextFramesBetweenRepliesAreIgnored) {
  Scripted05 srv([](Scripted05& s) {
    s.authenticate_05();
    auto p1 = s.read_as<v05::Ping>();
    s.send_text(R"({"type":"mystery","x":1})");
    s.send_text("not json at all");
    s.send_text(R"({"type":"turn_done"})");
    s.send(v05::Response{p1.corr_id, true, "Pong"});
    s.turn_done();
    auto l = s.read_as<v05::LaunchProcess>();
    s.send(v05::Response{l.corr_id, true, "p1"});
    s.turn_done();
    s.send(v05::ProcessEvent{"p1", "stdout", "a"});
    s.send_text(R"({"type":"something-new"})");
    s.send(v05::ProcessEvent{"p1", "stdout", "b"});
    s.turn_done();
    s.send(v05::ProcessEvent{"p1", "return", "ab"});
    auto p2 = s.read_as<v05::Ping>();
    s.send_text("[1,2,3]");
    s.send(v05::Response{p2.corr_id, true, "Pong"});
    s.turn_done();
    s.drain();
  });
  auto s = open(scripted(srv.port()));
  Reply pong1;
  s->ping(pong1.cb());
  ASSERT_TRUE(run_until([&] { return pong1.ready(); }));
  EXPECT_EQ(pong1.text(), "Pong");
  auto rec = std::make_shared<Recorder>();
  EXPECT_EQ(launch(s, rec, "echo@0.1.0"), "p1");
  ASSERT_TRUE(run_until([&] { return rec->end.has_value(); }));
  EXPECT_EQ(rec->log, (std::vector<std::string>{"out:a", "out:b", "end:Completed"}));
  EXPECT_EQ(rec->end_message, "ab");
  Reply pong2;
  s->ping(pong2.cb());
  ASSERT_TRUE(run_until([&] { return pong2.ready(); }));
  EXPECT_EQ(pong2.text(), "Pong");
  EXPECT_TRUE(s->is_open());
  EXPECT_EQ(s->pending_requests(), 0u);
  finish(s, srv);
}

TEST_F(PieSession05Scripted, TextErrorThenCloseIsAdmissionRefused) {
  Scripted05 srv([](Scripted05& s) {
    s.authenticate_05();
    auto l = s.read_as<v05::LaunchProcess>();
    s.send(v05::Response{l.corr_id, true, "p1"});
    s.turn_done();
    s.read_as<v05::Ping>();
    s.send_text(v05::encode_text_error("x"));
    s.close();
  });
  auto s = open(scripted(srv.port()));
  int closed_calls = 0;
  std::string closed_reason;
  s->on_closed([&](std::string reason) {
    ++closed_calls;
    closed_reason = reason;
  });
  auto rec = std::make_shared<Recorder>();
  launch(s, rec, "sleep@0.1.0", R"({"ms":60000})");
  Reply pending;
  s->ping(pending.cb());
  ASSERT_TRUE(run_until([&] { return pending.ready() && rec->end.has_value() && closed_calls > 0; }));
  EXPECT_FALSE(pending.ok());
  EXPECT_TRUE(contains(pending.text(), kAdmissionRefused)) << pending.text();
  EXPECT_TRUE(contains(pending.text(), "\"x\"")) << pending.text();
  EXPECT_EQ(rec->end, InstanceEnd::SessionLost);
  EXPECT_TRUE(contains(rec->end_message, kAdmissionRefused)) << rec->end_message;
  EXPECT_TRUE(contains(closed_reason, kAdmissionRefused)) << closed_reason;
  EXPECT_FALSE(s->is_open());
  run_for(50ms);
  EXPECT_EQ(closed_calls, 1);
  srv.join();
  EXPECT_EQ(srv.error(), "");
}

TEST_F(PieSession05Scripted, TextErrorFollowedByABinaryFrameIsNotWhyTheSocketCloses) {
  Scripted05 srv([](Scripted05& s) {
    s.authenticate_05();
    auto p1 = s.read_as<v05::Ping>();
    s.send_text(v05::encode_text_error("stream aborted"));  // logged, then superseded
    s.send(v05::Response{p1.corr_id, true, "Pong"});
    s.read_as<v05::Ping>();
    s.close();
  });
  auto s = open(scripted(srv.port()));
  Reply pong, pending;
  s->ping(pong.cb());
  ASSERT_TRUE(run_until([&] { return pong.ready(); }));
  EXPECT_EQ(pong.text(), "Pong");
  EXPECT_TRUE(s->is_open());  // a text error alone ends nothing
  s->ping(pending.cb());
  ASSERT_TRUE(run_until([&] { return pending.ready(); }));
  EXPECT_EQ(pending.text().rfind("error: session closed: ", 0), 0u) << pending.text();
  EXPECT_FALSE(contains(pending.text(), kAdmissionRefused)) << pending.text();
  EXPECT_FALSE(contains(pending.text(), "stream aborted")) << pending.text();
  srv.join();
  EXPECT_EQ(srv.error(), "");
}

}  // namespace
}  // namespace pg::pie
