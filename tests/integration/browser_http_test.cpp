// Browsers at the HTTP level, against real pie-sim and pie-gateway processes: CORS preflights
// and headers, Server-Sent Events (framing, resume, disconnect cancels), raw results, /ui.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

#include "pie/v02/messages.hpp"
#include "support/pie_test_client.hpp"
#include "support/sse_client.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::HttpClient;
using pg::test::SseClient;
using pg::test::SseEvent;
using pg::test::Stack;
using pg::test::StackOptions;
namespace v02 = pg::pie::v02;

namespace {

// Tokens come 30 ms apart (pie-sim --token-delay-ms), so a stream outlives idle_timeout (1 s).
const char* kConfig = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: fail, kind: get, inferlet: std/fail@0.1.0}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "5"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - name: complete_async
    kind: get
    async: true
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "5"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: sleep_keep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"],
     cancel_on_disconnect: false}
  - {name: image, kind: get, inferlet: std/image@0.1.0, result: blob, content_type: image/png}
  - {name: svg, kind: get, inferlet: std/echo@0.1.0, arguments: ["<svg xmlns='http://www.w3.org/2000/svg'/>"],
     result: stdout, content_type: image/svg+xml}
limits:
  idle_timeout: 1s
cors:
  allowed_origins: ["http://lab.example:3000"]
  max_age: 2m
)";

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

class BrowserHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = kConfig;
    o.sim_args = {"--token-delay-ms", "30"};
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
  static int port() { return stack_->http_port; }

  /// The job's state in gateway/jobs, polled until it is `want` (bounded); the last one seen.
  static std::string wait_state(const std::string& id, const std::string& want) {
    std::string state;
    for (int i = 0; i < 250 && state != want; ++i) {
      HttpClient c(port());
      auto j = parse(c.get("/gateway/jobs?limit=1000").body);
      for (const auto& job : j["result"])
        if (job["id"] == id) state = job["state"];
      if (state != want) std::this_thread::sleep_for(20ms);
    }
    return state;
  }
};
Stack* BrowserHttp::stack_ = nullptr;

std::vector<std::string> live_instances(int sim_port) {
  pg::test::PieTestClient pie(static_cast<std::uint16_t>(sim_port));
  std::vector<std::string> ids;
  if (!pie.request<v02::Response>(v02::InternalAuthenticate{pie.next_corr_id(), "any"})) return {"<auth failed>"};
  auto live = pie.request<v02::LiveInstances>(v02::ListInstances{pie.next_corr_id()});
  if (!live) return {"<no answer>"};
  for (const auto& i : live->instances)
    if (i.status != "Finished") ids.push_back(i.id);
  return ids;
}

