// The gateway in front of Pie 0.5-line servers (pie-sim --protocol 0.5 on loopback): the shipped
// configuration unchanged but for its server's `protocol: "0.5"`, every front door (HTTP, the
// Python TARP client, SSE, gRPC from Python, conversations, a file input and a blob result,
// fan-out), and the lifecycle the 0.5 edge imposes: a SIGKILLed server failing over, a dropped
// socket terminating its processes (a clear error, or a relaunch when idempotent), re-attach on a
// server that keeps detached processes, admission refusals as backpressure, and a mixed 0.2 +
// 0.5 cluster.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/cluster_stack.hpp"
#include "support/process.hpp"
#include "support/script_checks.hpp"
#include "support/sse_client.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

const std::vector<std::string> kSim05 = {"--protocol", "0.5"};
const std::string kServer05 = "    protocol: \"0.5\"\n";

json parse(const std::string& body) { return json::parse(body, nullptr, false); }

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json job(HttpClient& c, const std::string& id) {
  auto jobs = parse(c.get("/gateway/jobs?limit=1000").body)["result"];
  for (const auto& j : jobs)
    if (j.value("id", "") == id) return j;
  return nullptr;
}

/// Polls an async handle until it is no longer in progress (bounded).
json wait_probe(HttpClient& c, const std::string& id) {
  json p;
  ClusterStack::eventually(
      [&] {
        p = parse(c.get("/asyncProbe?UUID=" + id).body)["result"];
        return p.is_object() && p.value("status", "") != "in_progress";
      },
      20s);
  return p;
}

/// One 0.5 sim with `sim_args`, the given endpoints (and anything else after `servers:`).
ClusterOptions one_sim05(const std::string& rest, std::vector<std::string> extra_args = {}) {
  ClusterOptions o;
  o.sims = 1;
  auto args = kSim05;
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  o.sim_args = {args};
  o.server_yaml = {kServer05};
  o.rest_yaml = rest;
  return o;
}

}  // namespace

// ---- the shipped configuration, unchanged but for protocol "0.5" ----------------------------

