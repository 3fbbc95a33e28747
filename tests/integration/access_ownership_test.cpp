// Who reaches what, with `access:` on, through the real daemon: a client's jobs and conversations
// answer another client exactly as unknown ones (404, same text) and an admin as usual;
// gateway/jobs lists per client; `allow:` refusals (403) and discovery listing only what the
// caller may call; the admin-only built-ins (/metrics, gateway/daemons, gateway/servers details).
#include <algorithm>
#include <thread>

#include "integration/access_support.hpp"
#include "support/sse_client.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::AccessClient;
using pg::test::AccessTest;
using pg::test::HttpResult;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: sleep, kind: get, async: true, suggested_wait: 100ms, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"], timeout: 5m}
  - {name: chat, kind: session, inferlet: std/chat@0.1.0}
)";
// allow: names that the clients file must know (the loader refuses a typo).
const char* kAllowed = R"(
  - {name: staff_only, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"],
     allow: [staff]}
  - {name: for_carol, kind: get, inferlet: std/echo@0.1.0, allow: [carol]}
)";

constexpr const char* kUnknown = "00000000-0000-4000-8000-000000000000";

/// `r` as it would read for `id` had it been asked about `kUnknown`: the same status and envelope.
void same_as_unknown(const HttpResult& r, const HttpResult& unknown, const std::string& id) {
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.status, unknown.status);
  std::string expected = unknown.body;
  for (auto at = expected.find(kUnknown); at != std::string::npos; at = expected.find(kUnknown))
    expected.replace(at, std::string(kUnknown).size(), id);
  EXPECT_EQ(r.body, expected);
}

std::vector<std::string> names(const json& discovery, const char* kind) {
  std::vector<std::string> out;
  for (const auto& e : discovery["result"][kind]) out.push_back(e["name"]);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_F(AccessTest, AnotherClientsJobAnswersAsAnUnknownOneAndAdminSeesIt) {
  auto alice = mint("alice");
  auto bob = mint("bob");
  auto admin = mint("root");
  start(kEndpoints, entry(alice) + entry(bob) + entry(admin, "roles: [admin]"));
  const std::string done = submit("/sleep?ms=10", alice);
  const std::string running = submit("/sleep?ms=60000", alice);
  ASSERT_FALSE(done.empty());
  ASSERT_FALSE(running.empty());
  // Wait (bounded) until the short one has finished, as its owner sees it.
  bool finished = false;
  for (int i = 0; i < 200 && !finished; ++i) {
    finished = body(get("/asyncProbe?UUID=" + done, alice.bearer()))["result"].value("status", "") == "completed";
    if (!finished) std::this_thread::sleep_for(25ms);
  }
  ASSERT_TRUE(finished);

  // Bob: every route answers exactly as for an id that never existed.
  for (const std::string route : {"/asyncProbe?UUID=", "/asyncGet?UUID="})
    same_as_unknown(get(route + done, bob.bearer()), get(route + kUnknown, bob.bearer()), done);
  for (const std::string what : {"/events", "/result", "/blobs/0"})
    same_as_unknown(get("/gateway/jobs/" + done + what, bob.bearer()),
                    get("/gateway/jobs/" + std::string(kUnknown) + what, bob.bearer()), done);
  same_as_unknown(post_json("/gateway/cancel", {{"UUID", running}}, bob.bearer()),
                  post_json("/gateway/cancel", {{"UUID", kUnknown}}, bob.bearer()), running);
  // Resuming the event stream of alice's call (Last-Event-ID) is refused alike.
  same_as_unknown(get("/sleep?ms=1", bob.bearer(), {{"Accept", "text/event-stream"}, {"Last-Event-ID", done + ":0"}}),
                  get("/sleep?ms=1", bob.bearer(), {{"Accept", "text/event-stream"}, {"Last-Event-ID", std::string(kUnknown) + ":0"}}),
                  done);

  // Bob's list holds none of them; alice's holds both, with her name; an admin's holds all.
  auto listed = [&](const AccessClient& who, const std::string& query = "") {
    std::vector<std::string> ids;
    const json listing = body(get("/gateway/jobs" + query, who.bearer()));
    for (const auto& j : listing.value("result", json::array())) {
      ids.push_back(j["id"]);
      EXPECT_EQ(j.value("client", ""), "alice") << j.dump();  // only alice made jobs
    }
    return ids;
  };
  EXPECT_TRUE(listed(bob).empty());
  EXPECT_TRUE(listed(bob, "?client=alice").empty());
  EXPECT_TRUE(has(listed(alice), done) && has(listed(alice), running));
  EXPECT_TRUE(has(listed(admin), done) && has(listed(admin), running));
  EXPECT_TRUE(listed(admin, "?client=bob").empty());
  EXPECT_EQ(listed(admin, "?client=alice").size(), 2u);

  // The admin reaches them; the owner's handle is still there afterwards (bob did not consume it).
  EXPECT_EQ(get("/asyncProbe?UUID=" + done, admin.bearer()).status, 200);
  EXPECT_EQ(get("/gateway/jobs/" + done + "/result", admin.bearer()).status, 200);
  pg::test::SseClient sse(stack_->http_port);
  EXPECT_EQ(sse.open("GET", "/gateway/jobs/" + done + "/events", {{"Authorization", admin.bearer()}}).status, 200);
  auto events = sse.rest(15s, 100);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "result");
  EXPECT_EQ(post_json("/gateway/cancel", {{"UUID", running}}, admin.bearer()).status, 200);
  auto fetched = get("/asyncGet?UUID=" + done, alice.bearer());
  EXPECT_EQ(fetched.status, 200) << fetched.body;
}

