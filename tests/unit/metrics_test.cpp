// obs::Metrics on its own: what each call adds to the exposition text.
#include <gtest/gtest.h>

#include "obs/metrics.hpp"
#include "support/prom_text.hpp"

using pg::obs::Metrics;
using pg::test::PromText;

TEST(Metrics, HttpRequestsByEndpointMethodAndCodeClass) {
  Metrics m("1.2.3");
  m.http_request("echo", "GET", 200, 0.00005);
  m.http_request("echo", "GET", 204, 0.002);
  m.http_request("echo", "POST", 502, 0.3);
  m.http_request("echo", "BREW", 418, 0.001);  // unknown methods fold into "other"
  m.http_request("unknown", "GET", 404, 0.0001);
  m.http_request("echo", "GET", 999, 70);  // out-of-range status counts as 5xx
  PromText t(m.expose());
  const std::string req = "pie_gateway_http_requests_total";
  EXPECT_EQ(t.get(req, {{"endpoint", "echo"}, {"method", "GET"}, {"code_class", "2xx"}}), 2);
  EXPECT_EQ(t.get(req, {{"endpoint", "echo"}, {"method", "POST"}, {"code_class", "5xx"}}), 1);
  EXPECT_EQ(t.get(req, {{"endpoint", "echo"}, {"method", "other"}, {"code_class", "4xx"}}), 1);
  EXPECT_EQ(t.get(req, {{"endpoint", "echo"}, {"method", "GET"}, {"code_class", "5xx"}}), 1);
  EXPECT_EQ(t.get(req, {{"endpoint", "unknown"}, {"method", "GET"}, {"code_class", "4xx"}}), 1);
  EXPECT_FALSE(t.find(req, {{"endpoint", "echo"}, {"method", "BREW"}, {"code_class", "4xx"}}));

  const std::string h = "pie_gateway_http_request_duration_seconds";
  EXPECT_EQ(t.get(h + "_count", {{"endpoint", "echo"}}), 5);
  EXPECT_EQ(t.get(h + "_count", {{"endpoint", "echo"}}), t.sum(req, {{"endpoint", "echo"}}));
  EXPECT_NEAR(t.get(h + "_sum", {{"endpoint", "echo"}}), 0.00005 + 0.002 + 0.3 + 0.001 + 70, 1e-9);
  EXPECT_EQ(t.get(h + "_bucket", {{"endpoint", "echo"}, {"le", "0.0001"}}), 1);
  EXPECT_EQ(t.get(h + "_bucket", {{"endpoint", "echo"}, {"le", "0.0025"}}), 3);
  EXPECT_EQ(t.get(h + "_bucket", {{"endpoint", "echo"}, {"le", "60"}}), 4);
  EXPECT_EQ(t.get(h + "_bucket", {{"endpoint", "echo"}, {"le", "+Inf"}}), 5);

  EXPECT_EQ(t.get("pie_gateway_build_info", {{"version", "1.2.3"}}), 1);
}

