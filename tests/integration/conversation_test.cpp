// Issue 8 item 3 over HTTP: conversations with pie-sim's std/chat (each message m is answered
// "echo: m"; "bye" completes it) through the JSON routes (NAME/open|send|close) and the TARP RPC
// routes (NAME_open|send|close, driven by the Python client); idle timeout, the cap on open
// sessions, turn timeouts, bad input, and a conversation surviving dropped WebSockets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <thread>

#include "support/cluster_stack.hpp"
#include "support/script_checks.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;
using pg::test::HttpClient;

namespace {

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

const char* kEndpoints =
    "endpoints:\n"
    "  - {name: chat, kind: session, inferlet: std/chat@0.1.0, timeout: 5s, session: {max_open: 2}}\n"
    "  - {name: tools/chat, kind: session, inferlet: std/chat@0.1.0, session: {idle_timeout: 300ms}}\n"
    // std/sleep never answers messages: every turn times out, and the session stays open.
    "  - {name: mute, kind: session, inferlet: std/sleep@0.1.0, timeout: 1500ms, params: [{name: ms, default: '60000'}],"
    " arguments: ['--ms', '{ms}']}\n"
    "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ['{text}']}\n"
    "  - {name: blob_rpc, kind: rpc, inferlet: std/blob-echo@0.1.0, params: [{name: data}], result: blob,"
    " input: {send: blob, from: 'param:data'}}\n";

/// One pie-sim and the endpoints above.
ClusterOptions one_sim() {
  ClusterOptions o;
  o.sims = 1;
  o.rest_yaml = kEndpoints;
  return o;
}

std::string open_session(HttpClient& c, const std::string& name) {
  auto r = c.post("/" + name + "/open", "{}", "application/json");
  EXPECT_EQ(r.status, 200) << r.body;
  return parse(r.body)["result"].value("session", "");
}

json say(HttpClient& c, const std::string& name, const std::string& id, const std::string& text, int* status = nullptr) {
  auto r = c.post("/" + name + "/send", json{{"session", id}, {"message", text}}.dump(), "application/json");
  if (status) *status = r.status;
  return parse(r.body);
}

}  // namespace

TEST(Conversation, ThreeTurnsOverHttpJsonThenClose) {
  ClusterStack st(one_sim());
  auto c = st.client();
  auto r = c.post("/chat/open", "{}", "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  auto opened = parse(r.body)["result"];
  const std::string id = opened.value("session", "");
  ASSERT_EQ(id.size(), 36u) << r.body;
  EXPECT_EQ(opened["server"], "sim0");
  EXPECT_FALSE(opened.value("instance_id", "").empty());
  for (const std::string text : {"one", "two", "three"}) {
    int status = 0;
    auto reply = say(c, "chat", id, text, &status);
    ASSERT_EQ(status, 200) << reply.dump();
    EXPECT_EQ(reply["result"]["reply"], "echo: " + text);
    EXPECT_EQ(reply["result"]["messages"], json::array({"echo: " + text}));
    EXPECT_EQ(reply["result"]["ended"], false);
  }
  // A text/plain body is the message itself (session in the query string).
  r = c.post("/chat/send?session=" + id, "plain words", "text/plain");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"]["reply"], "echo: plain words");
  // The conversation is a job: gateway/jobs lists it, running, with the conversation so far.
  auto jobs = parse(c.get("/gateway/jobs?endpoint=chat").body)["result"];
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["id"], id);
  EXPECT_EQ(jobs[0]["state"], "running");
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("pie_gateway_conversations_open{endpoint=\"chat\"} 1"), std::string::npos) << metrics;

  r = c.post("/chat/close", json{{"session", id}}.dump(), "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"]["status"], "closed");
  EXPECT_EQ(parse(r.body)["result"]["messages"], 4);
  // Closed: sending again is 410 with the reason; the job completed.
  int status = 0;
  auto gone = say(c, "chat", id, "four", &status);
  EXPECT_EQ(status, 410) << gone.dump();
  EXPECT_EQ(gone["type"], "SessionClosed");
  jobs = parse(c.get("/gateway/jobs?endpoint=chat").body)["result"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "completed");
  metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("pie_gateway_conversations_open{endpoint=\"chat\"} 0"), std::string::npos) << metrics;
}

