// Conformance tests for `pie-sim --protocol 0.5`: the real binary on 127.0.0.1 driven through
// Pie05TestClient, one test per point of the contract in shared/protocols/pie-v0.5.md ("What
// pie-sim's 0.5 mode serves"). Every wait is bounded; nothing asserts on timing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "hash/blake3.hpp"
#include "pie/v05/codec.hpp"
#include "programs.hpp"  // pie_sim::pseudo_tokens
#include "support/pie05_test_client.hpp"
#include "support/process.hpp"

namespace {

namespace v05 = pg::pie::v05;
using namespace std::chrono_literals;
using Client = pg::test::Pie05TestClient;
using Clock = std::chrono::steady_clock;

// ---- harness ------------------------------------------------------------------------------

class Sim {
 public:
  explicit Sim(std::vector<std::string> args = {}) {
    std::vector<std::string> argv{pg::test::binary_path("pie-sim"), "--port", "0", "--protocol", "0.5"};
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = pg::test::temp_dir() + "/pie-sim.log";
    proc_ = std::make_unique<pg::test::Process>(argv, log_);
    port_ = static_cast<std::uint16_t>(proc_->wait_for_port(10s));
    if (port_ == 0) throw std::runtime_error("pie-sim did not start; see " + log_);
  }
  std::unique_ptr<Client> connect(std::string identity = "default/tester") {
    return std::make_unique<Client>(port_, identity);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::string log_;
  std::unique_ptr<pg::test::Process> proc_;
  std::uint16_t port_ = 0;
};

Sim& shared_sim() {
  static Sim sim;
  return sim;
}

std::optional<v05::Response> ask(Client& c, const v05::ClientMessage& m) { return c.request<v05::Response>(m); }

/// launch_process; the process id ("" when not capturing), or nullopt when the launch failed.
std::optional<std::string> launch(Client& c, const std::string& inferlet, const std::string& input, bool capture = true) {
  auto r = ask(c, v05::LaunchProcess{c.next_corr_id(), inferlet, input, capture});
  EXPECT_TRUE(r.has_value()) << inferlet << ": no reply";
  if (!r || !r->ok) return std::nullopt;
  return r->result;
}

struct Run {
  std::vector<std::string> out, err, messages;
  std::vector<v05::File> files;
  std::optional<v05::ProcessEvent> end;
  std::string stdout_text() const {
    std::string s;
    for (const auto& c : out) s += c;
    return s;
  }
  std::string file_bytes() const {
    std::string s;
    for (const auto& f : files) s += f.chunk_data;
    return s;
  }
};

/// Collects what process `id` sends until its terminal event (or the timeout).
Run collect(Client& c, const std::string& id, std::chrono::milliseconds timeout = 10000ms) {
  Run r;
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 100000 && !r.end; ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) break;
    auto m = c.recv(left);
    if (!m) break;
    if (auto* e = std::get_if<v05::ProcessEvent>(&*m); e && e->process_id == id) {
      if (e->event == "stdout") r.out.push_back(e->value);
      else if (e->event == "stderr") r.err.push_back(e->value);
      else if (e->event == "message") r.messages.push_back(e->value);
      else if (e->event == "return" || e->event == "error") r.end = *e;
      else ADD_FAILURE() << "unknown event " << e->event;
    } else if (auto* f = std::get_if<v05::File>(&*m); f && f->process_id == id) {
      r.files.push_back(*f);
    } else {
      ADD_FAILURE() << "unexpected " << v05::type_name(*m);
    }
  }
  EXPECT_TRUE(r.end.has_value()) << "process " << id << " did not end in time";
  return r;
}

nlohmann::json list(Client& c) {
  auto r = ask(c, v05::ListProcesses{c.next_corr_id()});
  EXPECT_TRUE(r && r->ok);
  auto j = nlohmann::json::parse(r ? r->result : "[]", nullptr, false);
  EXPECT_TRUE(j.is_array());
  return j.is_array() ? j : nlohmann::json::array();
}