TEST_F(BrowserHttp, PreflightFromAnAllowedOriginIsAnswered) {
  HttpClient c(port());
  auto r = c.request("OPTIONS", "/echo", "",
                     {{"Origin", "http://lab.example:3000"}, {"Access-Control-Request-Method", "POST"},
                      {"Access-Control-Request-Headers", "content-type, last-event-id"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://lab.example:3000");
  EXPECT_NE(r.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(r.header("Access-Control-Allow-Headers").find("Content-Type"), std::string::npos);
  EXPECT_EQ(r.header("Access-Control-Max-Age"), "120");
  EXPECT_NE(r.header("Vary").find("Origin"), std::string::npos);
}

TEST_F(BrowserHttp, PreflightsOutsideThePolicyAreRefusedWithTheReason) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string why;
  } cases[] = {
      {{{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "GET"}}, "origin 'http://evil.example'"},
      {{{"Origin", "http://lab.example:3000"}, {"Access-Control-Request-Method", "PUT"}}, "method 'PUT'"},
      {{{"Origin", "http://lab.example:3000"}, {"Access-Control-Request-Method", "GET"},
        {"Access-Control-Request-Headers", "x-secret"}},
       "header 'x-secret'"},
  };
  for (const auto& k : cases) {
    HttpClient c(port());
    auto r = c.request("OPTIONS", "/echo", "", k.headers);
    EXPECT_EQ(r.status, 403) << k.why;
    EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "") << k.why;
    EXPECT_EQ(parse(r.body)["type"], "CorsRefused");
    EXPECT_NE(r.body.find(k.why), std::string::npos) << r.body;
  }
}

TEST_F(BrowserHttp, ActualResponsesCarryCorsHeadersOnlyForAllowedOrigins) {
  HttpClient c(port());
  auto allowed = c.get("/echo?text=hi", {{"Origin", "http://lab.example:3000"}});
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.header("Access-Control-Allow-Origin"), "http://lab.example:3000");
  EXPECT_NE(allowed.header("Access-Control-Expose-Headers").find("X-Request-Id"), std::string::npos);
  EXPECT_NE(allowed.header("Access-Control-Expose-Headers").find("Retry-After"), std::string::npos);
  EXPECT_EQ(allowed.header("Vary"), "Origin");
  auto other = c.get("/echo?text=hi", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(other.status, 200);  // browsers enforce CORS; the gateway just does not allow it
  EXPECT_EQ(other.header("Access-Control-Allow-Origin"), "");
  EXPECT_EQ(other.header("Vary"), "Origin");
  // A TARP client (no Origin) gets the same envelope as ever.
  auto tarp = c.get("/echo?text=hi");
  EXPECT_EQ(tarp.header("Content-Type"), "application/json");
  EXPECT_EQ(parse(tarp.body), parse(R"({"status":"success","mimetype":"text/plain","result":"hi"})"));
}

TEST_F(BrowserHttp, EventStreamCallSendsEachTokenThenTheResult) {
  SseClient s(port());
  // 40 tokens 30 ms apart: the stream outlives the 1 s idle timeout without being cut.
  auto head = s.open("GET", "/complete?prompt=Once&max_tokens=40", {{"Accept", "text/event-stream"}});
  ASSERT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(head.header("Cache-Control"), "no-cache");
  auto events = s.rest(30s);
  ASSERT_TRUE(s.ended()) << "the stream did not end";
  ASSERT_GE(events.size(), 43u);
  EXPECT_EQ(events[0].event, "job");
  const std::string job = parse(events[0].data)["job"];
  EXPECT_EQ(events[0].id, job);
  EXPECT_EQ(events[1].event, "started");
  std::string text;
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].id, job + ":" + std::to_string(i - 1)) << "ids are the job's event indexes, in order";
    if (events[i].event == "stdout") text += parse(events[i].data)["text"].get<std::string>();
  }
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const SseEvent& e) { return e.event == "stdout"; }), 40);
  const auto& last = events.back();
  EXPECT_EQ(last.event, "result");
  auto result = parse(last.data);
  EXPECT_EQ(result["status"], "success");
  EXPECT_EQ(result["mimetype"], "text/plain");
  EXPECT_EQ(result["result"], text);
  // The connection is kept alive after the stream.
  auto next = s.again("/echo?text=again");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(parse(next.body)["result"], "again");
}

