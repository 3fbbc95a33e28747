// GET /metrics on a real pie-sim + pie-gateway pair: known traffic, then exact counts read back
// from the parsed Prometheus text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <thread>

#include "support/prom_text.hpp"
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
  - name: fail
    kind: get
    inferlet: std/fail@0.1.0
  - name: missing_program
    kind: get
    inferlet: std/no-such-inferlet@9.9.9
  - name: sleep_async
    kind: get
    async: true
    suggested_wait: 10ms
    inferlet: std/sleep@0.1.0
    params: [{name: ms, type: int}]
    arguments: ["--ms", "{ms}"]
)";

const std::string kReq = "pie_gateway_http_requests_total";

/// Whether `text` holds a UUID (8-4-4-4-12 hex digits). No std::regex: GCC 12's sanitizer
/// build warns inside it.
bool has_uuid(const std::string& text) {
  constexpr std::size_t kLen = 36;
  for (std::size_t i = 0; i + kLen <= text.size(); ++i) {
    bool ok = true;
    for (std::size_t j = 0; j < kLen && ok; ++j) {
      char c = text[i + j];
      ok = (j == 8 || j == 13 || j == 18 || j == 23) ? c == '-' : std::isxdigit(static_cast<unsigned char>(c)) != 0;
    }
    if (ok) return true;
  }
  return false;
}

PromText scrape(HttpClient& c) {
  auto r = c.get("/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return PromText(r.body);
}

std::string start_async(HttpClient& c, int ms) {
  auto r = c.get("/sleep_async?ms=" + std::to_string(ms));
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).at("result").at("ID").get<std::string>();  // TARP envelope
}

void wait_completed(HttpClient& c, const std::string& id) {
  for (int i = 0; i < 500; ++i) {
    auto r = c.get("/asyncProbe?UUID=" + id);
    ASSERT_EQ(r.status, 200) << r.body;
    if (json::parse(r.body).at("result").at("status") != "in_progress") return;
    std::this_thread::sleep_for(10ms);
  }
  FAIL() << "job " << id << " did not finish";
}

class MetricsHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = kEndpoints;
    stack_ = new Stack(o);  // server "sim" with 2 sessions
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
};
Stack* MetricsHttp::stack_ = nullptr;