bool listed(Client& c, const std::string& id) {
  for (const auto& p : list(c))
    if (p.value("id", "") == id) return true;
  return false;
}

/// Polls list_processes until `id` is (listed == want) or 5 s pass.
bool wait_listed(Client& c, const std::string& id, bool want) {
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    if (listed(c, id) == want) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 7;
  for (auto& c : s) c = static_cast<char>((x = x * 1664525u + 1013904223u) >> 24);
  return s;
}

/// Sends `bytes` as transfer_file chunks of 256 KiB (an empty file is one empty chunk).
void transfer(Client& c, const std::string& id, const std::string& bytes, std::string hash = {}) {
  if (hash.empty()) hash = pg::hash::blake3_hex(bytes);
  const std::uint64_t total = bytes.empty() ? 1 : (bytes.size() + v05::kChunkSize - 1) / v05::kChunkSize;
  for (std::uint64_t i = 0; i < total; ++i)
    ASSERT_TRUE(c.send(v05::TransferFile{id, hash, i, total, bytes.substr(std::min<std::size_t>(i * v05::kChunkSize, bytes.size()), v05::kChunkSize)}));
}

std::optional<v05::Response> add_program(Client& c, const std::string& bytes, const std::string& name,
                                         const std::string& version, bool force, std::string hash = {}) {
  if (hash.empty()) hash = pg::hash::blake3_hex(bytes);
  const auto manifest = "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n";
  const std::uint64_t total = bytes.empty() ? 1 : (bytes.size() + v05::kChunkSize - 1) / v05::kChunkSize;
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto piece = bytes.substr(std::min<std::size_t>(i * v05::kChunkSize, bytes.size()), v05::kChunkSize);
    if (!c.send(v05::AddProgram{c.next_corr_id(), hash, manifest, force, i, total, piece})) return std::nullopt;
  }
  return c.recv_as<v05::Response>();
}

// ==== handshake and framing ================================================================

TEST(PieSim05Handshake, IdentityRequiredOnV1Ws) {
  const auto port = shared_sim().port();
  EXPECT_EQ(Client::handshake_status(port, "/v1/ws", std::nullopt), 401);
  EXPECT_EQ(Client::handshake_status(port, "/v1/ws", "acme/"), 401);
  EXPECT_EQ(Client::handshake_status(port, "/v1/ws", ""), 401);
  EXPECT_EQ(Client::handshake_status(port, "/v1/ws", "acme/bob"), 101);
  EXPECT_EQ(Client::handshake_status(port, "/v1/ws", "bob"), 101);  // bare user = tenant default
}

TEST(PieSim05Handshake, OtherPathsAreRefused) {
  const auto port = shared_sim().port();
  EXPECT_EQ(Client::handshake_status(port, "/", "acme/bob"), 404);
  EXPECT_EQ(Client::handshake_status(port, "/v1/wsx", "acme/bob"), 404);
  EXPECT_EQ(Client::handshake_status(port, "/", std::nullopt), 404);
}

TEST(PieSim05Framing, PingThenTurnDone) {
  auto c = shared_sim().connect();
  ASSERT_TRUE(c->send(v05::Ping{42}));
  auto f = c->recv_frame();
  ASSERT_TRUE(f && !f->text);
  auto r = v05::decode_server(f->bytes);
  ASSERT_TRUE(r.ok());
  const auto& resp = std::get<v05::Response>(*r);
  EXPECT_EQ(resp.corr_id, 42u);
  EXPECT_TRUE(resp.ok);
  EXPECT_EQ(resp.result, "Pong");
  f = c->recv_frame();
  ASSERT_TRUE(f && f->text);
  EXPECT_EQ(v05::decode_text(f->bytes).kind, v05::TextFrame::Kind::TurnDone);
}