TEST_F(BrowserHttp, EventStreamOfAFailingCallEndsWithAnErrorEvent) {
  SseClient s(port());
  ASSERT_EQ(s.open("GET", "/fail", {{"Accept", "text/event-stream"}}).status, 200);
  auto events = s.rest(15s);
  ASSERT_FALSE(events.empty());
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const SseEvent& e) { return e.event == "stderr"; }));
  EXPECT_EQ(events.back().event, "error");
  auto e = parse(events.back().data);
  EXPECT_EQ(e["type"], "Exception");
  EXPECT_EQ(e["http_status"], 502);
  // A call refused before it starts is a plain JSON error, not a stream.
  auto bad = s.open("GET", "/echo?nope=1", {{"Accept", "text/event-stream"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(parse(bad.body)["type"], "BadRequest");
}

TEST_F(BrowserHttp, JobEventsResumeAfterLastEventIdWithoutLossOrDuplicates) {
  HttpClient c(port());
  auto handle = parse(c.get("/complete_async?prompt=resume&max_tokens=30").body);
  const std::string id = handle["result"]["ID"];
  std::vector<SseEvent> seen;
  {
    SseClient s(port());
    ASSERT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events", {{"Accept", "text/event-stream"}}).status, 200);
    for (int i = 0; i < 4; ++i) {
      auto e = s.next();
      ASSERT_TRUE(e);
      seen.push_back(*e);
    }
  }  // the reader drops: an async job keeps running
  {
    SseClient s(port());
    ASSERT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events", {{"Last-Event-ID", seen.back().id}}).status, 200);
    for (int i = 0; i < 4; ++i) {
      auto e = s.next();
      ASSERT_TRUE(e);
      seen.push_back(*e);
    }
  }
  {
    SseClient s(port());  // the query form, for clients that cannot set headers
    ASSERT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events?last_event_id=" + seen.back().id).status, 200);
    auto tail = s.rest(30s);
    EXPECT_TRUE(s.ended());
    seen.insert(seen.end(), tail.begin(), tail.end());
  }
  std::string text;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].id, std::to_string(i)) << "event " << i << " is " << seen[i].event;
    if (seen[i].event == "stdout") text += parse(seen[i].data)["text"].get<std::string>();
  }
  ASSERT_EQ(seen.back().event, "result");
  EXPECT_EQ(parse(seen.back().data)["result"], text);
  // Everything delivered: a reconnect is told to stop (204), a bogus id is refused.
  SseClient s(port());
  EXPECT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events", {{"Last-Event-ID", seen.back().id}}).status, 204);
  EXPECT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events", {{"Last-Event-ID", "999"}}).status, 204);
  EXPECT_EQ(s.open("GET", "/gateway/jobs/" + id + "/events", {{"Last-Event-ID", "x"}}).status, 400);
  EXPECT_EQ(s.open("GET", "/gateway/jobs/00000000-0000-4000-8000-000000000000/events").status, 404);
}

TEST_F(BrowserHttp, ACallStreamResumesWithItsJobAndIndex) {
  SseClient s(port());
  ASSERT_EQ(s.open("GET", "/complete?prompt=again&max_tokens=20", {{"Accept", "text/event-stream"}}).status, 200);
  auto job = s.next();
  auto started = s.next();
  ASSERT_TRUE(job && started);
  auto all = s.rest(30s);
  ASSERT_TRUE(s.ended());
  // Reconnecting with the id of `started` replays exactly what followed it.
  SseClient again(port());
  ASSERT_EQ(again.open("GET", "/complete?prompt=again&max_tokens=20",
                       {{"Accept", "text/event-stream"}, {"Last-Event-ID", started->id}})
                .status,
            200);
  auto replay = again.rest(30s);
  ASSERT_EQ(replay.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(replay[i].id, all[i].id);
  EXPECT_EQ(again.open("GET", "/complete?prompt=again", {{"Accept", "text/event-stream"}, {"Last-Event-ID", all.back().id}})
                .status,
            204);
}

TEST_F(BrowserHttp, AnEventStreamReaderLeavingCancelsItsCall) {
  SseClient s(port());
  ASSERT_EQ(s.open("GET", "/sleep?ms=60000", {{"Accept", "text/event-stream"}}).status, 200);
  auto job = s.next();
  auto started = s.next();
  ASSERT_TRUE(job && started);
  ASSERT_EQ(started->event, "started");
  const std::string id = parse(job->data)["job"];
  const std::string instance = parse(started->data)["instance_id"];
  s.close();
  EXPECT_EQ(wait_state(id, "cancelled"), "cancelled");
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    auto live = live_instances(stack_->sim_port);
    gone = std::find(live.begin(), live.end(), instance) == live.end();
    if (!gone) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone) << "pie-sim still runs instance " << instance;
}