TEST_F(AccessTest, AnotherClientsConversationAnswersAsAnUnknownOne) {
  auto alice = mint("alice");
  auto bob = mint("bob");
  auto admin = mint("root");
  start(kEndpoints, entry(alice) + entry(bob) + entry(admin, "roles: [admin]"));
  auto opened = post_json("/chat/open", json::object(), alice.bearer());
  ASSERT_EQ(opened.status, 200) << opened.body;
  const std::string session = body(opened)["result"]["session"];
  for (const std::string verb : {"send", "close"}) {
    json msg = {{"session", session}, {"message", "hi"}};
    json unknown = {{"session", kUnknown}, {"message", "hi"}};
    if (verb == "close") msg.erase("message"), unknown.erase("message");
    same_as_unknown(post_json("/chat/" + verb, msg, bob.bearer()), post_json("/chat/" + verb, unknown, bob.bearer()),
                    session);
  }
  auto reply = post_json("/chat/send", {{"session", session}, {"message", "mine"}}, alice.bearer());
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(body(reply)["result"].value("reply", ""), "echo: mine");
  reply = post_json("/chat/send", {{"session", session}, {"message", "admin"}}, admin.bearer());
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(post_json("/chat/close", {{"session", session}}, alice.bearer()).status, 200);
}

TEST_F(AccessTest, AllowListsAre403AndDiscoveryListsOnlyWhatTheCallerMayCall) {
  auto alice = mint("alice");
  auto carol = mint("carol");
  auto admin = mint("root");
  start(std::string(kEndpoints) + kAllowed, entry(alice) + entry(carol, "roles: [staff]") + entry(admin, "roles: [admin]"));
  auto r = get("/staff_only?text=hi", alice.bearer());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(body(r).value("type", ""), "Forbidden");
  EXPECT_NE(body(r).value("message", "").find("endpoint 'staff_only'"), std::string::npos) << r.body;
  EXPECT_EQ(get("/for_carol", alice.bearer()).status, 403);
  EXPECT_EQ(get("/staff_only?text=hi", carol.bearer()).status, 200);  // by role
  EXPECT_EQ(get("/for_carol", carol.bearer()).status, 200);           // by name
  EXPECT_EQ(get("/staff_only?text=hi", admin.bearer()).status, 200);
  auto seen = [&](const AccessClient& who) { return names(body(get("/", who.bearer())), "GET"); };
  EXPECT_TRUE(has(seen(alice), "echo"));
  EXPECT_FALSE(has(seen(alice), "staff_only"));
  EXPECT_FALSE(has(seen(alice), "for_carol"));
  EXPECT_TRUE(has(seen(carol), "staff_only") && has(seen(carol), "for_carol"));
  EXPECT_TRUE(has(seen(admin), "staff_only") && has(seen(admin), "for_carol"));
}

TEST_F(AccessTest, MetricsDaemonsAndServerDetailsNeedAdmin) {
  auto alice = mint("alice");
  auto admin = mint("root");
  start(kEndpoints, entry(alice) + entry(admin, "roles: [admin]"));
  auto r = get("/metrics", alice.bearer());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(body(r).value("type", ""), "Forbidden");
  EXPECT_EQ(get("/metrics", admin.bearer()).status, 200);
  const json launch = {{"server", "sim"}, {"port", 9}, {"inferlet", "std/echo@0.1.0"}};
  r = post_json("/gateway/daemons", launch, alice.bearer());
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(body(r).value("message", "").find("admin"), std::string::npos);
  EXPECT_EQ(get("/gateway/daemons", alice.bearer()).status, 403);
  EXPECT_NE(post_json("/gateway/daemons", launch, admin.bearer()).status, 403);
  auto mine = body(get("/gateway/servers", alice.bearer()));
  ASSERT_EQ(mine["result"].size(), 1u) << mine.dump();
  EXPECT_EQ(mine["result"][0].value("name", ""), "sim");
  EXPECT_EQ(mine["result"][0].value("state", ""), "healthy");
  EXPECT_FALSE(mine["result"][0].contains("uri")) << mine.dump();
  EXPECT_FALSE(mine["result"][0].contains("daemons"));
  auto full = body(get("/gateway/servers", admin.bearer()));
  EXPECT_TRUE(full["result"][0].contains("uri")) << full.dump();
}
