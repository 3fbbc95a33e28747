// The real pie-gateway and pie-sim processes, spoken to over real HTTP on loopback.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "support/pie_test_client.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::HttpClient;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEndpoints = R"(
  - name: echo
    kind: get
    description: Echo the text back.
    inferlet: std/echo@0.1.0
    params: [{name: text}]
    arguments: ["{text}"]
  - name: echo_stdout
    kind: get
    inferlet: std/echo@0.1.0
    params: [{name: text}]
    arguments: ["{text}", "again"]
    result: stdout
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - name: complete
    kind: post
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - name: fail
    kind: get
    inferlet: std/fail@0.1.0
  - name: sleep
    kind: get
    inferlet: std/sleep@0.1.0
    params: [{name: ms, type: int}]
    arguments: ["--ms", "{ms}"]
    timeout: 400ms
  - name: missing_program
    kind: get
    inferlet: std/no-such-inferlet@9.9.9
  - name: tools/hello
    kind: get
    inferlet: std/echo@0.1.0
    arguments: ["hello from a nested name"]
)";

json body_json(const pg::test::HttpResult& r) { return json::parse(r.body, nullptr, false); }

class GatewayHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StackOptions o;
    o.endpoints_yaml = kEndpoints;
    stack_ = new Stack(o); }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
  HttpClient client() { return stack_->client(); }
};
Stack* GatewayHttp::stack_ = nullptr;

}  // namespace

TEST_F(GatewayHttp, EchoAnswersTheExactTarpEnvelope) {
  auto c = client();
  auto r = c.get("/echo?text=hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.body, R"({"status":"success","mimetype":"text/plain","result":"hello"})");
}

TEST_F(GatewayHttp, PercentEncodedAndUtf8Text) {
  auto c = client();
  auto r = c.get("/echo?text=caf%C3%A9+au+lait%26more");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r)["result"], "café au lait&more");
}

TEST_F(GatewayHttp, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = client();
  for (int i = 0; i < 50; ++i) {
    auto r = c.get("/echo?text=n" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(body_json(r)["result"], "n" + std::to_string(i));
  }
}

TEST_F(GatewayHttp, ConcurrentClients) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      HttpClient c(stack_->http_port);
      for (int i = 0; i < 25; ++i) {
        std::string text = "t" + std::to_string(t) + "i" + std::to_string(i);
        auto r = c.get("/echo?text=" + text);
        if (r.status == 200 && json::parse(r.body)["result"] == text) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(GatewayHttp, StdoutResultPolicy) {
  auto c = client();
  auto r = c.get("/echo_stdout?text=x");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_json(r)["result"], "x again");
}

TEST_F(GatewayHttp, CompleteGetAndPostAgree) {
  auto c = client();
  auto g = c.get("/complete?prompt=Once+upon&max_tokens=5");
  ASSERT_EQ(g.status, 200) << g.body;
  auto p = c.post("/complete", R"({"prompt":"Once upon","max_tokens":5})", "application/json");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_FALSE(body_json(g)["result"].get<std::string>().empty());
  EXPECT_EQ(body_json(g)["result"], body_json(p)["result"]) << "pie-sim's tokens are deterministic";
  auto f = c.post("/complete", "prompt=Once+upon&max_tokens=5", "application/x-www-form-urlencoded");
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(body_json(f)["result"], body_json(g)["result"]);
  auto other = c.get("/complete?prompt=Different&max_tokens=5");
  EXPECT_NE(body_json(other)["result"], body_json(g)["result"]);
}

TEST_F(GatewayHttp, DiscoveryListsEndpointsForTarpClients) {
  auto c = client();
  auto r = c.get("/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto j = body_json(r);
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["mimetype"], "application/json");
  const auto& res = j["result"];
  ASSERT_TRUE(res["GET"].is_array());
  ASSERT_TRUE(res["POST"].is_array());
  EXPECT_TRUE(res["RPC"].is_array());
  EXPECT_TRUE(res["ASYNCRPC"].is_array());
  json echo;
  for (const auto& e : res["GET"])
    if (e["name"] == "echo") echo = e;
  ASSERT_FALSE(echo.is_null());
  EXPECT_EQ(echo["description"], "Echo the text back.");
  EXPECT_EQ(echo["query_params"], json::array({"text"}));
  ASSERT_EQ(res["POST"].size(), 2u) << "complete, and the built-in gateway/cancel";
  EXPECT_EQ(res["POST"][0]["name"], "complete");
  EXPECT_EQ(res["POST"][0]["payload_mimetype"], "application/json");
  EXPECT_EQ(res["POST"][1]["name"], "gateway/cancel");
}

TEST_F(GatewayHttp, NestedNameReachableAsTarpClientCallsIt) {
  auto c = client();
  EXPECT_EQ(body_json(c.get("/tools/hello"))["result"], "hello from a nested name");
  EXPECT_EQ(body_json(c.get("/tools_hello"))["result"], "hello from a nested name");
}

TEST_F(GatewayHttp, UnknownEndpointIs404Envelope) {
  auto c = client();
  auto r = c.get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  auto j = body_json(r);
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["type"], "NotFound");
  EXPECT_NE(j["message"].get<std::string>().find("'nope'"), std::string::npos);
}

