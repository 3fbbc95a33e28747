// Issue 14 items 2 and 3 through the real daemon over two pie-sim servers: a small body that
// expands (pickle memo references, templates, {*args}) is refused 413 before any job or launch;
// a launch over a server's max_message_bytes is refused 413 without touching the sessions (and
// the instances already running on them); a launch refused for its own fault is not retried
// elsewhere; pie-sim itself drops a session that sends a frame over its --max-frame-bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <thread>

#include "support/cluster_stack.hpp"
#include "support/pie_test_client.hpp"
#include "support/process.hpp"
#include "value/base64.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

constexpr std::size_t kKiB = 1024;

const char* kEndpoints =
    "endpoints:\n"
    "  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: [\"{*args}\"]}\n"
    "  - {name: spread8, kind: rpc, inferlet: std/echo@0.1.0, arguments: [\"{*args}\", \"{*args}\", \"{*args}\","
    " \"{*args}\", \"{*args}\", \"{*args}\", \"{*args}\", \"{*args}\"]}\n"
    "  - {name: repeat16, kind: post, inferlet: std/echo@0.1.0, params: [{name: t}],"
    " arguments: [\"{t}{t}{t}{t}\", \"{t}{t}{t}{t}\", \"{t}{t}{t}{t}\", \"{t}{t}{t}{t}\"]}\n"
    "  - {name: big, kind: post, inferlet: std/echo@0.1.0, params: [{name: t}], arguments: [\"{t}\"]}\n"
    "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: t}], arguments: [\"{t}\"]}\n"
    "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
    " arguments: [\"--ms\", \"{ms}\"], timeout: 30s}\n"
    "jobs: {max_live: 100000}\n";

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

void le32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
}

/// pickle protocol 4 of a tuple holding one str of `str_bytes` 'a's `refs` times (memo references).
std::string memo_bomb(std::size_t str_bytes, std::size_t refs) {
  std::string p = "\x80\x04(";  // PROTO 4, MARK
  p += 'X';                     // BINUNICODE
  le32(p, str_bytes);
  p += std::string(str_bytes, 'a');
  p += 'q';  // BINPUT 0
  p += '\0';
  for (std::size_t i = 1; i < refs; ++i) p += std::string("h\0", 2);  // BINGET 0
  p += "t.";                                                           // TUPLE, STOP
  return p;
}

std::string rpc_body(const std::string& args_pickle) {
  return json{{"args", pg::base64_encode(args_pickle)}}.dump();
}

ClusterStack make_stack(std::vector<std::vector<std::string>> sim_args = {}, std::vector<std::string> server_yaml = {}) {
  ClusterOptions o;
  o.sims = 2;
  o.sim_args = std::move(sim_args);
  o.server_yaml = std::move(server_yaml);
  o.rest_yaml = kEndpoints;
  return ClusterStack(o);
}

/// A server counter from gateway/servers, summed over every server.
std::uint64_t total(const ClusterStack& st, const char* field) {
  std::uint64_t n = 0;
  for (const auto& s : st.servers()) n += s.value(field, std::uint64_t{0});
  return n;
}

std::size_t jobs_listed(HttpClient& c) { return parse(c.get("/gateway/jobs?limit=1000").body)["result"].size(); }

void expect_too_large(const pg::test::HttpResult& r, const std::string& names) {
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 400);
  auto b = parse(r.body);
  EXPECT_EQ(b.value("status", ""), "error") << r.body.substr(0, 400);
  EXPECT_EQ(b.value("type", ""), "PayloadTooLarge") << r.body.substr(0, 400);
  EXPECT_NE(b.value("message", "").find(names), std::string::npos) << r.body.substr(0, 400);
}

}  // namespace

// 133 KB of body naming one 100 KB str 100 times: 10 MB once expanded. Refused before any job or
// launch, and many such calls leave the daemon's memory where it was.
TEST(Amplification, PickleMemoBombIs413BeforeAnyJobAndCostsNoMemory) {
  auto st = make_stack();
  HttpClient c(st.http_port);
  const std::string body = rpc_body(memo_bomb(100 * kKiB, 100));
  ASSERT_LT(body.size(), 140 * kKiB);
  auto r = c.post("/echo_rpc", body, "application/json");
  expect_too_large(r, "the expansion limit, 4 x limits.max_body_bytes");
  EXPECT_EQ(jobs_listed(c), 0u);
  EXPECT_EQ(total(st, "launches"), 0u) << st.servers().dump();

  // The same body within the limit (10 references: 1 MB) runs: the limit is on size, not on memo use.
  auto ok = c.post("/echo_rpc", rpc_body(memo_bomb(100 * kKiB, 10)), "application/json");
  EXPECT_EQ(ok.status, 200) << ok.body.substr(0, 300);

  const long before = pg::test::rss_kib(st.gateway->pid());
  ASSERT_GT(before, 0);
  ASSERT_GT(before, 0u);
  const std::string bigger = rpc_body(memo_bomb(512 * kKiB, 2000));  // 1 GB once expanded
  for (int i = 0; i < 40; ++i) {
    auto again = c.post("/echo_rpc", i % 2 ? body : bigger, "application/json");
    ASSERT_EQ(again.status, 413) << again.body.substr(0, 300);
  }
  const long after = pg::test::rss_kib(st.gateway->pid());
  // Generous: under AddressSanitizer freed memory stays in its quarantine (256 MiB) for a while.
  EXPECT_LT(after, before + 320 * 1024) << "VmRSS grew from " << before << " KiB to " << after << " KiB";
  EXPECT_EQ(jobs_listed(c), 1u);
  EXPECT_EQ(total(st, "launches"), 1u);
  EXPECT_EQ(total(st, "reconnects"), 0u);
}