TEST(Metrics, JobsStreamsAndPie) {
  Metrics m;
  m.job_started("echo");
  m.job_started("echo");
  m.job_finished("echo", "completed", 0.01);
  m.job_finished("echo", "failed", 0.02);
  m.job_finished("echo", "weird", 0.03);  // not a known state: still counted, under its own label
  m.job_rejected();
  m.job_output_truncated();
  m.stream_bytes(Metrics::Stream::Stdout, 10);
  m.stream_bytes(Metrics::Stream::Stdout, 5);
  m.stream_bytes(Metrics::Stream::Message, 7);
  m.pie_launch("a");
  m.pie_launch("a");
  m.pie_launch_failure("a", Metrics::LaunchFailure::Rejected);
  m.pie_launch_failure("", Metrics::LaunchFailure::Unavailable);
  m.pie_reconnect("a");
  PromText t(m.expose());
  EXPECT_EQ(t.get("pie_gateway_jobs_started_total", {{"endpoint", "echo"}}), 2);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "echo"}, {"state", "completed"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "echo"}, {"state", "failed"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_jobs_total", {{"endpoint", "echo"}, {"state", "weird"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_job_duration_seconds_count", {{"endpoint", "echo"}}), 3);
  EXPECT_EQ(t.get("pie_gateway_job_rejections_total"), 1);
  EXPECT_EQ(t.get("pie_gateway_job_output_truncated_total"), 1);
  EXPECT_EQ(t.get("pie_gateway_stream_bytes_total", {{"stream", "stdout"}}), 15);
  EXPECT_EQ(t.get("pie_gateway_stream_bytes_total", {{"stream", "message"}}), 7);
  ASSERT_TRUE(t.find("pie_gateway_stream_bytes_total", {{"stream", "stderr"}}));  // fixed set, exposed at 0
  EXPECT_EQ(t.get("pie_gateway_pie_launches_total", {{"server", "a"}}), 2);
  EXPECT_EQ(t.get("pie_gateway_pie_launch_failures_total", {{"server", "a"}, {"reason", "rejected"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_launch_failures_total", {{"server", ""}, {"reason", "unavailable"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_reconnects_total", {{"server", "a"}}), 1);
  ASSERT_TRUE(t.find("pie_gateway_build_info", {{"version", PG_TEST_VERSION}}));
}

TEST(Metrics, ScrapeHooksSetGaugesAndDropServersThatLeft) {
  Metrics m;
  int scrapes = 0;
  std::vector<Metrics::PieServerState> servers{{"a", true, 4, 2}, {"b", false, 0, 0}};
  m.on_scrape([&] {
    ++scrapes;
    m.set_jobs(1, 2, 3);
    m.set_pie_servers(servers);
  });
  PromText t(m.expose());
  EXPECT_EQ(scrapes, 1);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "queued"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "running"}}), 2);
  EXPECT_EQ(t.get("pie_gateway_jobs", {{"state", "finished"}}), 3);
  EXPECT_EQ(t.get("pie_gateway_pie_server_up", {{"server", "a"}}), 1);
  EXPECT_EQ(t.get("pie_gateway_pie_sessions_open", {{"server", "a"}}), 4);
  EXPECT_EQ(t.get("pie_gateway_pie_instances_in_flight", {{"server", "a"}}), 2);
  ASSERT_TRUE(t.find("pie_gateway_pie_server_up", {{"server", "b"}}));
  EXPECT_EQ(t.get("pie_gateway_pie_server_up", {{"server", "b"}}), 0);

  // After a reload: "b" is gone, "a" is listed twice (draining beside its replacement).
  servers = {{"a", false, 0, 1}, {"a", true, 2, 0}};
  PromText t2(m.expose());
  EXPECT_EQ(scrapes, 2);
  EXPECT_FALSE(t2.find("pie_gateway_pie_server_up", {{"server", "b"}}));
  EXPECT_FALSE(t2.find("pie_gateway_pie_sessions_open", {{"server", "b"}}));
  EXPECT_EQ(t2.get("pie_gateway_pie_server_up", {{"server", "a"}}), 1);
  EXPECT_EQ(t2.get("pie_gateway_pie_sessions_open", {{"server", "a"}}), 2);
  EXPECT_EQ(t2.get("pie_gateway_pie_instances_in_flight", {{"server", "a"}}), 1);
}

TEST(Metrics, TextFormatHasHelpAndTypeLines) {
  Metrics m;
  m.http_request("echo", "GET", 200, 0.001);
  auto text = m.expose();
  EXPECT_NE(text.find("# TYPE pie_gateway_http_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE pie_gateway_http_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE pie_gateway_jobs gauge"), std::string::npos);
  EXPECT_NE(text.find("# HELP pie_gateway_build_info"), std::string::npos);
  EXPECT_STREQ(Metrics::kContentType, "text/plain; version=0.0.4; charset=utf-8");
}