TEST(PieSim05Framing, AuthMessagesAndUnknownTypes) {
  auto c = shared_sim().connect();
  auto r = ask(*c, v05::AuthIdentify{1, "alice"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->result, "Already authenticated");
  r = ask(*c, v05::AuthProve{2, "AA=="});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->result, "Already authenticated");
  ASSERT_TRUE(c->send(v05::AuthByToken{3, "t"}));  // unknown on the 0.5 edge
  auto e = c->recv_text_error();
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("auth_by_token"), std::string::npos);
  ASSERT_TRUE(c->send_raw("\xc1 not msgpack"));
  EXPECT_TRUE(c->recv_text_error().has_value());
  ASSERT_TRUE(c->send_raw(v05::encode(v05::ServerMessage{v05::Response{1, true, "x"}})));
  e = c->recv_text_error();
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("response"), std::string::npos);
  ASSERT_TRUE(c->send_text("text frames from clients are ignored"));
  r = ask(*c, v05::Ping{4});  // the socket still serves
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, "Pong");
}

TEST(PieSim05Query, ModelStatusAndUnknownSubjects) {
  auto c = shared_sim().connect();
  auto r = ask(*c, v05::Query{1, "model_status", ""});
  ASSERT_TRUE(r && r->ok);
  auto j = nlohmann::json::parse(r->result, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r->result;
  EXPECT_TRUE(j.contains("pie-sim.kv_pages_used"));
  ASSERT_TRUE(c->await_turns(1));
  ASSERT_TRUE(c->send(v05::Query{2, "backend_stats", ""}));
  EXPECT_TRUE(c->await_turns(1)) << "no reply, but the turn ends";
  EXPECT_TRUE(c->expect_silence(200ms));
}

// ==== programs =============================================================================

TEST(PieSim05Programs, CheckAndAddProgram) {
  auto c = shared_sim().connect();
  auto check = [&](const std::string& n, const std::string& v) {
    auto r = ask(*c, v05::CheckProgram{c->next_corr_id(), n, v, std::string(64, 'a'), std::nullopt});
    EXPECT_TRUE(r && r->ok);
    return r ? r->result : std::string();
  };
  EXPECT_EQ(check("echo", "0.1.0"), "true");
  EXPECT_EQ(check("echo", "9.9.9"), "false");
  EXPECT_EQ(check("up05", "1.2.3"), "false");
  const auto a = pattern(600000), b = pattern(1000);  // three chunks, one chunk
  auto r = add_program(*c, a, "up05", "1.2.3", false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->result;
  EXPECT_EQ(r->result, pg::hash::blake3_hex(a));
  EXPECT_EQ(check("up05", "1.2.3"), "true");
  r = add_program(*c, b, "std/up05", "1.2.3", false);  // exists, no force: kept, still success
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->result, pg::hash::blake3_hex(a));
  r = add_program(*c, b, "up05", "1.2.3", true);  // forced: replaced
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->result, pg::hash::blake3_hex(b));
  // An uploaded program behaves like echo.
  auto id = launch(*c, "up05@1.2.3", R"({"text":"from upload"})");
  ASSERT_TRUE(id);
  auto run = collect(*c, *id);
  EXPECT_EQ(run.stdout_text(), "from upload");
  EXPECT_EQ(run.end->event, "return");
  EXPECT_EQ(run.end->value, "from upload");
}

TEST(PieSim05Programs, AddProgramRejections) {
  auto c = shared_sim().connect();
  auto r = add_program(*c, "bytes", "bad", "1.0.0", false, std::string(64, '0'));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->result.find("Hash mismatch"), std::string::npos);
  r = add_program(*c, "bytes", "acme/x", "1.0.0", false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->result.find("namespace"), std::string::npos);
  r = ask(*c, v05::AddProgram{9, "h", "[package]\nname=\"x\"\nversion=\"1.0.0\"\n", false, 1, 2, "x"});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->result, "First chunk index must be 0");
}

// ==== the registry =========================================================================

TEST(PieSim05Registry, Echo) {
  auto c = shared_sim().connect();
  auto id = launch(*c, "echo@0.1.0", R"({"text":"hello 0.5"})");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), 36u);
  auto run = collect(*c, *id);
  EXPECT_EQ(run.out, std::vector<std::string>{"hello 0.5"});
  EXPECT_EQ(run.end->event, "return");
  EXPECT_EQ(run.end->value, "hello 0.5");
}