TEST(Pie05Gateway, ShippedConfigServesEveryEndpointOnA05Server) {
  const auto dir = pg::test::temp_dir();
  pg::test::Process sim({pg::test::binary_path("pie-sim"), "--port", "0", "--protocol", "0.5"}, dir + "/pie-sim.log");
  const int sim_port = sim.wait_for_port(10s);
  ASSERT_GT(sim_port, 0);
  std::string yaml = read_all(std::string(PG_SOURCE_DIR) + "/config/gateway.yaml");
  // Only the server's address and protocol change (and the listen ports, to run beside others).
  const std::string uri = "    uri: ws://127.0.0.1:9123/\n";
  ASSERT_NE(yaml.find(uri), std::string::npos);
  yaml.replace(yaml.find(uri), uri.size(), "    uri: ws://127.0.0.1:" + std::to_string(sim_port) + "/\n" + kServer05);
  yaml = std::regex_replace(yaml, std::regex("http: 127\\.0\\.0\\.1:8080"), "http: 127.0.0.1:0");
  yaml = std::regex_replace(yaml, std::regex("grpc: 127\\.0\\.0\\.1:50051"), "grpc: 127.0.0.1:0");
  pg::test::write_file(dir + "/gateway.yaml", yaml);
  pg::test::Process gw({pg::test::binary_path("pie-gateway"), "--config", dir + "/gateway.yaml"}, dir + "/gateway.log");
  const int port = gw.wait_for_port(10s, "pie-gateway listening on");
  ASSERT_GT(port, 0) << read_all(dir + "/gateway.log");
  HttpClient c(port);
  ASSERT_TRUE(ClusterStack::eventually([&] { return c.get("/readyz").status == 200; }, 10s))
      << read_all(dir + "/gateway.log");

  auto r = c.get("/echo?text=hello");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"], "hello");
  r = c.get("/complete?prompt=Once+upon+a+time&max_tokens=8");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(parse(r.body)["result"].get<std::string>().empty());
  r = c.post("/complete", R"({"prompt":"Hi","max_tokens":4})", "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  r = c.get("/sleep?ms=50");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = parse(r.body)["result"].value("ID", "");
  ASSERT_FALSE(id.empty()) << r.body;
  EXPECT_EQ(wait_probe(c, id)["status"], "completed");
  r = c.get("/asyncGet?UUID=" + id + "&format=json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("slept 50 ms"), std::string::npos) << r.body;
  r = c.get("/image?size=8");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "image/png");
  EXPECT_EQ(r.body.substr(0, 4), "\x89PNG");
  // gateway/servers says which line it speaks.
  auto servers = parse(c.get("/gateway/servers").body)["result"];
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0]["protocol"], "0.5");
  EXPECT_NE(c.get("/metrics").body.find("pie_gateway_pie_server_info{protocol=\"0.5\",server=\"local\"} 1"),
            std::string::npos);

  // RPC and async RPC through the Python TARP client, as the README shows them.
  const std::string py = "import sys; sys.path.insert(0, sys.argv[1]); from tarp_client import Client\n"
                         "from checks import check, expect, finish\n"
                         "c = Client(sys.argv[2])\n"
                         "def rpc():\n    r = c.echo_rpc('a', 'b'); expect(r == 'a b', repr(r))\n"
                         "def asyncrpc():\n    r = c.sleep_async(ms=100).wait(); expect(r == 'slept 100 ms', repr(r))\n"
                         "def fails():\n"
                         "    try:\n        c.fail_async().wait()\n    except Exception as e:\n"
                         "        expect('simulated failure' in str(e), str(e)); return\n"
                         "    raise AssertionError('no error')\n"
                         "check('echo_rpc', rpc)\ncheck('sleep_async', asyncrpc)\ncheck('fail_async fails', fails)\n"
                         "finish()\n";
  pg::test::write_file(dir + "/shipped.py", py);
  auto report = pg::test::run_checks({"/usr/bin/python3", dir + "/shipped.py", std::string(PG_SOURCE_DIR) + "/tests/python",
                                      "http://127.0.0.1:" + std::to_string(port)},
                                     dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << read_all(dir + "/python.log");
  EXPECT_EQ(report.ok, 3);
}

// ---- the front doors ------------------------------------------------------------------------

TEST(Pie05Gateway, UnchangedTarpPythonSession) {
  // tests/python/tarp_session.py's endpoints, as a 0.5 lab would write them.
  pg::test::StackOptions o;
  o.sim_args = kSim05;
  o.servers_yaml = "servers:\n  - name: sim\n    uri: ws://127.0.0.1:@PORT@/\n" + kServer05;
  o.endpoints_yaml = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_async, kind: get, async: true, suggested_wait: 100ms, inferlet: std/echo@0.1.0,
     params: [{name: text}], arguments: ["{text}"]}
  - name: complete
    kind: post
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"], launch_input: {text: "{*args}"}}
  - {name: echo_rpc_kw, kind: rpc, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: json_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"], result: json,
     launch_input: {text: "{*args}"}}
  - {name: sleep_async, kind: asyncrpc, inferlet: std/sleep@0.1.0, suggested_wait: 100ms,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: fail_async, kind: asyncrpc, inferlet: std/fail@0.1.0, suggested_wait: 100ms}
jobs:
  retention: 3s
)";
  pg::test::Stack stack(o);
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/tarp_session.py",
                                      "http://127.0.0.1:" + std::to_string(stack.http_port)},
                                     stack.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_GE(report.ok, 16);
}