TEST(Conversation, ByeEndsTheConversationWithItsReturnValue) {
  ClusterStack st(one_sim());
  auto c = st.client();
  const auto id = open_session(c, "chat");
  int status = 0;
  auto reply = say(c, "chat", id, "hello", &status);
  ASSERT_EQ(status, 200) << reply.dump();
  reply = say(c, "chat", id, "bye", &status);
  ASSERT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["result"]["ended"], true);
  EXPECT_EQ(reply["result"]["reply"], "bye");
  auto closed = c.post("/chat/close", json{{"session", id}}.dump(), "application/json");
  EXPECT_EQ(closed.status, 410) << closed.body;
}

TEST(Conversation, IdleSessionsAreClosedAndOpenSessionsAreCapped) {
  ClusterStack st(one_sim());
  auto c = st.client();
  // tools/chat closes after 300 ms without a message (its routes also answer as tools_chat_...).
  const auto idle = open_session(c, "tools/chat");
  int status = 0;
  auto reply = say(c, "tools/chat", idle, "still here", &status);
  ASSERT_EQ(status, 200) << reply.dump();
  // Polling gateway/jobs (not sending: a message would keep it alive) until the job ends.
  json job;
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        job = parse(c.get("/gateway/jobs?endpoint=tools/chat").body)["result"];
        return job.size() == 1 && job[0]["state"] != "running";
      },
      10s))
      << job.dump();
  EXPECT_EQ(job[0]["state"], "cancelled");
  EXPECT_EQ(job[0]["error"]["type"], "IdleTimeout");
  auto gone = say(c, "tools/chat", idle, "ping", &status);
  EXPECT_EQ(status, 410) << gone.dump();
  EXPECT_NE(gone["message"].get<std::string>().find("idle"), std::string::npos) << gone.dump();

  // chat allows two open sessions: the third open is refused until one closes.
  const auto a = open_session(c, "chat");
  const auto b = open_session(c, "chat");
  auto third = c.post("/chat/open", "{}", "application/json");
  EXPECT_EQ(third.status, 503) << third.body;
  EXPECT_EQ(parse(third.body)["type"], "TooManySessions");
  EXPECT_EQ(third.header("Retry-After"), "1");
  ASSERT_EQ(c.post("/chat/close", json{{"session", a}}.dump(), "application/json").status, 200);
  const auto d = open_session(c, "chat");
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(say(c, "chat", b, "b", &status)["result"]["reply"], "echo: b");
  EXPECT_EQ(say(c, "chat", d, "d", &status)["result"]["reply"], "echo: d");
}

TEST(Conversation, ATurnWithoutReplyTimesOutTheSessionStaysOpenAndTakesOneMessageAtATime) {
  ClusterStack st(one_sim());
  auto c = st.client();
  const auto id = open_session(c, "mute");
  for (int i = 0; i < 2; ++i) {
    int status = 0;
    auto r = say(c, "mute", id, "anyone?", &status);
    EXPECT_EQ(status, 504) << r.dump();
    EXPECT_NE(r.value("message", "").find("stays open"), std::string::npos) << r.dump();
  }
  // One message at a time: of two sent together, one waits (and times out), the other is 409.
  int first = 0, second = 0;
  std::thread other([&] {
    HttpClient c2(st.http_port);
    say(c2, "mute", id, "first", &first);
  });
  say(c, "mute", id, "second", &second);
  other.join();
  EXPECT_TRUE((first == 504 && second == 409) || (first == 409 && second == 504)) << first << " " << second;
  EXPECT_EQ(c.post("/mute/close", json{{"session", id}}.dump(), "application/json").status, 200);
}

