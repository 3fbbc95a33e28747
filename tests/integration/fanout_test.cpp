// Fan-out endpoints (`fanout: all | N`) over three real pie-sim servers: one call, one run per
// server, the per-server results as a list; sync and async; partial and total failure; cancel;
// the call and its runs in gateway/jobs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <thread>

#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

const char* kEndpoints =
    "endpoints:\n"
    "  - {name: echo_all, kind: get, fanout: all, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
    "  - {name: echo_two, kind: get, fanout: 2, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
    "  - {name: json_all, kind: post, fanout: all, result: json, inferlet: std/echo@0.1.0, params: [{name: v}], arguments: [\"{v}\"]}\n"
    "  - {name: fail_all, kind: get, fanout: all, inferlet: std/fail@0.1.0}\n"
    "  - {name: sleep_all, kind: get, async: true, fanout: all, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
    " arguments: [\"--ms\", \"{ms}\"], timeout: 30s}\n";

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

// Three servers, all healthy before the test starts (fan-out picks from the healthy ones).
ClusterStack make_stack(std::vector<std::vector<std::string>> sim_args = {}) {
  ClusterOptions o;
  o.sim_args = std::move(sim_args);
  o.rest_yaml = kEndpoints;
  return ClusterStack(o);
}
bool all_healthy(const ClusterStack& st) {
  return ClusterStack::eventually(
      [&] {
        auto s = st.servers();
        int healthy = 0;
        for (const auto& e : s) healthy += e.value("state", "") == "healthy";
        return healthy == 3;
      },
      10s);
}

json find_job(HttpClient& c, const std::string& id) {
  auto jobs = parse(c.get("/gateway/jobs?limit=1000").body);
  for (const auto& j : jobs["result"])
    if (j["id"] == id) return j;
  return nullptr;
}

}  // namespace

TEST(Fanout, SyncCallRunsOnEveryServerAndListsTheResults) {
  auto st = make_stack();
  ASSERT_TRUE(all_healthy(st)) << st.servers().dump();
  HttpClient c(st.http_port);
  auto r = c.get("/echo_all?text=hello");
  ASSERT_EQ(r.status, 200) << r.body;
  auto body = parse(r.body);
  EXPECT_EQ(body["mimetype"], "application/json");
  const auto& list = body["result"];
  ASSERT_EQ(list.size(), 3u) << r.body;
  std::vector<std::string> servers;
  for (const auto& e : list) {
    servers.push_back(e["server"]);
    EXPECT_EQ(e["status"], "completed") << e.dump();
    EXPECT_EQ(e["result"], "hello") << e.dump();
    EXPECT_EQ(e["job"].get<std::string>().size(), 36u);
    EXPECT_TRUE(e.contains("instance_id"));
  }
  EXPECT_EQ(servers, (std::vector<std::string>{"sim0", "sim1", "sim2"}));

  // gateway/jobs: the call lists its runs; each run names its server and the call.
  const auto runs = list;
  auto run0 = find_job(c, runs[0]["job"]);
  ASSERT_FALSE(run0.is_null());
  EXPECT_EQ(run0["server"], "sim0");
  EXPECT_EQ(run0["state"], "completed");
  auto call = find_job(c, run0["parent"]);
  ASSERT_FALSE(call.is_null());
  EXPECT_EQ(call["endpoint"], "echo_all");
  EXPECT_EQ(call["state"], "completed");
  ASSERT_EQ(call["fanout"].size(), 3u) << call.dump();
  EXPECT_EQ(call["fanout"][1]["server"], "sim1");
  EXPECT_EQ(call["fanout"][1]["job"], runs[1]["job"]);
  EXPECT_EQ(call["fanout"][1]["state"], "completed");
}

TEST(Fanout, FanoutNRunsOnNDistinctServersAndJsonResultsAreValues) {
  auto st = make_stack();
  ASSERT_TRUE(all_healthy(st));
  HttpClient c(st.http_port);
  auto two = parse(c.get("/echo_two?text=x").body)["result"];
  ASSERT_EQ(two.size(), 2u) << two.dump();
  EXPECT_NE(two[0]["server"], two[1]["server"]);

  auto r = c.post("/json_all", R"({"v": "{\"score\": 7}"})", "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto results = parse(r.body)["result"];
  ASSERT_EQ(results.size(), 3u) << r.body;
  for (const auto& e : results) EXPECT_EQ(e["result"], (json{{"score", 7}})) << e.dump();
  auto bad = c.post("/json_all", R"({"v": "not json"})", "application/json");  // every run: BadInferletResult
  EXPECT_EQ(bad.status, 502) << bad.body;
  EXPECT_NE(bad.body.find("every run of the fan-out failed: sim0: BadInferletResult"), std::string::npos) << bad.body;
}