TEST_F(GatewayHttp, WrongMethodIs405WithAllow) {
  auto c = client();
  auto r = c.post("/echo", "", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
  EXPECT_EQ(body_json(r)["type"], "MethodNotAllowed");
  auto d = c.request("DELETE", "/complete", "", {});
  EXPECT_EQ(d.status, 405);
  EXPECT_EQ(d.header("Allow"), "GET, POST");
}

TEST_F(GatewayHttp, BadParametersAre400WithThePreciseReason) {
  auto c = client();
  struct Case {
    std::string target, reason;
  } cases[] = {
      {"/echo", "missing required parameter 'text'"},
      {"/echo?text=a&text=b", "parameter 'text' is given more than once"},
      {"/echo?txt=a", "unknown parameter 'txt'"},
      {"/complete?prompt=x&max_tokens=lots", "parameter 'max_tokens' must be a whole number (got 'lots')"},
  };
  for (const auto& k : cases) {
    auto r = c.get(k.target);
    EXPECT_EQ(r.status, 400) << k.target;
    auto j = body_json(r);
    EXPECT_EQ(j["type"], "BadRequest") << k.target;
    EXPECT_NE(j["message"].get<std::string>().find(k.reason), std::string::npos) << k.target << ": " << r.body;
  }
  auto bad_json = c.post("/complete", "{\"prompt\": ", "application/json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(body_json(bad_json)["message"], "request body is not valid JSON");
  auto text_body = c.post("/complete", "hello", "text/plain");
  EXPECT_EQ(text_body.status, 400);
}

TEST_F(GatewayHttp, PieExceptionIs502WithEventTypeAndMessage) {
  auto c = client();
  auto r = c.get("/fail");
  EXPECT_EQ(r.status, 502);
  auto j = body_json(r);
  EXPECT_EQ(j["status"], "error");
  EXPECT_EQ(j["type"], "Exception");
  EXPECT_NE(j["message"].get<std::string>().find("simulated failure"), std::string::npos) << r.body;
  EXPECT_EQ(j["pie"]["server"], "sim");
  EXPECT_EQ(j["pie"]["instance_id"].get<std::string>().size(), 36u);
  EXPECT_FALSE(j["pie"]["stderr"].get<std::string>().empty()) << "std/fail writes to stderr first";
}

TEST_F(GatewayHttp, UnknownInferletIs502LaunchRejected) {
  auto c = client();
  auto r = c.get("/missing_program");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(body_json(r)["type"], "LaunchRejected");
}

TEST_F(GatewayHttp, TimeoutIs504AndTheGatewayKeepsServing) {
  auto c = client();
  auto r = c.get("/sleep?ms=5000");
  EXPECT_EQ(r.status, 504);
  auto j = body_json(r);
  EXPECT_EQ(j["type"], "Timeout");
  EXPECT_NE(j["message"].get<std::string>().find("timed out after 400 ms"), std::string::npos) << r.body;
  EXPECT_NE(j["message"].get<std::string>().find("terminated"), std::string::npos) << r.body;
  // The instance is really gone on the Pie side: an internal-token session sees every instance.
  std::string id = j["pie"]["instance_id"];
  ASSERT_EQ(id.size(), 36u);
  pg::test::PieTestClient pie(static_cast<std::uint16_t>(stack_->sim_port));
  namespace v02 = pg::pie::v02;
  ASSERT_TRUE(pie.request<v02::Response>(v02::InternalAuthenticate{pie.next_corr_id(), "any"}));
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    auto live = pie.request<v02::LiveInstances>(v02::ListInstances{pie.next_corr_id()});
    ASSERT_TRUE(live);
    gone = std::none_of(live->instances.begin(), live->instances.end(), [&](const auto& in) { return in.id == id; });
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "instance " << id << " still listed by pie-sim after the timeout";
  EXPECT_EQ(c.get("/sleep?ms=10").status, 200);
}

TEST_F(GatewayHttp, MalformedHttpGets400AndTheDaemonKeepsServing) {
  {
    HttpClient c(stack_->http_port);
    auto r = c.raw("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(body_json(r)["status"], "error");
    EXPECT_TRUE(c.closed_by_peer(2s));
  }
  {
    HttpClient c(stack_->http_port);
    auto r = c.raw("GET /echo?text=x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n");
    EXPECT_EQ(r.status, 400);
  }
  {
    HttpClient c(stack_->http_port);
    auto r = c.get("/echo?text=x", {{"X-Big", std::string(20000, 'a')}});
    EXPECT_EQ(r.status, 431);
  }
  {
    HttpClient c(stack_->http_port);
    auto r = c.post("/complete", std::string(2 << 20, 'a'), "application/json");
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(body_json(r)["type"], "PayloadTooLarge");
  }
  auto c = client();
  EXPECT_EQ(c.get("/echo?text=still+alive").status, 200);
}

TEST_F(GatewayHttp, HealthAndReadiness) {
  auto c = client();
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(c.get("/readyz").status, 200);
}

TEST(GatewayUnreachable, PieDownIs503InvalidServerState) {
  StackOptions o;
  o.start_sim = false;
  o.wait_ready = false;
  o.servers_yaml = "servers:\n  - name: gone\n    uri: ws://127.0.0.1:1/\n    connect_timeout: 500ms\n";
  o.endpoints_yaml = "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";
  Stack s(o);
  auto c = s.client();
  EXPECT_EQ(c.get("/readyz").status, 503);
  auto r = c.get("/echo?text=x");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Retry-After"), "1");
  auto j = body_json(r);
  EXPECT_EQ(j["type"], "InvalidServerState");
  EXPECT_NE(j["message"].get<std::string>().find("gone"), std::string::npos) << r.body;
}

TEST(GatewayConfig, BadConfigExitsWith2NamingFileLineAndField) {
  auto dir = pg::test::temp_dir();
  pg::test::write_file(dir + "/bad.yaml", "servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    sesions: 3\n");
  pg::test::Process p({pg::test::binary_path("pie-gateway"), "--config", dir + "/bad.yaml"}, dir + "/err.log");
  auto status = p.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 2);
  std::ifstream in(dir + "/err.log");
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find(dir + "/bad.yaml:4:5: servers[0].sesions: unknown field"), std::string::npos) << err;
}

TEST(GatewayConfig, CheckConfigAcceptsTheShippedConfig) {
  pg::test::Process p({pg::test::binary_path("pie-gateway"), "--check-config", "--config",
                       std::string(PG_SOURCE_DIR) + "/config/gateway.yaml"});
  auto line = p.read_line(10s);
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("configuration is valid"), std::string::npos) << *line;
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(GatewayConfig, MissingConfigFileExitsWith2) {
  pg::test::Process p({pg::test::binary_path("pie-gateway"), "--config", "/nonexistent/gw.yaml"});
  EXPECT_EQ(p.wait(10s), 2);
}

TEST(GatewayJobCap, FullLiveJobCapAnswers503InvalidServerState) {
  StackOptions o;
  o.endpoints_yaml =
      "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
      " arguments: [\"--ms\", \"{ms}\"]}\n"
      "jobs: {max_live: 2}\n";
  Stack s(o);
  auto c = s.client();
  EXPECT_EQ(c.get("/sleep_async?ms=3000").status, 200);
  EXPECT_EQ(c.get("/sleep_async?ms=3000").status, 200);
  auto r = c.get("/sleep_async?ms=10");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Retry-After"), "1");
  auto j = body_json(r);
  EXPECT_EQ(j["type"], "InvalidServerState");
  EXPECT_NE(j["message"].get<std::string>().find("limit of 2 running jobs"), std::string::npos) << r.body;
  // Cancelling one frees a slot.
  // Both are unfinished (running, or still queued if Pie has not accepted the launch yet).
  auto jobs = body_json(c.get("/gateway/jobs"))["result"];
  ASSERT_EQ(jobs.size(), 2u);
  for (const auto& job : jobs) EXPECT_TRUE(job["state"] == "running" || job["state"] == "queued") << job;
  auto cancel = c.post("/gateway/cancel", json{{"UUID", jobs[0]["id"]}}.dump(), "application/json");
  EXPECT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(c.get("/sleep_async?ms=10").status, 200);
}