TEST(Pie05Gateway, GrpcFromPython) {
  pg::test::StackOptions o;
  o.sim_args = kSim05;
  o.servers_yaml = "servers:\n  - name: sim\n    uri: ws://127.0.0.1:@PORT@/\n" + kServer05;
  o.grpc = true;
  o.endpoints_yaml = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: fail, kind: get, inferlet: std/fail@0.1.0, group: g1}
  - {name: chat, kind: session, inferlet: std/chat@0.1.0}
groups:
  g1: [sim]
)";
  pg::test::Stack stack(o);
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/grpc_session.py",
                                      "127.0.0.1:" + std::to_string(stack.grpc_port), std::string(PG_SOURCE_DIR) + "/proto"},
                                     stack.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_GE(report.ok, 20);
}

TEST(Pie05Gateway, SseConversationFileInputBlobResult) {
  ClusterStack st(one_sim05(
      "endpoints:\n"
      "  - {name: complete, kind: get, inferlet: std/text-completion@0.1.0, result: stdout,"
      " params: [{name: prompt}, {name: max_tokens, type: int, default: \"6\"}]}\n"
      "  - {name: chat, kind: session, inferlet: std/chat@0.1.0, timeout: 5s}\n"
      "  - {name: file_echo, kind: post, inferlet: file-echo@0.1.0, input: {send: blob, from: body}, result: blob}\n"));
  auto c = st.client();
  // SSE: the tokens as they come, then the end.
  pg::test::SseClient sse(st.http_port);
  auto head = sse.open("GET", "/complete?prompt=sse&max_tokens=6", {{"Accept", "text/event-stream"}});
  ASSERT_EQ(head.status, 200) << head.body;
  auto events = sse.rest(15s);
  int tokens = 0;
  for (const auto& e : events) tokens += e.event == "stdout";
  EXPECT_EQ(tokens, 6);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "result") << events.back().data;

  // A conversation with chat@0.1.0.
  auto r = c.post("/chat/open", "{}", "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = parse(r.body)["result"].value("session", "");
  for (const std::string text : {"one", "two"}) {
    r = c.post("/chat/send", json{{"session", id}, {"message", text}}.dump(), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(parse(r.body)["result"]["reply"], "echo: " + text);
  }
  r = c.post("/chat/close", json{{"session", id}}.dump(), "application/json");
  EXPECT_EQ(r.status, 200) << r.body;

  // A body in as a file, the file back as the raw result, byte for byte (across chunk edges).
  for (std::size_t n : {std::size_t{1}, std::size_t{262144}, std::size_t{262145}, std::size_t{700001}}) {
    std::string body(n, '\0');
    for (std::size_t i = 0; i < n; ++i) body[i] = static_cast<char>((i * 7 + n) & 0xff);
    r = c.post("/file_echo", body, "application/octet-stream");
    ASSERT_EQ(r.status, 200) << n << ": " << r.body.substr(0, 300);
    EXPECT_EQ(r.body.size(), n);
    EXPECT_TRUE(r.body == body) << n;
  }
}

TEST(Pie05Gateway, FanOutAcrossTwo05Servers) {
  ClusterOptions o;
  o.sims = 2;
  o.sim_args = {kSim05, kSim05};
  o.server_yaml = {kServer05, kServer05};
  o.rest_yaml = "endpoints:\n"
                "  - {name: everywhere, kind: get, fanout: all, inferlet: std/echo@0.1.0, params: [{name: text}]}\n";
  ClusterStack st(o);
  auto c = st.client();
  auto r = c.get("/everywhere?text=hi");
  ASSERT_EQ(r.status, 200) << r.body;
  auto result = parse(r.body)["result"];
  ASSERT_TRUE(result.is_array()) << r.body;
  ASSERT_EQ(result.size(), 2u) << r.body;
  for (const auto& one : result) EXPECT_EQ(one.value("result", ""), "hi") << one.dump();
}

// ---- the lifecycle of the 0.5 edge --------------------------------------------------------------

TEST(Pie05Cluster, KilledServerFailsOverWithinTheRetryBudget) {
  ClusterOptions o;
  o.sims = 2;
  // sim0 answers slowly, so that launches are still pending on it when it dies.
  o.sim_args = {{"--protocol", "0.5", "--reply-delay-ms", "150"}, kSim05};
  o.server_yaml = {kServer05, kServer05};
  o.rest_yaml = "cluster: {ping_interval: 500ms, ping_timeout: 2s, server_lost_after: 2s, retry_budget: 2}\n"
                "endpoints:\n"
                "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
                " timeout: 60s}\n"
                "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}]}\n";
  ClusterStack st(o);
  auto c = st.client();
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(parse(c.get("/sleep_async?ms=1500").body)["result"].value("ID", ""));
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["launching"].get<int>() >= 1; }, 10s))
      << st.servers().dump();
  st.kill_sim(0);
  // Launches pending on sim0 went on to sim1; what already ran on sim0 fails with the clear error.
  int completed = 0, lost = 0;
  for (const auto& id : ids) {
    auto p = wait_probe(c, id);
    ASSERT_NE(p.value("status", ""), "in_progress") << p.dump();
    if (p["status"] == "completed") {
      ++completed;
      continue;
    }
    auto j = job(c, id);
    EXPECT_EQ(j["error"]["type"], "PieSessionLost") << j.dump();
    EXPECT_EQ(j.value("server", ""), "sim0") << j.dump();
    ++lost;
  }
  EXPECT_EQ(completed + lost, 30);
  EXPECT_GE(completed, 15) << "sim1's share and sim0's pending launches";
  for (int i = 0; i < 10; ++i) {
    auto r = c.get("/echo?text=n" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body << st.servers().dump();
  }
  EXPECT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["state"] != "healthy"; }, 10s));
}