TEST(PieSim05Registry, InvalidInputs) {
  auto c = shared_sim().connect();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"echo@0.1.0", "not json"},          {"echo@0.1.0", "{}"},
      {"echo@0.1.0", R"({"text":5})"},     {"echo@0.1.0", "[1]"},
      {"text-completion@0.1.0", "{}"},     {"text-completion@0.1.0", R"({"prompt":"p","max_tokens":"x"})"},
      {"text-completion@0.1.0", R"({"prompt":"p","max_tokens":5000})"},
      {"sleep@0.1.0", R"({})"},            {"sleep@0.1.0", R"({"ms":-1})"},
      {"image@0.1.0", R"({"size":0})"}};
  for (const auto& [inferlet, input] : cases) {
    auto id = launch(*c, inferlet, input);
    ASSERT_TRUE(id) << inferlet;
    auto run = collect(*c, *id);
    ASSERT_TRUE(run.end);
    EXPECT_EQ(run.end->event, "error") << inferlet << " " << input;
    EXPECT_EQ(run.end->value.rfind("invalid input: ", 0), 0u) << run.end->value;
  }
}

TEST(PieSim05Registry, TextCompletion) {
  auto c = shared_sim().connect();
  auto id = launch(*c, "text-completion@0.1.0", R"({"prompt":"Hello there","max_tokens":5})");
  ASSERT_TRUE(id);
  auto run = collect(*c, *id);
  EXPECT_EQ(run.out, pie_sim::pseudo_tokens("Hello there", 5));
  EXPECT_EQ(run.end->value, run.stdout_text());
  id = launch(*c, "text-completion@0.1.0", R"({"prompt":"x"})");  // max_tokens defaults to 16
  ASSERT_TRUE(id);
  EXPECT_EQ(collect(*c, *id).out.size(), 16u);
}

TEST(PieSim05Registry, SleepFailChat) {
  auto c = shared_sim().connect();
  auto id = launch(*c, "sleep@0.1.0", R"({"ms":30})");
  ASSERT_TRUE(id);
  auto run = collect(*c, *id);
  EXPECT_EQ(run.end->event, "return");
  EXPECT_EQ(run.end->value, "slept 30 ms");

  id = launch(*c, "fail@0.1.0", "anything at all");
  ASSERT_TRUE(id);
  run = collect(*c, *id);
  EXPECT_EQ(run.err.size(), 1u);
  EXPECT_EQ(run.end->event, "error");
  EXPECT_EQ(run.end->value, "simulated failure");

  id = launch(*c, "chat@0.1.0", "{}");
  ASSERT_TRUE(id);
  ASSERT_TRUE(c->send(v05::SignalProcess{*id, "hi"}));
  ASSERT_TRUE(c->send(v05::SignalProcess{*id, "bye"}));
  run = collect(*c, *id);
  EXPECT_EQ(run.messages, (std::vector<std::string>{"echo: hi", "echo: bye"}));  // 0.5: "bye" is echoed too
  EXPECT_EQ(run.end->event, "return");
  EXPECT_EQ(run.end->value, "bye");
}

TEST(PieSim05Registry, FileEchoRoundTrips) {
  auto c = shared_sim().connect();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{262144}, std::size_t{262145}, std::size_t{3 << 20}}) {
    const auto bytes = pattern(n);
    auto id = launch(*c, "file-echo@0.1.0", "{}");
    ASSERT_TRUE(id);
    transfer(*c, *id, "wrong", std::string(64, '0'));  // hash mismatch: dropped silently
    transfer(*c, *id, bytes);
    auto run = collect(*c, *id);
    const std::uint64_t chunks = n == 0 ? 1 : (n + v05::kChunkSize - 1) / v05::kChunkSize;
    ASSERT_EQ(run.files.size(), chunks) << n;
    for (std::size_t i = 0; i < run.files.size(); ++i) {
      EXPECT_EQ(run.files[i].chunk_index, i);
      EXPECT_EQ(run.files[i].total_chunks, chunks);
      EXPECT_EQ(run.files[i].file_hash, pg::hash::blake3_hex(bytes));
      EXPECT_EQ(run.files[i].name, std::optional<std::string>("echo.bin"));
      EXPECT_LE(run.files[i].chunk_data.size(), v05::kChunkSize);
    }
    EXPECT_TRUE(run.file_bytes() == bytes) << n;
    EXPECT_EQ(run.end->value, std::to_string(n) + " bytes");
  }
  EXPECT_LE(c->max_frame_bytes(), v05::kMaxFrameBytes);
}