TEST(Conversation, BadRequestsGetPreciseErrors) {
  ClusterStack st(one_sim());
  auto c = st.client();
  const auto id = open_session(c, "chat");
  auto check = [&](pg::test::HttpResult r, int status, const std::string& needle) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_NE(r.body.find(needle), std::string::npos) << "expected '" << needle << "' in " << r.body;
  };
  check(c.get("/chat/open"), 405, "POST only");
  check(c.post("/chat", "{}", "application/json"), 404, "chat/open");
  check(c.post("/chat/send", json{{"message", "x"}}.dump(), "application/json"), 400, "'session'");
  check(c.post("/chat/send", json{{"session", id}}.dump(), "application/json"), 400, "'message'");
  check(c.post("/chat/send", json{{"session", "0b7c1f7e-1111-4222-8333-444455556666"}, {"message", "x"}}.dump(),
               "application/json"),
        404, "NoSuchSession");
  check(c.post("/chat/send", json{{"session", "not-a-uuid"}, {"message", "x"}}.dump(), "application/json"), 404,
        "NoSuchSession");
  check(c.post("/chat/send", "{not json", "application/json"), 400, "BadRequest");
  check(c.post("/chat/open", "{\"extra\": 1}", "application/json"), 400, "extra");
  check(c.post("/chat/close", json{{"session", id}, {"why", "x"}}.dump(), "application/json"), 400, "unknown parameter 'why'");
  // A session of one endpoint is not reachable through another's routes.
  check(c.post("/mute/send", json{{"session", id}, {"message", "x"}}.dump(), "application/json"), 404, "endpoint 'mute'");
  // An RPC route wants an RPC body.
  check(c.post("/chat_send", "[1,2]", "application/json"), 400, "BadRequest");
  // Still usable after all that.
  int status = 0;
  EXPECT_EQ(say(c, "chat", id, "ok", &status)["result"]["reply"], "echo: ok");
  // Discovery lists the RPC methods and the session entry.
  auto disc = parse(c.get("/").body)["result"];
  std::vector<std::string> rpcs;
  for (const auto& e : disc["RPC"]) rpcs.push_back(e["name"]);
  EXPECT_NE(std::find(rpcs.begin(), rpcs.end(), "chat_send"), rpcs.end()) << disc.dump();
  ASSERT_EQ(disc["SESSION"].size(), 3u) << disc.dump();
  EXPECT_EQ(disc["SESSION"][0]["routes"]["send"], "chat/send");
}

TEST(Conversation, TarpPythonClientChatsThroughRpc) {
  ClusterStack st(one_sim());
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/tarp_conversation.py",
                                      "http://127.0.0.1:" + std::to_string(st.http_port)},
                                     st.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << st.dir << "/python.log";
  EXPECT_EQ(report.ok, 6) << "every scenario in tarp_conversation.py reports OK";
}

TEST(Conversation, SurvivesDroppedWebSockets) {
  ClusterOptions o;
  o.sims = 1;
  // The sim drops each session after 6 messages sent on it: the conversation's instance is
  // re-attached on another session every few turns.
  o.sim_args = {{"--drop-after", "6", "--drop-flush"}};
  o.rest_yaml = std::string("cluster: {ping_interval: 1m}\n") + kEndpoints +
                "  - {name: chat_short, kind: session, inferlet: std/chat@0.1.0, timeout: 1s}\n";
  ClusterStack st(o);
  auto c = st.client();
  const auto id = open_session(c, "chat_short");
  ASSERT_FALSE(id.empty());
  // A message sent just as its WebSocket drops can be lost (Pie does not acknowledge messages):
  // that turn answers 504 "Interrupted" and the client sends it again, as it is told to.
  int resent = 0;
  for (int turn = 0; turn < 12; ++turn) {
    const std::string text = "turn " + std::to_string(turn);
    int status = 0;
    auto reply = say(c, "chat_short", id, text, &status);
    if (status == 504 && reply.value("type", "") == "Interrupted" && resent < 4) {
      ++resent;
      reply = say(c, "chat_short", id, text, &status);
    }
    ASSERT_EQ(status, 200) << reply.dump() << "\n" << st.gateway_log();
    EXPECT_EQ(reply["result"]["reply"], "echo: " + text) << reply.dump();
  }
  EXPECT_NE(st.gateway_log().find("re-attached"), std::string::npos) << st.gateway_log();
  auto r = c.post("/chat_short/close", json{{"session", id}}.dump(), "application/json");
  EXPECT_EQ(r.status, 200) << r.body;
}