TEST(Pie05Cluster, DroppedSocketTerminatesItsProcessesClearErrorOrRelaunch) {
  // The sim drops each socket after sending 3 messages on it (the 0.5 edge then terminates the
  // socket's processes, so re-attaching finds nothing).
  ClusterStack st(one_sim05(
      "cluster: {ping_interval: 1m}\n"
      "endpoints:\n"
      "  - {name: slow, kind: get, async: true, inferlet: std/text-completion@0.1.0, timeout: 30s,"
      " params: [{name: prompt}, {name: max_tokens, type: int}]}\n"
      "  - {name: slow_idem, kind: get, async: true, idempotent: true, inferlet: std/sleep@0.1.0, timeout: 30s,"
      " params: [{name: ms, type: int}]}\n",
      {"--drop-after", "3", "--token-delay-ms", "20"}));
  auto c = st.client();
  auto r = c.get("/slow?prompt=drop&max_tokens=50");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = parse(r.body)["result"].value("ID", "");
  auto p = wait_probe(c, id);
  EXPECT_EQ(p["status"], "failed") << p.dump();
  const auto j = job(c, id);
  ASSERT_FALSE(j.is_null());
  const std::string msg = j["error"].value("message", "");
  EXPECT_NE(msg.find("Pie server sim0 dropped the session"), std::string::npos) << j.dump();
  EXPECT_NE(msg.find("the process was terminated"), std::string::npos) << j.dump();
  EXPECT_EQ(j["error"]["type"], "PieSessionLost") << j.dump();
  // The gateway keeps serving on new sessions.
  EXPECT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["sessions_open"] == 2; }, 10s));
  (void)st.gateway_log();
}