TEST(PieSim05Registry, Image) {
  auto c = shared_sim().connect();
  auto id = launch(*c, "image@0.1.0", R"({"size":8})");
  ASSERT_TRUE(id);
  auto run = collect(*c, *id);
  ASSERT_EQ(run.files.size(), 1u);
  EXPECT_EQ(run.files[0].name, std::optional<std::string>("image.png"));
  const auto png = run.file_bytes();
  EXPECT_EQ(png.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(run.end->value, "png " + std::to_string(png.size()) + " bytes");
  id = launch(*c, "image@0.1.0", "{}");  // size defaults to 16
  ASSERT_TRUE(id);
  EXPECT_EQ(collect(*c, *id).files.size(), 1u);
}

TEST(PieSim05Registry, LaunchFailuresAndCaptureOff) {
  auto c = shared_sim().connect();
  for (const auto* bad : {"nope@0.1.0", "std/echo@0.1.0", "echo", "echo@latest", "echo@0.1"}) {
    auto r = ask(*c, v05::LaunchProcess{c->next_corr_id(), bad, R"({"text":"x"})", true});
    ASSERT_TRUE(r) << bad;
    EXPECT_FALSE(r->ok) << bad;
  }
  auto r = ask(*c, v05::LaunchProcess{c->next_corr_id(), "sleep@0.1.0", R"({"ms":60000})", false});
  ASSERT_TRUE(r && r->ok);
  EXPECT_EQ(r->result, "");
  // Not captured: nothing is sent to this socket, but the process is live and listed.
  std::string found;
  for (const auto& p : list(*c))
    if (p.value("input", "") == R"({"ms":60000})") found = p.value("id", "");
  ASSERT_FALSE(found.empty());
  auto t = ask(*c, v05::TerminateProcess{c->next_corr_id(), found});
  ASSERT_TRUE(t && t->ok);
  EXPECT_TRUE(c->await_turns(1));
  EXPECT_TRUE(c->expect_silence(200ms)) << "a process launched without capture sends nothing here";
}

// ==== lifecycle ============================================================================

TEST(PieSim05Lifecycle, ListShowsLiveProcesses) {
  auto c = shared_sim().connect("acme/lister");
  auto id = launch(*c, "sleep@0.1.0", R"({"ms":60000})");
  ASSERT_TRUE(id);
  bool seen = false;
  for (const auto& p : list(*c)) {
    if (p.value("id", "") != *id) continue;
    seen = true;
    EXPECT_EQ(p.value("username", ""), "internal");
    EXPECT_EQ(p.value("program", ""), "sleep@0.1.0");
    EXPECT_EQ(p.value("input", ""), R"({"ms":60000})");
    EXPECT_TRUE(p.contains("elapsed_secs") && p["elapsed_secs"].is_number_unsigned());
  }
  EXPECT_TRUE(seen);
  auto done = launch(*c, "echo@0.1.0", R"({"text":"x"})");
  ASSERT_TRUE(done);
  collect(*c, *done);
  EXPECT_FALSE(listed(*c, *done)) << "finished processes are not listed";
}

TEST(PieSim05Lifecycle, TerminateAndUnknownIds) {
  auto c = shared_sim().connect();
  auto id = launch(*c, "sleep@0.1.0", R"({"ms":60000})");
  ASSERT_TRUE(id);
  auto r = ask(*c, v05::TerminateProcess{c->next_corr_id(), *id});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->result, "Process terminated");
  auto ev = c->recv_as<v05::ProcessEvent>();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->process_id, *id);
  EXPECT_EQ(ev->event, "error");
  EXPECT_EQ(ev->value, "Signal");
  for (const auto& bad : {*id, std::string("3f2b8c1e-9a4d-4e7f-8b1a-0c2d3e4f5a6b"), std::string("not-a-uuid")}) {
    r = ask(*c, v05::TerminateProcess{c->next_corr_id(), bad});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->result, "Process not found");
    r = ask(*c, v05::AttachProcess{c->next_corr_id(), bad});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->result, "Process not found");
  }
  ASSERT_TRUE(c->send(v05::SignalProcess{"not-a-uuid", "x"}));  // no reply, nothing breaks
  EXPECT_TRUE(c->await_turns(1));
}

