// The Pie cluster with several real pie-sim servers: spread by weight, a full wait queue (503 +
// Retry-After), outlier ejection and probing, and the shipped cluster example config.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <signal.h>
#include <stdlib.h>

#include <future>
#include <thread>

#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

const char* kSleepEndpoints =
    "endpoints:\n"
    "  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: [\"--ms\", "
    "\"{ms}\"], timeout: 20s}\n"
    "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
    " arguments: [\"--ms\", \"{ms}\"], timeout: 60s}\n"
    "jobs: {max_live: 100000}\n";

std::string submit_async(HttpClient& c, int ms) {
  return ClusterStack::submit_async(c, "/sleep_async?ms=" + std::to_string(ms));
}

std::string probe(HttpClient& c, const std::string& id) { return ClusterStack::job_status(c, id); }

}  // namespace

TEST(Cluster, SpreadsLaunchesByWeight) {
  ClusterOptions o;
  o.server_yaml = {"    weight: 1\n", "    weight: 2\n", "    weight: 3\n"};
  o.rest_yaml = kSleepEndpoints;
  ClusterStack st(o);
  HttpClient c(st.http_port);
  // Enough concurrent jobs that each server holds many at once: the least loaded per weight wins.
  constexpr int kJobs = 600;
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) {
    auto id = submit_async(c, 1500);
    ASSERT_FALSE(id.empty()) << "submit " << i;
    ids.push_back(id);
  }
  for (const auto& id : ids)
    ASSERT_TRUE(ClusterStack::eventually([&] { return probe(c, id) == "completed"; }, 30s)) << id << " " << probe(c, id);
  std::vector<double> launches;
  for (int i = 0; i < 3; ++i) launches.push_back(st.server("sim" + std::to_string(i))["launches"].get<double>());
  EXPECT_EQ(launches[0] + launches[1] + launches[2], kJobs);
  // Loose proportions (1:2:3 of 600 = 100, 200, 300).
  EXPECT_GT(launches[0], 100 * 0.5);
  EXPECT_LT(launches[0], 100 * 1.5);
  EXPECT_GT(launches[1], 200 * 0.6);
  EXPECT_LT(launches[1], 200 * 1.4);
  EXPECT_GT(launches[2], 300 * 0.6);
  EXPECT_LT(launches[2], 300 * 1.4);
  EXPECT_LT(launches[0], launches[2]);
}

TEST(Cluster, FullQueueAnswers503WithRetryAfter) {
  ClusterOptions o;
  o.sims = 1;
  o.server_yaml = {"    max_instances: 1\n"};
  o.rest_yaml = std::string("cluster: {queue_size: 1}\n") + kSleepEndpoints;
  ClusterStack st(o);
  HttpClient c(st.http_port);
  auto running = submit_async(c, 1500);  // takes the one instance
  ASSERT_FALSE(running.empty());
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["instances_in_flight"] == 1; }, 5s));
  auto waiting = submit_async(c, 10);  // waits in the queue (its one place)
  ASSERT_FALSE(waiting.empty());
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["queued"] == 1; }, 5s)) << st.servers().dump();

  auto r = c.get("/sleep?ms=10");  // nowhere to run, nowhere to wait
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_FALSE(r.header("Retry-After").empty());
  auto body = json::parse(r.body);
  EXPECT_EQ(body["type"], "InvalidServerState");
  EXPECT_NE(body["message"].get<std::string>().find("queue full"), std::string::npos) << r.body;

  // The queued launch runs once the first one ends.
  EXPECT_TRUE(ClusterStack::eventually([&] { return probe(c, waiting) == "completed"; }, 10s)) << probe(c, waiting);
  EXPECT_EQ(probe(c, running), "completed");
  auto m = c.get("/metrics").body;
  EXPECT_NE(m.find("pie_gateway_pie_launch_queue_rejections_total 1"), std::string::npos) << m;
}

TEST(Cluster, EjectedServerIsProbedAndComesBack) {
  ClusterOptions o;
  o.sims = 2;
  o.rest_yaml = std::string("cluster: {ping_interval: 200ms, ping_timeout: 300ms, eject_after: 2, eject_time: 1s}\n") +
                kSleepEndpoints;
  ClusterStack st(o);
  // A server that stops answering: its pings time out and it is ejected.
  st.sims[1]->signal(SIGSTOP);
  bool ejected = ClusterStack::eventually([&] { return st.server("sim1")["state"] == "ejected"; }, 10s);
  st.sims[1]->signal(SIGCONT);
  ASSERT_TRUE(ejected) << st.servers().dump();
  EXPECT_GE(st.server("sim1")["ejections"].get<int>(), 1);
  // Answering again: after the back-off a probe succeeds and it takes launches again.
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim1")["state"] == "healthy"; }, 15s))
      << st.servers().dump();
  HttpClient c(st.http_port);
  const auto before = st.server("sim1")["launches"].get<int>();
  for (int i = 0; i < 40 && st.server("sim1")["launches"].get<int>() == before; ++i) {
    auto r = c.get("/sleep?ms=1");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_GT(st.server("sim1")["launches"].get<int>(), before);
  auto m = c.get("/metrics").body;
  EXPECT_NE(m.find("pie_gateway_pie_ejections_total{server=\"sim1\"}"), std::string::npos);
}

TEST(Cluster, ExampleConfigIsValid) {
  ::setenv("PIE_TOKEN", "example-token", 1);  // the example reads it from the environment
  pg::test::Process p({pg::test::binary_path("pie-gateway"), "--check-config", "--config",
                       std::string(PG_SOURCE_DIR) + "/config/cluster-example.yaml"});
  auto status = p.wait(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}