TEST(Fanout, AServerThatFailsIsReportedBesideTheOthers) {
  auto st = make_stack({{}, {"--refuse-launches"}, {}});
  ASSERT_TRUE(all_healthy(st));
  HttpClient c(st.http_port);
  auto r = c.get("/echo_all?text=hi");
  ASSERT_EQ(r.status, 200) << r.body;
  auto list = parse(r.body)["result"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["status"], "completed");
  EXPECT_EQ(list[1]["server"], "sim1");
  EXPECT_EQ(list[1]["status"], "failed");
  EXPECT_EQ(list[1]["error"]["type"], "LaunchRejected") << list[1].dump();
  EXPECT_EQ(list[2]["result"], "hi");

  auto all_failed = c.get("/fail_all");
  EXPECT_EQ(all_failed.status, 502) << all_failed.body;
  auto err = parse(all_failed.body);
  EXPECT_NE(err["message"].get<std::string>().find("every run of the fan-out failed: sim0: Exception: simulated failure"),
            std::string::npos)
      << all_failed.body;
}

TEST(Fanout, AsyncCallIsPolledAndFetchedAsAList) {
  auto st = make_stack();
  ASSERT_TRUE(all_healthy(st));
  HttpClient c(st.http_port);
  auto h = parse(c.get("/sleep_all?ms=200").body);
  const std::string id = h["result"].value("ID", "");
  ASSERT_FALSE(id.empty()) << h.dump();
  ASSERT_TRUE(ClusterStack::eventually(
      [&] { return parse(c.get("/asyncProbe?UUID=" + id).body)["result"].value("status", "") == "completed"; }, 20s));
  auto got = c.get("/asyncGet?UUID=" + id + "&format=json");
  ASSERT_EQ(got.status, 200) << got.body;
  auto list = parse(got.body)["result"];
  ASSERT_EQ(list.size(), 3u) << got.body;
  for (const auto& e : list) EXPECT_EQ(e["result"], "slept 200 ms");
}

TEST(Fanout, CancellingTheCallCancelsEveryRun) {
  auto st = make_stack();
  ASSERT_TRUE(all_healthy(st));
  HttpClient c(st.http_port);
  const std::string id = parse(c.get("/sleep_all?ms=20000").body)["result"].value("ID", "");
  ASSERT_FALSE(id.empty());
  // Wait until every run runs on its server, then cancel the call.
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        auto call = find_job(c, id);
        if (call.is_null() || call["fanout"].size() != 3) return false;
        for (const auto& r : call["fanout"])
          if (find_job(c, r["job"]).value("state", "") != "running") return false;
        return true;
      },
      10s));
  auto cancel = c.post("/gateway/cancel?UUID=" + id, "", "application/x-www-form-urlencoded");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  auto call = find_job(c, id);
  EXPECT_EQ(call["state"], "cancelled");
  for (const auto& r : call["fanout"]) {
    EXPECT_EQ(r["state"], "cancelled") << call.dump();
    EXPECT_EQ(find_job(c, r["job"])["state"], "cancelled");
  }
}

TEST(Fanout, NoHealthyServerIsUnavailable) {
  ClusterOptions o;
  o.sims = 2;
  o.rest_yaml = "groups:\n  second: [sim1]\nendpoints:\n"
                "  - {name: echo_second, kind: get, fanout: all, group: second, inferlet: std/echo@0.1.0}\n";
  ClusterStack st(o);
  HttpClient c(st.http_port);
  EXPECT_EQ(c.get("/echo_second").status, 200);
  st.kill_sim(1);
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim1").value("state", "") != "healthy"; }, 10s));
  auto r = c.get("/echo_second");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_NE(r.body.find("no healthy Pie server in group 'second' to fan out to"), std::string::npos) << r.body;
}
