// The cluster's pure parts: the balancer's choice, and the cluster sections of the config
// (servers' weight/max_instances/labels, groups, cluster knobs, endpoints' group/idempotent).
#include <gtest/gtest.h>

#include <map>

#include "cluster/balancer.hpp"
#include "config/cluster_section.hpp"
#include "config/loader.hpp"

using pg::cluster::Candidate;
using pg::cluster::pick_least_loaded;

TEST(Balancer, PicksLeastOutstandingPerWeight) {
  std::mt19937 rng(1);
  EXPECT_EQ(pick_least_loaded({}, rng), -1);
  EXPECT_EQ(pick_least_loaded({{5, 1}, {2, 1}, {9, 1}}, rng), 1);
  // 4/2 = 2 beats 3/1 = 3.
  EXPECT_EQ(pick_least_loaded({{3, 1}, {4, 2}}, rng), 1);
}

TEST(Balancer, TiesFollowWeights) {
  std::mt19937 rng(7);
  std::map<int, int> count;
  for (int i = 0; i < 6000; ++i) ++count[pick_least_loaded({{0, 1}, {0, 2}, {0, 3}}, rng)];
  EXPECT_NEAR(count[0], 1000, 200);
  EXPECT_NEAR(count[1], 2000, 250);
  EXPECT_NEAR(count[2], 3000, 250);
}

TEST(Balancer, SteadyLoadIsProportionalToWeight) {
  // Place 600 long jobs one by one: the outstanding counts end up 1:2:3.
  std::mt19937 rng(3);
  std::vector<Candidate> c{{0, 1}, {0, 2}, {0, 3}};
  for (int i = 0; i < 600; ++i) ++c[static_cast<std::size_t>(pick_least_loaded(c, rng))].outstanding;
  EXPECT_NEAR(static_cast<double>(c[0].outstanding), 100, 2);
  EXPECT_NEAR(static_cast<double>(c[1].outstanding), 200, 2);
  EXPECT_NEAR(static_cast<double>(c[2].outstanding), 300, 2);
}

namespace {

const char* kServers =
    "servers:\n"
    "  - {name: a, uri: \"ws://127.0.0.1:1/\", weight: 3, max_instances: 10, labels: {gpu: a100, zone: x}}\n"
    "  - {name: b, uri: \"ws://127.0.0.1:2/\", labels: {gpu: h100, zone: x}}\n"
    "  - {name: c, uri: \"ws://127.0.0.1:3/\"}\n";

std::string load_error(const std::string& yaml) {
  auto r = pg::config::load_string(yaml, "test.yaml");
  return r ? "" : r.error();
}

}  // namespace

TEST(ClusterConfig, ServersGroupsAndKnobs) {
  auto r = pg::config::load_string(std::string(kServers) +
                                       "groups:\n  big: [a]\n  zonex:\n    labels: {zone: x}\n"
                                       "cluster: {queue_size: 5, ping_interval: 250ms, eject_after: 3, retry_budget: 0,"
                                       " server_lost_after: 4s}\n"
                                       "endpoints:\n"
                                       "  - {name: e, kind: get, inferlet: std/echo, group: zonex, idempotent: true}\n"
                                       "  - {name: f, kind: get, inferlet: std/echo, group: all}\n",
                                   "t.yaml");
  ASSERT_TRUE(r) << r.error();
  const auto& cfg = *r;
  EXPECT_EQ(cfg.servers[0].weight, 3u);
  EXPECT_EQ(cfg.servers[0].max_instances, 10u);
  EXPECT_EQ(cfg.servers[0].labels.at("gpu"), "a100");
  EXPECT_EQ(cfg.servers[2].weight, 1u);
  EXPECT_EQ(cfg.servers[2].max_instances, 0u);
  EXPECT_EQ(cfg.cluster.queue_size, 5u);
  EXPECT_EQ(cfg.cluster.ping_interval.count(), 250);
  EXPECT_EQ(cfg.cluster.eject_after, 3u);
  EXPECT_EQ(cfg.cluster.retry_budget, 0u);
  EXPECT_EQ(cfg.cluster.server_lost_after.count(), 4000);
  EXPECT_EQ(cfg.cluster.ping_timeout.count(), 30000);  // default: tolerates a busy session
  EXPECT_EQ(cfg.endpoints[0].group, "zonex");
  EXPECT_TRUE(cfg.endpoints[0].idempotent);
  EXPECT_EQ(cfg.endpoints[1].group, "");  // all
  EXPECT_FALSE(cfg.endpoints[1].idempotent);
  auto cc = cfg.cluster_config();
  EXPECT_EQ(pg::config::group_members(cc, "big"), std::vector<std::string>{"a"});
  EXPECT_EQ(pg::config::group_members(cc, "zonex"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(pg::config::group_members(cc, ""), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ClusterConfig, ErrorsNameFileLineColumnAndField) {
  auto e = load_error(std::string(kServers) + "groups:\n  big: [a, nosuch]\n");
  EXPECT_NE(e.find("test.yaml:6:"), std::string::npos) << e;
  EXPECT_NE(e.find("groups.big[1]: names no server in 'servers' ('nosuch')"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "groups:\n  gpus:\n    labels: {gpu: v100}\n");
  EXPECT_NE(e.find("groups.gpus: selects no server"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "endpoints:\n  - {name: e, kind: get, inferlet: x, group: big}\n");
  EXPECT_NE(e.find("test.yaml:6:"), std::string::npos) << e;
  EXPECT_NE(e.find("endpoints[0].group: names no group in 'groups' ('big'"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "endpoints:\n  - {name: e, kind: get, inferlet: x, idempotent: maybe}\n");
  EXPECT_NE(e.find("endpoints[0].idempotent: must be true or false"), std::string::npos) << e;

  e = load_error("servers:\n  - {name: a, uri: \"ws://h:1/\", weight: 0}\n");
  EXPECT_NE(e.find("test.yaml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("servers[0].weight: must be a whole number from 1 to 1000"), std::string::npos) << e;

  e = load_error("servers:\n  - {name: a, uri: \"ws://h:1/\", labels: [x]}\n");
  EXPECT_NE(e.find("servers[0].labels: must be a mapping"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "cluster:\n  queue_sise: 3\n");
  EXPECT_NE(e.find("test.yaml:6:3: cluster.queue_sise: unknown field"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "cluster:\n  ping_interval: 0s\n");
  EXPECT_NE(e.find("cluster.ping_interval: must be from 100ms to 1h (got '0s')"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "cluster: {eject_time: 1m, max_eject_time: 10s}\n");
  EXPECT_NE(e.find("cluster.max_eject_time: must not be shorter than eject_time"), std::string::npos) << e;

  e = load_error(std::string(kServers) + "groups:\n  all: [a]\n");
  EXPECT_NE(e.find("groups.all: 'all' is reserved"), std::string::npos) << e;
}