TEST(PieSim05Lifecycle, AttachedElsewhereIsNotFound) {
  auto a = shared_sim().connect();
  auto b = shared_sim().connect();
  auto id = launch(*a, "sleep@0.1.0", R"({"ms":60000})");
  ASSERT_TRUE(id);
  auto r = ask(*b, v05::AttachProcess{b->next_corr_id(), *id});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->result, "Process not found");
  r = ask(*b, v05::TerminateProcess{b->next_corr_id(), *id});  // anyone may terminate
  ASSERT_TRUE(r && r->ok);
  auto ev = a->recv_as<v05::ProcessEvent>();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->value, "Signal");
}

TEST(PieSim05Lifecycle, SocketCloseTerminatesItsProcesses) {
  auto watcher = shared_sim().connect();
  for (bool polite : {true, false}) {
    auto c = shared_sim().connect();
    auto id = launch(*c, "sleep@0.1.0", R"({"ms":60000})");
    ASSERT_TRUE(id);
    EXPECT_TRUE(listed(*watcher, *id));
    polite ? c->close() : c->drop();
    EXPECT_TRUE(wait_listed(*watcher, *id, false)) << (polite ? "close" : "drop");
    auto r = ask(*watcher, v05::AttachProcess{watcher->next_corr_id(), *id});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok);
  }
}

TEST(PieSim05DetachOnClose, ReplayOnAttachAndGoneAfterEnding) {
  Sim sim({"--detach-on-close", "--token-delay-ms", "20"});
  auto a = sim.connect();
  auto id = launch(*a, "text-completion@0.1.0", R"({"prompt":"resume me","max_tokens":100})");
  ASSERT_TRUE(id);
  auto first = a->recv_as<v05::ProcessEvent>();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->event, "stdout");
  a->drop();
  auto b = sim.connect();
  ASSERT_TRUE(wait_listed(*b, *id, true));
  // The drop is noticed by the server soon; until then the process still counts as attached.
  std::optional<v05::Response> r;
  for (int i = 0; i < 250 && !(r && r->ok); ++i) {
    r = ask(*b, v05::AttachProcess{b->next_corr_id(), *id});
    if (!(r && r->ok)) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(r && r->ok);
  EXPECT_EQ(r->result, "Process attached");
  auto run = collect(*b, *id);
  std::string all = first->value + run.stdout_text();
  EXPECT_EQ(run.end->event, "return");
  EXPECT_EQ(all, run.end->value) << "replayed + live output is the whole completion";

  // A process that ends while detached is gone.
  auto c = sim.connect();
  auto short_id = launch(*c, "sleep@0.1.0", R"({"ms":50})");
  ASSERT_TRUE(short_id);
  c->close();
  EXPECT_TRUE(wait_listed(*b, *short_id, false));
  r = ask(*b, v05::AttachProcess{b->next_corr_id(), *short_id});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->result, "Process not found");
}