// Templates that repeat a parameter, and {*args} spread several times: refused before launching.
TEST(Amplification, TemplateAndSpreadBombsAre413BeforeAnyJob) {
  auto st = make_stack();
  HttpClient c(st.http_port);
  // 300 KB of parameter, 16 times in the argument list: 4.8 MB.
  const json params = {{"t", std::string(300 * kKiB, 'b')}};
  expect_too_large(c.post("/repeat16", params.dump(), "application/json"), "the expansion limit");
  // 600 KB of positional arguments spread 8 times: 4.8 MB.
  std::string p = "\x80\x04(X";
  le32(p, 600 * kKiB);
  p += std::string(600 * kKiB, 'c') + "t.";
  expect_too_large(c.post("/spread8", rpc_body(p), "application/json"), "the expansion limit");
  EXPECT_EQ(jobs_listed(c), 0u);
  EXPECT_EQ(total(st, "launches"), 0u);
  // Within the limit they run.
  auto ok = c.post("/repeat16", json{{"t", "ab"}}.dump(), "application/json");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(parse(ok.body)["result"], "abababab abababab abababab abababab") << ok.body;
}

// A launch over the servers' max_message_bytes (and pie-sim's frame limit) is refused 413 naming
// the limit; nothing is written, so no session drops and an instance already running completes.
TEST(Amplification, OversizedLaunchIs413AndNoSessionIsLost) {
  const std::vector<std::string> sim = {"--max-frame-bytes", "524288"};
  auto st = make_stack({sim, sim}, {"    max_message_bytes: 524288\n", "    max_message_bytes: 524288\n"});
  HttpClient c(st.http_port);
  std::vector<std::string> running;
  for (int i = 0; i < 4; ++i) {  // one on each session, most likely
    auto r = c.get("/sleep_async?ms=1500");
    ASSERT_EQ(r.status, 200) << r.body;
    running.push_back(parse(r.body)["result"].value("ID", ""));
  }
  const json params = {{"t", std::string(600 * kKiB, 'd')}};  // under the 4 MiB expansion limit
  auto r = c.post("/big", params.dump(), "application/json");
  expect_too_large(r, "max_message_bytes of 524288");
  EXPECT_EQ(total(st, "launch_failures"), 1u) << st.servers().dump();  // tried once, not on every session

  for (const auto& id : running) {
    bool done = ClusterStack::eventually(
        [&] { return parse(c.get("/asyncProbe?UUID=" + id).body)["result"].value("status", "") != "in_progress"; },
        20s);
    ASSERT_TRUE(done) << id;
    auto got = c.get("/asyncGet?UUID=" + id + "&format=json");
    EXPECT_EQ(got.status, 200) << got.body;
  }
  for (const auto& s : st.servers()) {
    EXPECT_EQ(s.value("reconnects", 1), 0) << s.dump();
    EXPECT_EQ(s.value("sessions_open", 0), 2) << s.dump();
    EXPECT_EQ(s.value("instances_lost", 1), 0) << s.dump();
  }
  // A launch just below the limit still goes out and runs.
  auto ok = c.post("/big", json{{"t", std::string(400 * kKiB, 'e')}}.dump(), "application/json");
  EXPECT_EQ(ok.status, 200) << ok.body.substr(0, 300);
  EXPECT_EQ(total(st, "reconnects"), 0u);
}

// A launch Pie refuses (its own fault) is not tried again on the other server.
TEST(Amplification, LaunchRefusedForItsOwnFaultIsNotRetried) {
  auto st = make_stack({{"--refuse-launches"}, {"--refuse-launches"}});
  HttpClient c(st.http_port);
  auto r = c.get("/echo?t=x");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(parse(r.body).value("type", ""), "LaunchRejected") << r.body;
  EXPECT_EQ(total(st, "launches"), 1u) << st.servers().dump();
  EXPECT_EQ(total(st, "reconnects"), 0u);
}

// pie-sim models the server's frame limit: a frame over --max-frame-bytes ends the session, one
// under it does not (the gateway's own check is bypassed: a plain test client sends them).
TEST(Amplification, PieSimDropsASessionThatSendsAnOversizedFrame) {
  const std::string log = pg::test::temp_dir() + "/pie-sim-frames.log";
  pg::test::Process sim({pg::test::binary_path("pie-sim"), "--port", "0", "--max-frame-bytes", "524288"}, log);
  const int port = sim.wait_for_port(10s);
  ASSERT_GT(port, 0);
  pg::test::PieTestClient under(static_cast<std::uint16_t>(port));
  ASSERT_TRUE(under.identify("alice"));
  ASSERT_TRUE(under.send_raw(std::string(500 * kKiB, '\xc1')));  // undecodable, under the limit: skipped
  EXPECT_TRUE(under.expect_silence(300ms));
  EXPECT_EQ(under.close_kind(), pg::test::PieTestClient::CloseKind::Open);

  pg::test::PieTestClient over(static_cast<std::uint16_t>(port));
  ASSERT_TRUE(over.identify("bob"));
  (void)over.send_raw(std::string(600 * kKiB, '\xc1'));  // may already fail: pie-sim closes as the frame arrives
  EXPECT_TRUE(over.wait_closed(5000ms));
  EXPECT_NE(over.close_kind(), pg::test::PieTestClient::CloseKind::Open);
  EXPECT_EQ(under.close_kind(), pg::test::PieTestClient::CloseKind::Open);
}