TEST(Pie05Cluster, IdempotentEndpointIsRelaunchedAfterADroppedSocket) {
  ClusterStack st(one_sim05(
      "cluster: {ping_interval: 1m}\n"
      "endpoints:\n"
      "  - {name: stream_idem, kind: get, idempotent: true, inferlet: std/text-completion@0.1.0, timeout: 30s,"
      " result: return, params: [{name: prompt}, {name: max_tokens, type: int}]}\n",
      {"--drop-after", "40", "--token-delay-ms", "2"}));
  auto c = st.client();
  // 30 tokens + the reply + turn frames fit in 40 messages on a fresh socket, but not on one
  // that already carried another call: some calls meet a drop and run again.
  for (int i = 0; i < 4; ++i) {
    auto r = c.get("/stream_idem?prompt=idem&max_tokens=30");
    ASSERT_EQ(r.status, 200) << r.body << st.gateway_log();
    EXPECT_EQ(parse(r.body)["result"].get<std::string>().empty(), false);
  }
  EXPECT_NE(st.gateway_log().find("relaunched"), std::string::npos);
}

TEST(Pie05Cluster, DetachOnCloseServerReattachesWithOutputIntact) {
  // A 0.5 direct server (or 0.4.0) keeps a dropped socket's processes: they are re-attached.
  ClusterOptions o;
  o.sims = 2;
  o.sim_args = {{"--protocol", "0.5", "--token-delay-ms", "3"},
                {"--protocol", "0.5", "--token-delay-ms", "3", "--detach-on-close", "--drop-after", "40", "--drop-flush"}};
  o.server_yaml = {kServer05 + "    labels: {kind: calm}\n", kServer05 + "    labels: {kind: flaky}\n"};
  o.rest_yaml = "groups:\n  calm: [sim0]\n  flaky: [sim1]\n"
                "cluster: {ping_interval: 1m}\n"
                "endpoints:\n"
                "  - {name: calm, kind: get, group: calm, inferlet: std/text-completion@0.1.0, result: stdout,"
                " params: [{name: prompt}, {name: max_tokens, type: int}]}\n"
                "  - {name: flaky, kind: get, group: flaky, inferlet: std/text-completion@0.1.0, result: stdout,"
                " params: [{name: prompt}, {name: max_tokens, type: int}]}\n";
  ClusterStack st(o);
  HttpClient c(st.http_port);
  // A process that happens to end while it is detached is gone with its result (the 0.5 line
  // keeps no finished detached process): such a round fails with the clear error; the others
  // must come back whole.
  int intact = 0;
  for (int round = 0; round < 6 && intact < 2; ++round) {
    const std::string q = "?prompt=round" + std::to_string(round) + "&max_tokens=200";
    auto calm = c.get("/calm" + q);
    auto flaky = c.get("/flaky" + q);
    ASSERT_EQ(calm.status, 200) << calm.body;
    if (flaky.status != 200) {
      EXPECT_EQ(flaky.status, 502) << flaky.body;
      EXPECT_NE(flaky.body.find("Pie server sim1 dropped the session"), std::string::npos) << flaky.body;
      continue;
    }
    EXPECT_EQ(parse(calm.body)["result"], parse(flaky.body)["result"]) << "round " << round;
    EXPECT_EQ(flaky.header("X-Pie-Output-Incomplete"), "true");  // re-attached: said so
    ++intact;
  }
  EXPECT_EQ(intact, 2);
  EXPECT_GE(st.server("sim1")["reattaches"].get<int>(), 2) << st.servers().dump();
}