TEST_F(BrowserHttp, APlainCallerLeavingCancelsItsCallUnlessConfiguredNotTo) {
  auto running_job = [](const std::string& endpoint) {
    for (int i = 0; i < 250; ++i) {
      HttpClient c(port());
      auto j = parse(c.get("/gateway/jobs?state=running&endpoint=" + endpoint).body);
      if (!j["result"].empty()) return j["result"][0]["id"].get<std::string>();
      std::this_thread::sleep_for(20ms);
    }
    return std::string();
  };
  std::string id;
  {
    HttpClient c(port());
    c.timeout = 200ms;  // send, then stop waiting: the socket closes when `c` goes
    c.get("/sleep?ms=60000");
    id = running_job("sleep");
    ASSERT_FALSE(id.empty());
  }
  EXPECT_EQ(wait_state(id, "cancelled"), "cancelled");
  {
    HttpClient c(port());
    c.timeout = 100ms;
    c.get("/sleep_keep?ms=1500");
    id = running_job("sleep_keep");
    ASSERT_FALSE(id.empty());
  }
  EXPECT_EQ(wait_state(id, "completed"), "completed");
}

TEST_F(BrowserHttp, BinaryResultsAreServedRawWithTheirContentType) {
  HttpClient c(port());
  auto png = c.get("/image");
  ASSERT_EQ(png.status, 200);
  EXPECT_EQ(png.header("Content-Type"), "image/png");
  EXPECT_EQ(png.header("X-Content-Type-Options"), "nosniff");
  ASSERT_GT(png.body.size(), 8u);
  EXPECT_EQ(png.body.substr(0, 8), "\x89PNG\r\n\x1a\n");
  auto svg = c.get("/svg");
  EXPECT_EQ(svg.header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(svg.body, "<svg xmlns='http://www.w3.org/2000/svg'/>");
  // As a stream: a blob event with its URL, and the result in base64.
  SseClient s(port());
  ASSERT_EQ(s.open("GET", "/image", {{"Accept", "text/event-stream"}}).status, 200);
  auto events = s.rest(15s);
  ASSERT_GE(events.size(), 3u);
  auto blob = std::find_if(events.begin(), events.end(), [](const SseEvent& e) { return e.event == "blob"; });
  ASSERT_NE(blob, events.end());
  auto b = parse(blob->data);
  EXPECT_EQ(b["size"], png.body.size());
  auto fetched = c.get("/" + b["url"].get<std::string>());
  EXPECT_EQ(fetched.header("Content-Type"), "image/png");
  EXPECT_EQ(fetched.body, png.body);
  auto result = parse(events.back().data);
  EXPECT_EQ(events.back().event, "result");
  EXPECT_EQ(result["mimetype"], "image/png");
  EXPECT_EQ(result["encoding"], "base64");
  const std::string job = parse(events.front().data)["job"];
  auto again = c.get("/gateway/jobs/" + job + "/result");
  EXPECT_EQ(again.header("Content-Type"), "image/png");
  EXPECT_EQ(again.body, png.body);
}

TEST_F(BrowserHttp, UiIsServedAndBrowsersAreSentThere) {
  HttpClient c(port());
  auto page = c.get("/ui");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.header("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.body.find("<title>pie-gateway</title>"), std::string::npos);
  auto js = c.get("/ui/ui.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(c.get("/ui/ui.js", {{"If-None-Match", js.header("ETag")}}).status, 304);
  EXPECT_EQ(c.get("/ui/nothing.js").status, 404);
  auto browser = c.get("/", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  EXPECT_EQ(browser.status, 303);
  EXPECT_EQ(browser.header("Location"), "ui");
  for (const char* accept : {"application/json", "*/*"}) {
    auto tarp = c.get("/", {{"Accept", accept}});
    EXPECT_EQ(tarp.status, 200);
    EXPECT_EQ(parse(tarp.body)["status"], "success");
  }
  EXPECT_EQ(parse(c.get("/").body)["status"], "success");
}

}  // namespace