// One test, in order: the counts are cumulative over the gateway's life.
TEST_F(MetricsHttp, CountsKnownTrafficExactly) {
  HttpClient c(stack_->http_port);
  PromText before = scrape(c);
  EXPECT_EQ(before.sum(kReq, {{"endpoint", "echo"}}), 0);
  EXPECT_EQ(before.get("pie_gateway_pie_launches_total", {{"server", "sim"}}), 0);

  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get("/echo?text=hello").status, 200);
  EXPECT_EQ(c.get("/nope").status, 404);
  const std::string fake_id = "0b7a4c36-7c1f-4b8e-9d55-2a9c1f1f3e10";
  EXPECT_EQ(c.get("/nope/" + fake_id).status, 404);  // raw paths never become labels
  EXPECT_EQ(c.get("/fail").status, 502);
  EXPECT_EQ(c.get("/missing_program").status, 502);
  EXPECT_EQ(c.post("/echo", "{}", "application/json").status, 405);
  std::vector<std::string> ids{start_async(c, 20), start_async(c, 20)};
  for (auto& id : ids) wait_completed(c, id);
  EXPECT_EQ(c.get("/asyncGet?UUID=" + ids[0]).status, 200);
  EXPECT_EQ(c.get("/gateway/jobs").status, 200);
  EXPECT_EQ(c.get("/gateway_servers").status, 200);

  auto r = c.get("/metrics");
  ASSERT_EQ(r.status, 200);
  PromText t(r.body);

  // HTTP: by configured endpoint name or built-in route; 404s under "unknown".
  EXPECT_EQ(t.get(kReq, {{"endpoint", "echo"}, {"method", "GET"}, {"code_class", "2xx"}}), 3);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "echo"}, {"method", "POST"}, {"code_class", "4xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "unknown"}, {"method", "GET"}, {"code_class", "4xx"}}), 2);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "fail"}, {"method", "GET"}, {"code_class", "5xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "missing_program"}, {"method", "GET"}, {"code_class", "5xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "sleep_async"}, {"method", "GET"}, {"code_class", "2xx"}}), 2);
  EXPECT_GE(t.get(kReq, {{"endpoint", "asyncProbe"}, {"method", "GET"}, {"code_class", "2xx"}}), 2);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "asyncGet"}, {"method", "GET"}, {"code_class", "2xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "gateway/jobs"}, {"method", "GET"}, {"code_class", "2xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "gateway/servers"}, {"method", "GET"}, {"code_class", "2xx"}}), 1);
  EXPECT_EQ(t.get(kReq, {{"endpoint", "metrics"}, {"method", "GET"}, {"code_class", "2xx"}}), 1);  // `before`
  // Every histogram _count equals the requests counted for its endpoint.
  for (const auto& s : t.samples()) {
    if (s.name != "pie_gateway_http_request_duration_seconds_count") continue;
    EXPECT_EQ(s.value, t.sum(kReq, {{"endpoint", s.labels.at("endpoint")}})) << s.labels.at("endpoint");
  }
  EXPECT_EQ(t.get("pie_gateway_http_request_duration_seconds_count", {{"endpoint", "echo"}}), 4);

  // Jobs: 3 echo + fail + missing_program + 2 async.
  EXPECT_EQ(t.get("pie_gateway_jobs_started_total", {{"endpoint", "echo"}}), 3);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "echo"}, {"state", "completed"}}), 3);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "fail"}, {"state", "failed"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "missing_program"}, {"state", "failed"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "sleep_async"}, {"state", "completed"}}), 2);
  EXPECT_EQ(t.sum("pie_gateway_jobs_total"), 7);
  EXPECT_EQ(t.sum("pie_gateway_job_duration_seconds_count"), 7);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "queued"}}), 0);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "running"}}), 0);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "finished"}}), 6);  // one async handle was fetched (forgotten)
  EXPECT_EQ(t.get("pie_gateway_job_rejections_total"), 0);
  EXPECT_EQ(t.get("pie_gateway_job_output_truncated_total"), 0);
  EXPECT_GE(t.get("pie_gateway_stream_bytes_total", {{"stream", "stdout"}}), 3 * std::string("hello").size());
  EXPECT_GT(t.get("pie_gateway_stream_bytes_total", {{"stream", "stderr"}}), 0);  // std/fail writes a line

  // Pie: 7 launches on "sim"; one rejected (unknown inferlet); the pool is up.
  EXPECT_EQ(t.get("pie_gateway_pie_launches_total", {{"server", "sim"}}), 7);
  EXPECT_EQ(t.get("pie_gateway_pie_launch_failures_total", {{"server", "sim"}, {"reason", "rejected"}}), 1);
  EXPECT_EQ(t.sum("pie_gateway_pie_launch_failures_total"), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_reconnects_total", {{"server", "sim"}}), 0);
  EXPECT_EQ(t.get("pie_gateway_pie_server_up", {{"server", "sim"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_sessions_open", {{"server", "sim"}}), 2);
  EXPECT_EQ(t.get("pie_gateway_pie_instances_in_flight", {{"server", "sim"}}), 0);
  EXPECT_EQ(t.sum("pie_gateway_build_info"), 1);

  // No ids or raw paths in any label.
  ASSERT_TRUE(has_uuid(fake_id));
  EXPECT_FALSE(has_uuid(r.body)) << r.body;
  for (const auto& s : t.samples())
    for (const auto& [k, v] : s.labels) EXPECT_EQ(v.find("nope"), std::string::npos) << s.name << " " << k;

  // Deltas between two scrapes: one more echo, one more scrape.
  EXPECT_EQ(c.get("/echo?text=again").status, 200);
  PromText t2 = scrape(c);
  EXPECT_EQ(t2.get(kReq, {{"endpoint", "echo"}, {"method", "GET"}, {"code_class", "2xx"}}) -
                t.get(kReq, {{"endpoint", "echo"}, {"method", "GET"}, {"code_class", "2xx"}}),
            1);
  EXPECT_EQ(t2.get(kReq, {{"endpoint", "metrics"}, {"method", "GET"}, {"code_class", "2xx"}}) -
                t.get(kReq, {{"endpoint", "metrics"}, {"method", "GET"}, {"code_class", "2xx"}}),
            1);
  EXPECT_EQ(t2.get("pie_gateway_pie_launches_total", {{"server", "sim"}}) -
                t.get("pie_gateway_pie_launches_total", {{"server", "sim"}}),
            1);
  EXPECT_EQ(t2.get("pie_gateway_jobs_total", {{"endpoint", "echo"}, {"state", "completed"}}), 4);
  EXPECT_EQ(t2.get("pie_gateway_jobs", {{"state", "finished"}}), 7);
}

TEST_F(MetricsHttp, GaugesSeeARunningJobAndCancellation) {
  HttpClient c(stack_->http_port);
  auto id = start_async(c, 5000);
  PromText t("");
  for (int i = 0; i < 200; ++i) {  // the launch is accepted asynchronously
    t = scrape(c);
    if (t.get("pie_gateway_jobs", {{"state", "running"}}) == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "running"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_instances_in_flight", {{"server", "sim"}}), 1);
  double cancelled = t.get("pie_gateway_jobs_total", {{"endpoint", "sleep_async"}, {"state", "cancelled"}});

  EXPECT_EQ(c.post("/gateway/cancel?UUID=" + id, "", "application/x-www-form-urlencoded").status, 200);
  PromText t2 = scrape(c);
  EXPECT_EQ(t2.get("pie_gateway_jobs", {{"state", "running"}}), 0);
  EXPECT_EQ(t2.get("pie_gateway_jobs_total", {{"endpoint", "sleep_async"}, {"state", "cancelled"}}), cancelled + 1);
  EXPECT_EQ(t2.get(kReq, {{"endpoint", "gateway/cancel"}, {"method", "POST"}, {"code_class", "2xx"}}), 1);
}

TEST_F(MetricsHttp, OnlyGet) {
  HttpClient c(stack_->http_port);
  auto r = c.post("/metrics", "", "text/plain");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET");
}

}  // namespace

namespace {

// GET /metrics is a built-in route: an endpoint may not take the name.
TEST(MetricsConfig, EndpointNamedMetricsIsRefused) {
  using pg::test::Process;
  std::string dir = pg::test::temp_dir();
  pg::test::write_file(dir + "/gateway.yaml",
                       "servers:\n  - {name: sim, uri: ws://127.0.0.1:9/}\n"
                       "endpoints:\n  - {name: metrics, kind: get, inferlet: std/echo@0.1.0}\n");
  Process p({pg::test::binary_path("pie-gateway"), "--config", dir + "/gateway.yaml", "--check-config"},
            dir + "/stderr.log");
  EXPECT_EQ(p.wait(10s), 2);
}

}  // namespace
