// Operations on a real pie-sim + pie-gateway pair: one access log line per request with its
// request id (taken or generated, returned to the caller), JSON log lines, the separate admin
// address for /metrics, and transport-level errors counted in the metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

#include "support/prom_text.hpp"
#include "support/sse_client.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::HttpClient;
using pg::test::PromText;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEndpoints = R"(
  - name: echo
    kind: get
    inferlet: std/echo@0.1.0
    params: [{name: text}]
    arguments: ["{text}"]
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
)";

/// The first log line that holds every one of `needles`, waiting (bounded) for it to be written.
std::string log_line_with(const Stack& s, const std::vector<std::string>& needles) {
  for (int i = 0; i < 200; ++i) {
    std::istringstream log(s.gateway_log());
    for (std::string line; std::getline(log, line);) {
      bool all = true;
      for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
      if (all) return line;
    }
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

bool is_hex_id(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

TEST(AccessLog, OneLinePerRequestWithTheCallersRequestId) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  Stack s(o);
  HttpClient c(s.http_port);
  auto r = c.get("/echo?text=hi", {{"X-Request-Id", "trace-abc.123"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Request-Id"), "trace-abc.123");
  auto line = log_line_with(s, {"request id=trace-abc.123"});
  ASSERT_FALSE(line.empty()) << s.gateway_log();
  EXPECT_NE(line.find(" door=http method=GET target=/echo endpoint=echo server=sim instance="), std::string::npos) << line;
  EXPECT_NE(line.find(" job="), std::string::npos) << line;
  EXPECT_NE(line.find(" status=200 duration="), std::string::npos) << line;
  EXPECT_EQ(line.find("text=hi"), std::string::npos) << "the query string may hold secrets: not logged";

  // No id, or one that is not sane (spaces, quotes, too long): a fresh one, returned.
  for (const std::string& offered : {std::string(), std::string("has space"), std::string(200, 'x')}) {
    std::vector<std::pair<std::string, std::string>> h;
    if (!offered.empty()) h.emplace_back("X-Request-Id", offered);
    auto g = c.get("/healthz", h);
    EXPECT_EQ(g.status, 200);
    auto id = g.header("X-Request-Id");
    EXPECT_TRUE(is_hex_id(id)) << "'" << id << "' for offered '" << offered << "'";
    EXPECT_FALSE(log_line_with(s, {"request id=" + id, "target=/healthz", "status=200"}).empty());
  }
  // Errors are logged too, with their status.
  auto nf = c.get("/nope", {{"X-Request-Id", "nf-1"}});
  EXPECT_EQ(nf.status, 404);
  EXPECT_FALSE(log_line_with(s, {"request id=nf-1", "status=404"}).empty()) << s.gateway_log();
}

TEST(AccessLog, JsonLinesWhenConfigured) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.log_format = "json";
  Stack s(o);
  HttpClient c(s.http_port);
  ASSERT_EQ(c.get("/echo?text=hi", {{"X-Request-Id", "json-1"}}).status, 200);
  auto line = log_line_with(s, {"\"request_id\":\"json-1\""});
  ASSERT_FALSE(line.empty()) << s.gateway_log();
  auto j = json::parse(line);
  EXPECT_EQ(j.at("msg"), "request");
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("endpoint"), "echo");
  EXPECT_EQ(j.at("server"), "sim");
  EXPECT_EQ(j.at("status"), 200);
  EXPECT_EQ(j.at("instance").get<std::string>().size(), 36u);
  EXPECT_TRUE(j.at("duration_seconds").is_number());
  // Every line the daemon writes to stderr is one JSON object (journald, log shippers).
  std::istringstream log(s.gateway_log());
  int lines = 0;
  for (std::string l; std::getline(log, l); ++lines) {
    auto parsed = json::parse(l, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << l;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level")) << l;
  }
  EXPECT_GT(lines, 2);
}

TEST(AdminAddress, MetricsMoveToTheAdminListener) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.listen_extra = "  admin: 127.0.0.1:0\n";
  Stack s(o);
  ASSERT_NE(s.admin_port, 0);
  ASSERT_NE(s.admin_port, s.http_port);
  HttpClient pub(s.http_port), admin(s.admin_port);
  ASSERT_EQ(pub.get("/echo?text=x").status, 200);
  auto m = admin.get("/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_GE(PromText(m.body).sum("pie_gateway_http_requests_total", {{"endpoint", "echo"}}), 1);
  EXPECT_EQ(pub.get("/metrics").status, 404) << "metrics are not on the public address when an admin one is set";
  EXPECT_EQ(admin.get("/healthz").status, 200);
  EXPECT_EQ(admin.get("/readyz").status, 200);
  EXPECT_EQ(pub.get("/healthz").status, 200) << "load balancers probe the public address";
  auto e = admin.get("/echo?text=x");
  EXPECT_EQ(e.status, 404) << "endpoints are not served on the admin address";
  EXPECT_EQ(admin.get("/").status, 404);
}

TEST(TransportErrors, AreCountedAndLogged) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  Stack s(o);
  {
    HttpClient bad(s.http_port);
    auto r = bad.raw("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(is_hex_id(r.header("X-Request-Id"))) << r.header("X-Request-Id");
  }
  {
    HttpClient big(s.http_port);
    auto r = big.get("/echo?text=x", {{"X-Huge", std::string(64 << 10, 'a')}});
    EXPECT_EQ(r.status, 431);
  }
  HttpClient c(s.http_port);
  PromText p(c.get("/metrics").body);
  EXPECT_EQ(p.sum("pie_gateway_http_requests_total", {{"endpoint", "transport"}, {"code_class", "4xx"}}), 2);
  EXPECT_FALSE(log_line_with(s, {"request id=", "method=- target=", "status=431"}).empty()) << s.gateway_log();
}

TEST(AccessLog, AStreamedCallIsLoggedWhenItsStreamEndsWithItsWholeDuration) {
  StackOptions o;
  o.endpoints_yaml = kEndpoints;
  Stack s(o);
  pg::test::SseClient sse(s.http_port);
  auto head = sse.open("GET", "/sleep?ms=400", {{"Accept", "text/event-stream"}, {"X-Request-Id", "sse-1"}});
  ASSERT_EQ(head.status, 200) << head.body;
  // The head is out but the stream is not over: no access line yet.
  EXPECT_EQ(s.gateway_log().find("request id=sse-1"), std::string::npos) << s.gateway_log();
  sse.rest(15s);
  ASSERT_TRUE(sse.ended());
  auto line = log_line_with(s, {"request id=sse-1"});
  ASSERT_FALSE(line.empty()) << s.gateway_log();
  EXPECT_NE(line.find(" status=200 "), std::string::npos) << line;
  // Its duration covers the 400 ms run (a lower bound: the stream cannot end before the job).
  auto at = line.find("duration=");
  ASSERT_NE(at, std::string::npos) << line;
  EXPECT_GE(std::stod(line.substr(at + 9)), 0.4) << line;
}