TEST(PieSim05Admission, FullServerRefusesEveryRequestAndCloses) {
  Sim sim({"--max-processes", "2"});
  auto a = sim.connect();
  ASSERT_TRUE(launch(*a, "sleep@0.1.0", R"({"ms":60000})"));
  ASSERT_TRUE(launch(*a, "sleep@0.1.0", R"({"ms":60000})"));
  auto b = sim.connect();
  ASSERT_TRUE(b->send(v05::Ping{1}));
  auto e = b->recv_text_error();
  ASSERT_TRUE(e);
  EXPECT_NE(e->find("capacity"), std::string::npos) << *e;
  EXPECT_TRUE(b->wait_closed());
  // The full socket itself is refused too, which terminates its processes ...
  ASSERT_TRUE(a->send(v05::Ping{2}));
  EXPECT_TRUE(a->recv_text_error().has_value());
  EXPECT_TRUE(a->wait_closed());
  // ... so the server admits again.
  std::optional<v05::Response> r;
  for (int i = 0; i < 100 && !r; ++i) {
    auto c = sim.connect();
    if (c->send(v05::Ping{3})) r = c->recv_as<v05::Response>(1000ms);
    if (!r) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, "Pong");
}

// ==== faults and options ===================================================================

TEST(PieSim05Faults, DropAfterClosesAbruptlyAndTerminates) {
  Sim sim({"--drop-after", "3"});
  auto c = sim.connect();
  auto r = ask(*c, v05::Ping{1});  // frames 1 (response) and 2 (turn_done)
  ASSERT_TRUE(r);
  ASSERT_TRUE(c->send(v05::Ping{2}));  // frame 3, then the drop
  r = c->recv_as<v05::Response>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(c->wait_closed());
  EXPECT_EQ(c->close_kind(), Client::CloseKind::Abrupt);
}

TEST(PieSim05Faults, DropFlushDetachesInstead) {
  Sim sim({"--drop-after", "2", "--drop-flush"});
  auto c = sim.connect();
  auto id = launch(*c, "sleep@0.1.0", R"({"ms":60000})");  // response, turn_done: then the drop
  ASSERT_TRUE(id);
  EXPECT_TRUE(c->wait_closed());
  auto w = sim.connect();
  ASSERT_TRUE(w->send(v05::AttachProcess{1, *id}));  // w will be dropped after 2 frames as well
  auto r = w->recv_as<v05::Response>();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << "the dropped socket's process was detached, not terminated: " << r->result;
}

TEST(PieSim05Faults, RefuseLaunchesReplyDelayStall) {
  Sim sim({"--refuse-launches", "--reply-delay-ms", "20", "--stall-after", "2"});
  auto c = sim.connect();
  auto r = ask(*c, v05::LaunchProcess{1, "echo@0.1.0", "{}", true});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->result, "launch refused (fault injection)");
  r = ask(*c, v05::Ping{2});
  ASSERT_TRUE(r);
  ASSERT_TRUE(c->send(v05::Ping{3}));  // stalled: never answered, socket open
  EXPECT_FALSE(c->recv_as<v05::Response>(300ms).has_value());
  EXPECT_EQ(c->close_kind(), Client::CloseKind::Open);
}

TEST(PieSim05Options, AuthModesAreRefused) {
  const auto log = pg::test::temp_dir() + "/pie-sim.log";
  pg::test::Process p({pg::test::binary_path("pie-sim"), "--protocol", "0.5", "--auth", "token", "--token", "x"}, log);
  EXPECT_EQ(p.wait(5s), std::optional<int>(2));
}

TEST(PieSim05Framing, LongOutputIsSplitBelowTheFrameLimit) {
  auto c = shared_sim().connect();
  const std::string text(3 * 1024 * 1024 + 5, 'x');
  auto id = launch(*c, "echo@0.1.0", nlohmann::json{{"text", text}}.dump());
  ASSERT_TRUE(id);
  auto run = collect(*c, *id);
  EXPECT_GE(run.out.size(), 4u);
  EXPECT_EQ(run.stdout_text(), text);
  EXPECT_LE(c->max_frame_bytes(), 1024u * 1024 + 1024);
}

}  // namespace
