// Issue 8 items 1, 4, 5 against real pie-sim servers: request bodies and parameters sent to the
// instance as messages (std/chat) and blobs (std/blob-echo, byte for byte), `result: messages |
// last_message`, daemon inferlets (config and POST gateway/daemons, shown in gateway/servers,
// launched again after a server restart) and GET gateway/models.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "inputs_endpoints.hpp"
#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;

namespace {

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

using pg::test::random_bytes;
const std::string kInputs = std::string("limits: {max_body_bytes: 8388608}\n") + pg::test::kInputEndpoints;

}  // namespace

TEST(Inputs, PostBodyOfAnyTypeReachesChatAsAMessage) {
  ClusterOptions o;
  o.sims = 1;
  o.rest_yaml = kInputs;
  ClusterStack st(o);
  auto c = st.client();
  // Plain text, JSON and form bodies are all passed through as they are (not read as parameters).
  for (const auto& [body, type] : std::vector<std::pair<std::string, std::string>>{
           {"hello there", "text/plain"}, {"{\"a\": 1}", "application/json"}, {"x=1&y=2", "application/x-www-form-urlencoded"}}) {
    auto r = c.post("/chat_body", body, type);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(parse(r.body)["result"], json::array({"echo: " + body})) << r.body;
  }
  // Parameters as inputs, in the declared order: the last message is the second one's echo.
  auto r = c.get("/chat_last?a=first&b=second");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"], "echo: second") << r.body;
  // A required parameter that feeds an input is refused before anything is launched.
  r = c.get("/chat_last?a=first");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST(Inputs, BlobRoundTripsByteForByteThroughBlobEcho) {
  ClusterOptions o;
  o.sims = 1;
  o.rest_yaml = kInputs;
  ClusterStack st(o);
  auto c = st.client();
  unsigned seed = 1;
  for (std::size_t n : {std::size_t{1}, std::size_t{262144}, std::size_t{262145}, std::size_t{3 * 1024 * 1024 + 7}}) {
    const auto bytes = random_bytes(n, seed++);
    auto r = c.post("/blob_echo", bytes, "application/octet-stream");
    ASSERT_EQ(r.status, 200) << "size " << n << ": " << r.body.substr(0, 300);
    EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
    ASSERT_EQ(r.body.size(), n);
    EXPECT_TRUE(r.body == bytes) << "size " << n << ": bytes differ";
    auto count = c.post("/blob_count", bytes, "image/png");
    ASSERT_EQ(count.status, 200) << count.body;
    EXPECT_EQ(parse(count.body)["result"], std::to_string(n) + " bytes");
  }
  // An empty body is an empty blob: blob-echo gets it (and sends nothing back).
  auto r = c.post("/blob_count", "", "application/octet-stream");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"], "0 bytes");
}

TEST(Daemons, ConfigAndBuiltInLaunchesShowInServersAndSurviveARestart) {
  ClusterOptions o;
  o.sims = 2;
  o.rest_yaml =
      "cluster: {server_lost_after: 300ms}\n"
      "daemons:\n  - {server: sim0, port: 9555, inferlet: std/echo@0.1.0, arguments: [hi]}\n";
  ClusterStack st(o);
  auto daemon_of = [&](const std::string& server) {
    auto s = st.server(server);
    return s.is_null() || s["daemons"].empty() ? json() : s["daemons"][0];
  };
  ASSERT_TRUE(ClusterStack::eventually([&] { return daemon_of("sim0").value("state", "") == "running"; }, 10s))
      << st.servers().dump();
  EXPECT_EQ(daemon_of("sim0")["reply"], "Server instance launched on port 9555");
  EXPECT_EQ(daemon_of("sim0")["port"], 9555);
  EXPECT_EQ(daemon_of("sim0")["launches"], 1);

  auto c = st.client();
  auto r = c.post("/gateway/daemons", R"({"server": "sim1", "port": 9556, "inferlet": "std/echo@0.1.0"})",
                  "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"]["reply"], "Server instance launched on port 9556");
  EXPECT_EQ(daemon_of("sim1")["state"], "running");
  // Refusals and bad requests.
  r = c.post("/gateway/daemons", R"({"server": "sim1", "port": 9557, "inferlet": "nope/missing@1.0.0"})", "application/json");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("Program not found"), std::string::npos) << r.body;
  r = c.post("/gateway/daemons", R"({"server": "nosuch", "port": 1, "inferlet": "std/echo"})", "application/json");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("unknown Pie server 'nosuch'"), std::string::npos) << r.body;
  r = c.post("/gateway/daemons", R"({"server": "sim1", "port": 0, "inferlet": "std/echo"})", "application/json");
  EXPECT_EQ(r.status, 400) << r.body;
  r = c.post("/gateway/daemons", "not json", "text/plain");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(c.get("/gateway/daemons").status, 405);

  // sim0 restarts (down longer than server_lost_after): its daemon is launched again.
  st.kill_sim(0);
  ASSERT_TRUE(ClusterStack::eventually([&] { return st.server("sim0").value("state", "") == "down"; }, 10s));
  st.restart_sim(0);
  ASSERT_TRUE(ClusterStack::eventually(
      [&] { return daemon_of("sim0").value("launches", 0) == 2 && daemon_of("sim0").value("state", "") == "running"; },
      15s))
      << st.servers().dump();
}

TEST(Models, GathersModelStatusPerServerWithAnErrorForADeadOne) {
  ClusterOptions o;
  o.sims = 3;
  o.rest_yaml = "models_cache: 1ms\n";
  ClusterStack st(o);
  auto c = st.client();
  json m;
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        m = parse(c.get("/gateway/models").body)["result"];
        if (!m.is_object() || m["servers"].size() != 3) return false;
        for (auto& s : m["servers"])
          if (!s.value("ok", false)) return false;
        return true;
      },
      10s))
      << m.dump();
  EXPECT_EQ(m["servers"][0]["server"], "sim0");
  EXPECT_EQ(m["servers"][2]["server"], "sim2");
  EXPECT_EQ(m["servers"][1]["status"]["model"], "pie-sim");
  EXPECT_EQ(m["servers"][1]["status"]["status"], "ready");

  st.kill_sim(1);
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        m = parse(c.get("/gateway/models").body)["result"];
        return m.is_object() && m["servers"].size() == 3 && m["servers"][1].value("ok", true) == false;
      },
      10s))
      << m.dump();
  EXPECT_NE(m["servers"][1]["error"].get<std::string>().find("no open session"), std::string::npos) << m.dump();
  EXPECT_TRUE(m["servers"][0]["ok"]);
  EXPECT_TRUE(m["servers"][2]["ok"]);
  EXPECT_EQ(c.post("/gateway/models", "", "text/plain").status, 405);
}

TEST(Models, AnswersAreReusedWithinTheCacheTime) {
  ClusterOptions o;
  o.sims = 2;
  o.rest_yaml = "models_cache: 1h\n";
  ClusterStack st(o);
  auto c = st.client();
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        for (auto& s : st.servers())
          if (s.value("state", "") != "healthy") return false;
        return true;
      },
      10s));
  auto first = parse(c.get("/gateway/models").body)["result"];
  ASSERT_TRUE(first["servers"][0]["ok"]) << first.dump();
  ASSERT_TRUE(first["servers"][1]["ok"]) << first.dump();
  st.kill_sim(1);
  // Within the cache time the gathered answer is served again, sim1 included.
  auto again = parse(c.get("/gateway/models").body)["result"];
  EXPECT_EQ(again["servers"], first["servers"]);
  EXPECT_TRUE(again.contains("age_ms"));
}
