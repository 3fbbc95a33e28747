// Liveness of Pie sessions under load (issue 14, item 4), through the real daemon: any frame is
// proof of life, a ping goes out only on an idle session, and a pong queued behind many frames or
// slow replies is not death. A server that really stopped is still found out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

std::string endpoints(const std::string& timeout) {
  return "endpoints:\n"
         "  - {name: complete_async, kind: get, async: true, inferlet: std/text-completion@0.1.0, timeout: " +
         timeout +
         ",\n"
         "     params: [{name: n, type: int}], arguments: [\"--prompt\", \"once upon a time\", \"--max-tokens\", "
         "\"{n}\"]}\n"
         "jobs: {max_live: 100000}\n";
}

std::string submit(HttpClient& c, int tokens) {
  return ClusterStack::submit_async(c, "/complete_async?n=" + std::to_string(tokens));
}

/// Waits (bounded) for every job to end; returns those that did not complete, with their state.
std::vector<std::string> not_completed(HttpClient& c, const std::vector<std::string>& ids) {
  std::vector<std::string> bad;
  for (const auto& id : ids) {
    std::string state;
    ClusterStack::eventually(
        [&] {
          state = ClusterStack::job_status(c, id);
          return state != "in_progress";  // asyncProbe: in_progress until the job ends
        },
        120s);
    if (state != "completed") bad.push_back(id + ": " + state);
  }
  return bad;
}

}  // namespace

TEST(Liveness, TwoHundredFastStreamsOutliveAShortPingTimeout) {
  ClusterOptions o;
  o.sims = 1;
  o.sessions = 2;
  o.sim_args = {{"--token-delay-ms", "0"}};
  o.request_timeout = "60s";  // launch replies queue behind the tokens too
  // A ping timeout this short failed every session when the pongs queued behind the tokens.
  o.rest_yaml = "cluster: {ping_interval: 100ms, ping_timeout: 500ms}\n" + endpoints("600s");
  ClusterStack st(o);
  HttpClient c(st.http_port);
  constexpr int kStreams = 200;
  std::vector<std::string> ids;
  for (int i = 0; i < kStreams; ++i) {
    auto id = submit(c, 300);
    ASSERT_FALSE(id.empty()) << "submit " << i;
    ids.push_back(id);
  }
  const auto bad = not_completed(c, ids);
  EXPECT_TRUE(bad.empty()) << bad.size() << " of " << kStreams << " did not complete, e.g. " << bad.front() << "\n"
                           << st.gateway_log().substr(0, 4000);
  const auto s = st.server("sim0");
  EXPECT_EQ(s["reconnects"].get<int>(), 0) << s.dump();
  EXPECT_EQ(s["state"], "healthy") << s.dump();
}

TEST(Liveness, SlowRepliesOnABusySessionCauseNoReconnects) {
  ClusterOptions o;
  o.sims = 1;
  o.sessions = 1;
  // Every request waits 300 ms and they are handled one at a time: a ping sent behind 20
  // launches is answered seconds later, while launch replies and tokens keep arriving.
  o.sim_args = {{"--reply-delay-ms", "300", "--token-delay-ms", "5"}};
  o.request_timeout = "60s";
  o.rest_yaml = "cluster: {ping_interval: 200ms, ping_timeout: 2s}\n" + endpoints("120s");
  ClusterStack st(o);
  HttpClient c(st.http_port);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    auto id = submit(c, 400);
    ASSERT_FALSE(id.empty()) << "submit " << i;
    ids.push_back(id);
  }
  const auto bad = not_completed(c, ids);
  EXPECT_TRUE(bad.empty()) << bad.size() << " did not complete, e.g. " << bad.front() << "\n"
                           << st.gateway_log().substr(0, 4000);
  const auto s = st.server("sim0");
  EXPECT_EQ(s["reconnects"].get<int>(), 0) << s.dump();
}

TEST(Liveness, AServerThatStopsAnsweringIsStillDetected) {
  ClusterOptions o;
  o.sims = 1;
  o.sessions = 1;
  o.sim_args = {{"--stall-after", "1"}};  // answers the authentication, then nothing, socket open
  o.rest_yaml = "cluster: {ping_interval: 500ms, ping_timeout: 500ms}\n" + endpoints("10s");
  ClusterStack st(o);
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0")["reconnects"].get<int>() >= 2; }, 30s))
      << st.servers().dump();
  EXPECT_NE(st.gateway_log().find("nothing received within 500 ms of a ping"), std::string::npos)
      << st.gateway_log().substr(0, 4000);
}
