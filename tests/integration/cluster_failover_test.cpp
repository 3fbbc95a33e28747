// Failures in a cluster of real pie-sim servers: a server SIGKILLed under load (launches fail
// over, its running jobs fail "Pie server <name> lost", the others keep serving, it rejoins when
// restarted), and sessions dropped mid-stream (output identical to an undisturbed run).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <future>
#include <map>
#include <thread>

#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

json job_list(HttpClient& c) {
  auto r = c.get("/gateway/jobs?limit=10000");
  return r.status == 200 ? json::parse(r.body)["result"] : json::array();
}

}  // namespace

TEST(ClusterFailover, KilledServerFailsItsJobsOthersServeItRejoins) {
  ClusterOptions o;
  // sim0 answers slowly, so that launches are still pending on it when it dies.
  o.sim_args = {{"--reply-delay-ms", "150"}};
  o.rest_yaml =
      "cluster: {ping_interval: 500ms, ping_timeout: 2s, server_lost_after: 2s, retry_budget: 2}\n"
      "endpoints:\n"
      "  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
      " arguments: [\"--ms\", \"{ms}\"], timeout: 60s}\n";
  ClusterStack st(o);
  HttpClient c(st.http_port);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(c.get("/sleep_async?ms=4000").status, 200);
  // Some of them run on sim0 (accepted), and more launches are still waiting for its replies.
  auto accepted = [&] {
    auto s = st.server("sim0");
    return s["instances_in_flight"].get<int>() - s["launching"].get<int>();
  };
  ASSERT_TRUE(ClusterStack::eventually([&] { return accepted() >= 2; }, 10s)) << st.servers().dump();
  for (int i = 0; i < 30; ++i) ASSERT_EQ(c.get("/sleep_async?ms=300").status, 200);
  const auto pending = st.server("sim0")["launching"].get<int>();
  st.kill_sim(0);

  // Everything ends: jobs that ran on sim0 fail with the clear error, the rest complete.
  json jobs;
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        jobs = job_list(c);
        if (jobs.size() != 60) return false;
        for (const auto& j : jobs)
          if (j["state"] == "queued" || j["state"] == "running") return false;
        return true;
      },
      30s))
      << jobs.dump(1);
  int lost = 0, completed = 0;
  for (const auto& j : jobs) {
    if (j["state"] == "completed") {
      ++completed;
      continue;
    }
    EXPECT_EQ(j["state"], "failed") << j.dump();
    EXPECT_EQ(j.value("server", ""), "sim0") << j.dump();
    EXPECT_EQ(j["error"]["type"], "PieSessionLost") << j.dump();
    EXPECT_NE(j["error"]["message"].get<std::string>().find("Pie server sim0 lost"), std::string::npos) << j.dump();
    ++lost;
  }
  EXPECT_GE(lost, 1);
  EXPECT_EQ(lost + completed, 60);
  std::cerr << "sim0 had " << pending << " launches pending; " << lost << " jobs lost, " << completed
            << " completed\n";
  EXPECT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["state"] == "down"; }, 5s))
      << st.servers().dump();

  // The others keep serving.
  for (int i = 0; i < 5; ++i) {
    auto r = c.get("/sleep_async?ms=1");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // Restarted on the same port, it rejoins and takes launches again.
  st.restart_sim(0);
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["state"] == "healthy"; }, 15s))
      << st.servers().dump();
  const auto before = st.server("sim0")["launches"].get<int>();
  for (int i = 0; i < 60 && st.server("sim0")["launches"].get<int>() == before; ++i)
    ASSERT_EQ(c.get("/sleep_async?ms=200").status, 200);
  EXPECT_GT(st.server("sim0")["launches"].get<int>(), before);
}

TEST(ClusterFailover, SessionDropMidStreamLosesNothing) {
  ClusterOptions o;
  o.sims = 2;
  // sim1 drops every session after 40 messages sent on it; sim0 is undisturbed.
  o.sim_args = {{"--token-delay-ms", "3"}, {"--token-delay-ms", "3", "--drop-after", "40", "--drop-flush"}};
  o.server_yaml = {"    labels: {kind: calm}\n", "    labels: {kind: flaky}\n"};
  o.rest_yaml =
      "groups:\n  calm: [sim0]\n  flaky: [sim1]\n"
      "cluster: {ping_interval: 1m}\n"  // no pings in the middle of the drops
      "endpoints:\n"
      "  - {name: calm, kind: get, group: calm, inferlet: std/text-completion@0.1.0, result: stdout,"
      " params: [{name: prompt}, {name: n, type: int}], arguments: [\"--prompt\", \"{prompt}\", \"--max-tokens\", \"{n}\"]}\n"
      "  - {name: flaky, kind: get, group: flaky, inferlet: std/text-completion@0.1.0, result: stdout,"
      " params: [{name: prompt}, {name: n, type: int}], arguments: [\"--prompt\", \"{prompt}\", \"--max-tokens\", \"{n}\"]}\n";
  ClusterStack st(o);
  HttpClient c(st.http_port);
  for (int round = 0; round < 3; ++round) {
    const std::string q = "?prompt=round" + std::to_string(round) + "&n=300";
    auto calm = c.get("/calm" + q);
    auto flaky = c.get("/flaky" + q);
    ASSERT_EQ(calm.status, 200) << calm.body;
    ASSERT_EQ(flaky.status, 200) << flaky.body << st.gateway_log();
    const auto a = json::parse(calm.body)["result"].get<std::string>();
    const auto b = json::parse(flaky.body)["result"].get<std::string>();
    EXPECT_GT(a.size(), 300u);
    EXPECT_EQ(a, b) << "round " << round;
    EXPECT_EQ(flaky.header("X-Pie-Output-Incomplete"), "true");  // it was re-attached: said so
    EXPECT_TRUE(calm.header("X-Pie-Output-Incomplete").empty());
  }
  EXPECT_GE(st.server("sim1")["reattaches"].get<int>(), 3) << st.servers().dump();
  EXPECT_EQ(st.server("sim0")["reattaches"], 0);
}

TEST(ClusterFailover, IdempotentJobRunsAgainElsewhereWhenItsServerIsLost) {
  ClusterOptions o;
  o.sims = 2;
  o.rest_yaml =
      "cluster: {server_lost_after: 1s}\n"
      "endpoints:\n"
      "  - {name: sleep, kind: get, idempotent: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
      " arguments: [\"--ms\", \"{ms}\"], timeout: 30s}\n";
  ClusterStack st(o);
  auto call = std::async(std::launch::async, [&] { return HttpClient(st.http_port).get("/sleep?ms=2500"); });
  HttpClient c(st.http_port);
  std::string where;
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        for (const auto& j : job_list(c))
          if (j["state"] == "running") where = j.value("server", "");
        return !where.empty();
      },
      10s));
  st.kill_sim(where == "sim0" ? 0 : 1);
  auto r = call.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["result"], "slept 2500 ms");
  EXPECT_EQ(r.header("X-Pie-Output-Incomplete"), "true");
  auto jobs = job_list(c);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(jobs[0]["server"], where) << jobs.dump();
  EXPECT_EQ(jobs[0]["state"], "completed");
}
