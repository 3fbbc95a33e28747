// Issue 14 items 1 and 6 through the real daemon, over raw sockets: HTTP framing that could
// smuggle a request (RFC 9112), bounded chunk extensions and trailers, Host, absolute-form
// targets, HEAD, one read_timeout per request on keep-alive connections, listen.allowed_hosts
// (DNS rebinding) and cross-site state-changing requests from browsers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <thread>

#include "support/raw_socket.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::count_responses;
using pg::test::first_status;
using pg::test::HttpClient;
using pg::test::RawSocket;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

// read_timeout is short (a whole request must arrive within it) and idle_timeout long, so that
// which of the two cut a connection can be told apart.
const char* kConfig = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}", "{**kwargs}"]}
  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],
     arguments: ["--ms", "{ms}"], timeout: 5m}
limits:
  read_timeout: 1s
  idle_timeout: 60s
cors:
  allowed_origins: ["http://lab.example:3000"]
)";

// An RPC body for no arguments: pickle protocol 0 of () and {} (")." and "}."), base64.
const char* kEmptyRpcBody = R"({"args": "KS4=", "kwargs": "fS4="})";

json parse(const std::string& s) { return json::parse(s, nullptr, false); }

/// The body of the first response in `bytes` (after its head).
std::string body_of(const std::string& bytes) {
  auto end = bytes.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : bytes.substr(end + 4);
}

/// The value of header `name` in a response head ("" if absent); `name` as the gateway writes it.
std::string head_field(const std::string& head, const std::string& name) {
  auto at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return {};
  at += name.size() + 4;
  return head.substr(at, head.find("\r\n", at) - at);
}

class HttpHostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = kConfig;
    o.listen_extra = "  admin: 127.0.0.1:0\n";
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
  static int port() { return stack_->http_port; }
  static std::string host() { return "127.0.0.1:" + std::to_string(port()); }

  /// Sends `request` on a new connection; everything the gateway answers until it closes.
  static std::string exchange(const std::string& request, bool* closed = nullptr) {
    RawSocket s(port());
    EXPECT_TRUE(s.connected());
    s.send(request);
    return s.read_until_close(10s, closed);
  }

  /// How many jobs of `endpoint` gateway/jobs knows.
  static std::size_t jobs_of(const std::string& endpoint) {
    HttpClient c(port());
    auto j = parse(c.get("/gateway/jobs?limit=10000&endpoint=" + endpoint).body);
    return j["result"].is_array() ? j["result"].size() : 0;
  }
};

Stack* HttpHostile::stack_ = nullptr;

TEST_F(HttpHostile, SmuggledRequestBehindTransferEncodingIsNotServed) {
  const std::string smuggled = "GET /echo?text=smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string cases[] = {
      // The final coding is not chunked: no way to know where the body ends.
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled,
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
      // Transfer-Encoding together with Content-Length.
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n" + smuggled,
      // An unknown coding before chunked; chunked twice; Transfer-Encoding on HTTP/1.0.
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled,
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
          smuggled,
      "GET /echo?text=first HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
      // Content-Length twice (even the same value).
      "GET /echo?text=first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n" + smuggled,
  };
  for (const auto& request : cases) {
    bool closed = false;
    auto got = exchange(request, &closed);
    EXPECT_TRUE(closed) << request;
    EXPECT_EQ(count_responses(got), 1) << request << "\n--- got:\n" << got;
    EXPECT_EQ(first_status(got), 400) << got;
    EXPECT_EQ(got.find("smuggled"), std::string::npos) << got;
    EXPECT_EQ(parse(body_of(got))["type"], "BadRequest") << got;
  }
  // A well-framed chunked request is served, and so is the next one on its connection.
  RawSocket s(port());
  const std::string rpc = kEmptyRpcBody;
  char size[16];
  std::snprintf(size, sizeof size, "%zx", rpc.size());
  s.send("POST /echo_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(size) + ";ext=1\r\n" + rpc + "\r\n0\r\nX-Trailer: t\r\n\r\n" +
         "GET /echo?text=two HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  auto both = s.read_until_close(10s);
  EXPECT_EQ(count_responses(both), 2) << both;
  EXPECT_EQ(first_status(both), 200) << both;
  EXPECT_NE(both.find("two"), std::string::npos) << both;
}