TEST(Pie05Cluster, AdmissionRefusalIsBackpressureNotACrash) {
  // The edge admits 2 live processes; the gateway does not know that until it is refused.
  ClusterStack st(one_sim05(
      "cluster: {queue_size: 0}\n"
      "endpoints:\n"
      "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}]}\n"
      "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}]}\n",
      {"--max-processes", "2"}));
  auto c = st.client();
  std::vector<std::string> ids;
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = c.get("/sleep_async?ms=1500");
    ASSERT_EQ(r.status, 200) << r.body;
    ids.push_back(parse(r.body)["result"].value("ID", ""));
  }
  // Each job ends: completed, or failed with 503-class backpressure (QueueFull; PieUnavailable
  // while the full edge also refuses the sessions' reconnects), or because the refusal closed the
  // socket its process ran on (the edge terminates those).
  for (const auto& id : ids) {
    auto p = wait_probe(c, id);
    ASSERT_NE(p["status"], "in_progress") << p.dump();
    if (p["status"] == "failed") {
      auto j = job(c, id);
      const std::string type = j["error"].value("type", "");
      const std::string msg = j["error"].value("message", "");
      EXPECT_TRUE(type == "QueueFull" || type == "PieUnavailable" || type == "PieSessionLost") << j.dump();
      if (type != "PieSessionLost") {
        EXPECT_NE(msg.find("refused admission"), std::string::npos) << j.dump();
        ++refused;
      }
    }
  }
  EXPECT_GE(refused, 1) << st.servers().dump();
  // A sync call while the server is full is answered 503 with Retry-After.
  std::vector<std::string> more;
  for (int i = 0; i < 2; ++i) more.push_back(parse(c.get("/sleep_async?ms=3000").body)["result"].value("ID", ""));
  bool saw503 = false;
  for (int i = 0; i < 10 && !saw503; ++i) {
    auto r = c.get("/echo?text=full");
    if (r.status == 503) {
      saw503 = true;
      EXPECT_FALSE(r.header("Retry-After").empty()) << r.body;
    }
  }
  EXPECT_TRUE(saw503) << st.servers().dump();
  EXPECT_GE(st.server("sim0").value("admission_refusals", 0), 1) << st.servers().dump();
  // Nothing crashed: once the work is done, calls are served again.
  for (const auto& id : more) wait_probe(c, id);
  EXPECT_TRUE(ClusterStack::eventually([&] { return c.get("/echo?text=again").status == 200; }, 20s))
      << st.servers().dump();
  EXPECT_TRUE(st.gateway->running());
  EXPECT_TRUE(st.sims[0]->running());
}

TEST(Pie05Cluster, MixedClusterOf02And05Servers) {
  ClusterOptions o;
  o.sims = 2;
  o.sim_args = {{}, kSim05};
  o.server_yaml = {"", kServer05};
  o.rest_yaml = "cluster: {ping_interval: 500ms, ping_timeout: 2s, retry_budget: 2}\n"
                "endpoints:\n"
                "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
                "  - name: complete\n    kind: get\n    inferlet: std/text-completion@0.1.0\n"
                "    params: [{name: prompt}, {name: max_tokens, type: int, default: \"5\"}]\n"
                "    arguments: [\"--prompt\", \"{prompt}\", \"--max-tokens\", \"{max_tokens}\"]\n";
  ClusterStack st(o);
  auto c = st.client();
  for (int i = 0; i < 40; ++i) {
    auto r = c.get("/echo?text=mixed" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(parse(r.body)["result"], "mixed" + std::to_string(i));
  }
  // Both lines took launches and produce the same text for the same prompt.
  EXPECT_GT(st.server("sim0")["launches"].get<int>(), 0) << st.servers().dump();
  EXPECT_GT(st.server("sim1")["launches"].get<int>(), 0) << st.servers().dump();
  EXPECT_EQ(st.server("sim0")["protocol"], "0.2");
  EXPECT_EQ(st.server("sim1")["protocol"], "0.5");
  const auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("pie_gateway_pie_server_info{protocol=\"0.2\",server=\"sim0\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("pie_gateway_pie_server_info{protocol=\"0.5\",server=\"sim1\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("pie_gateway_pie_launches_total{server=\"sim1\"}"), std::string::npos);
  std::set<std::string> texts;
  for (int i = 0; i < 10; ++i) texts.insert(parse(c.get("/complete?prompt=same").body)["result"].get<std::string>());
  EXPECT_EQ(texts.size(), 1u) << "both lines' pie-sims derive the same tokens from a prompt";
  // Failover across lines: the 0.5 server dies, the 0.2 one serves everything.
  st.kill_sim(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.get("/echo?text=after").status, 200);
}