TEST_F(HttpHostile, HugeTrailersAndChunkExtensionsAre413WithoutGrowingMemory) {
  const int pid = stack_->gateway->pid();
  const long before = pg::test::rss_kib(pid);
  ASSERT_GT(before, 0);
  const std::size_t kHuge = 48u << 20;  // 48 MiB, against max_body_bytes of 1 MiB
  std::string trailers;
  trailers.reserve(kHuge + 64);
  while (trailers.size() < kHuge) trailers += "X-Padding: " + std::string(1000, 'a') + "\r\n";
  std::string extension;
  extension.reserve(kHuge + 64);
  while (extension.size() < kHuge) extension += ";name=" + std::string(1000, 'v');
  const std::string head = "POST /echo_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";
  const std::string bodies[] = {head + "2\r\n{}\r\n0\r\n" + trailers + "\r\n", head + "2" + extension + "\r\n{}\r\n0\r\n\r\n"};
  for (const auto& request : bodies) {
    RawSocket s(port());
    ASSERT_TRUE(s.connected());
    s.send_until_answered(request);
    bool closed = false;
    auto got = s.read_until_close(10s, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(first_status(got), 413) << got.substr(0, 400);
    EXPECT_EQ(parse(body_of(got))["type"], "PayloadTooLarge") << got.substr(0, 400);
    EXPECT_NE(body_of(got).find("max_body_bytes"), std::string::npos) << got.substr(0, 400);
  }
  const long after = pg::test::rss_kib(pid);
  EXPECT_LT(after - before, 64 * 1024) << "VmRSS grew from " << before << " KiB to " << after << " KiB";
  EXPECT_EQ(stack_->client().get("/healthz").status, 200);
}

TEST_F(HttpHostile, HostIsRequiredOnceOnHttp11) {
  EXPECT_EQ(first_status(exchange("GET /healthz HTTP/1.1\r\n\r\n")), 400);
  auto two = exchange("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(first_status(two), 400) << two;
  EXPECT_NE(body_of(two).find("Host"), std::string::npos) << two;
  EXPECT_EQ(first_status(exchange("GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n")), 400);
  // HTTP/1.0 had no Host yet.
  EXPECT_EQ(first_status(exchange("GET /healthz HTTP/1.0\r\n\r\n")), 200);
}

TEST_F(HttpHostile, AbsoluteFormTargetsAreRoutedByPathAndQuery) {
  auto got = exchange("GET http://" + host() + "/echo?text=absolute HTTP/1.1\r\nHost: " + host() +
                      "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(first_status(got), 200) << got;
  EXPECT_EQ(parse(body_of(got))["result"], "absolute") << got;
  // The target's authority is the Host that counts.
  auto other = exchange("GET http://evil.example/echo?text=x HTTP/1.1\r\nHost: " + host() + "\r\n\r\n");
  EXPECT_EQ(first_status(other), 421) << other;
}

TEST_F(HttpHostile, HeadAnswersTheGetsHeadWithoutBodyAndRunsOnce) {
  const auto before = jobs_of("echo");
  RawSocket s(port());
  s.send("GET /echo?text=hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto get_head = s.read_head(10s);
  ASSERT_EQ(first_status(get_head), 200) << get_head;
  const auto length = head_field(get_head, "Content-Length");
  ASSERT_FALSE(length.empty()) << get_head;
  auto body = s.read_some(10s);
  while (body.size() < std::stoul(length)) {
    auto more = s.read_some(10s);
    if (more.empty()) break;
    body += more;
  }
  ASSERT_EQ(body.size(), std::stoul(length));
  s.send("HEAD /echo?text=hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto head = s.read_head(10s);
  EXPECT_EQ(first_status(head), 200) << head;
  EXPECT_EQ(head_field(head, "Content-Length"), length) << head;
  EXPECT_EQ(head_field(head, "Content-Type"), head_field(get_head, "Content-Type")) << head;
  // No body followed: the next answer on the connection starts right after the head.
  s.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  auto rest = s.read_until_close(10s);
  EXPECT_EQ(first_status(rest), 200) << rest;
  EXPECT_EQ(jobs_of("echo"), before + 2);  // one run for the GET, one for the HEAD
  // HEAD of a POST-only route is still refused as a GET would be.
  EXPECT_EQ(first_status(exchange("HEAD /gateway/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")), 405);
}

TEST_F(HttpHostile, ReadTimeoutCutsASlowSecondRequestOnAKeptAliveConnection) {
  RawSocket s(port());
  s.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(first_status(s.read_head(10s)), 200);
  (void)s.read_some(1s);  // the body ("ok\n")
  // Idle between requests is bounded by idle_timeout (60 s), not read_timeout (1 s).
  std::this_thread::sleep_for(1500ms);
  s.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(first_status(s.read_head(10s)), 200);
  (void)s.read_some(1s);
  // A slowloris: one byte every 200 ms of a request that never ends. read_timeout bounds the
  // whole request, so the gateway closes long before idle_timeout (bounded: about 50 s at most).
  const std::string dribble = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'a');
  bool closed = false;
  for (std::size_t i = 0; i < dribble.size() && !closed; ++i) {
    if (!s.send(dribble.substr(i, 1))) closed = true;
    else closed = s.closed_within(200ms);
  }
  EXPECT_TRUE(closed) << "still open after dribbling for about 50 s (read_timeout: 1s)";
}

TEST_F(HttpHostile, OtherHostsAre421OnBothListeners) {
  auto got = exchange("GET /healthz HTTP/1.1\r\nHost: evil.example:" + std::to_string(port()) + "\r\n\r\n");
  EXPECT_EQ(first_status(got), 421) << got;
  auto j = parse(body_of(got));
  EXPECT_EQ(j["status"], "error") << got;
  EXPECT_EQ(j["type"], "MisdirectedRequest") << got;
  EXPECT_NE(j["message"].get<std::string>().find("allowed_hosts"), std::string::npos) << got;
  // The defaults: the listen address, localhost, [::1], any port.
  for (const auto& h : {host(), "localhost:" + std::to_string(port()), std::string("[::1]:1"), std::string("LOCALHOST.")})
    EXPECT_EQ(first_status(exchange("GET /healthz HTTP/1.1\r\nHost: " + h + "\r\nConnection: close\r\n\r\n")), 200) << h;
  // The admin listener (/metrics) too.
  RawSocket admin(stack_->admin_port);
  admin.send("GET /metrics HTTP/1.1\r\nHost: rebound.example\r\n\r\n");
  EXPECT_EQ(first_status(admin.read_until_close(10s)), 421);
  RawSocket admin_ok(stack_->admin_port);
  admin_ok.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(first_status(admin_ok.read_until_close(10s)), 200);
}

TEST_F(HttpHostile, CrossSitePostsAreRefusedAndChangeNothing) {
  HttpClient c(port());
  auto handle = parse(c.get("/sleep_async?ms=60000").body);
  const std::string id = handle["result"]["ID"];
  ASSERT_FALSE(id.empty()) << handle.dump();
  const std::string form = "UUID=" + id;
  const auto refused = [](const pg::test::HttpResult& r) {
    return r.status == 403 && parse(r.body)["type"] == "CrossSiteRefused";
  };
  // A page elsewhere posts a form or text/plain (no preflight) to gateway/cancel: refused.
  auto r = c.post("/gateway/cancel", form, "application/x-www-form-urlencoded", {{"Origin", "http://evil.example"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  EXPECT_NE(r.body.find("evil.example"), std::string::npos) << r.body;
  r = c.post("/gateway/cancel", form, "text/plain", {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  r = c.post("/gateway/cancel", form, "application/x-www-form-urlencoded",
             {{"Origin", "http://lab.example:9999"}, {"Sec-Fetch-Site", "same-site"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  EXPECT_EQ(parse(c.get("/asyncProbe?UUID=" + id).body)["result"]["status"], "in_progress");
  // An RPC and gateway/daemons from a page elsewhere: refused before anything is launched.
  const auto rpc_jobs = jobs_of("echo_rpc");
  r = c.post("/echo_rpc", kEmptyRpcBody, "text/plain", {{"Origin", "null"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  r = c.post("/echo_rpc", kEmptyRpcBody, "application/json", {{"Origin", "http://evil.example"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  r = c.post("/gateway/daemons", R"({"server": "sim", "port": 9999, "inferlet": "std/echo@0.1.0"})", "text/plain",
             {{"Origin", "http://evil.example"}});
  EXPECT_TRUE(refused(r)) << r.status << " " << r.body;
  EXPECT_EQ(jobs_of("echo_rpc"), rpc_jobs);
  // Same-origin (the /ui page), clients without Origin (curl, TARP), and an allowed origin pass.
  const std::string body = kEmptyRpcBody;
  auto same = exchange("POST /echo_rpc HTTP/1.1\r\nHost: " + host() + "\r\nOrigin: http://" + host() +
                       "\r\nSec-Fetch-Site: same-origin\r\nContent-Type: application/json\r\nConnection: close\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(first_status(same), 200) << same;
  r = c.post("/echo_rpc", kEmptyRpcBody, "application/json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(jobs_of("echo_rpc"), rpc_jobs + 2);
  r = c.post("/gateway/cancel", form, "application/x-www-form-urlencoded",
             {{"Origin", "http://lab.example:3000"}, {"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(parse(r.body)["result"]["status"], "cancelled") << r.body;
  EXPECT_EQ(r.header("Access-Control-Allow-Origin"), "http://lab.example:3000");
}

}  // namespace
