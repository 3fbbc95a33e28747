// `access:` on the HTTP front door, through the real daemon: 401s (header, envelope, the slow-down
// of an address that keeps failing), Bearer and Basic, the unchanged Python TARP client with its
// token in the URL or a netrc file, per-client rates and max_live_jobs (429 + Retry-After) while
// other clients are still served, and the access log's client. After every test no token (nor a
// wrong one sent on purpose) is in the daemon's logs (access_support.hpp).
#include <chrono>

#include "integration/access_support.hpp"
#include "support/prom_text.hpp"
#include "support/script_checks.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::AccessTest;
using pg::test::HttpResult;
using pg::test::PromText;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"]}
  - {name: sleep, kind: get, async: true, suggested_wait: 100ms, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"], timeout: 5m}
  - {name: sleep_async, kind: asyncrpc, inferlet: std/sleep@0.1.0, suggested_wait: 100ms,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
)";

void expect_401(const HttpResult& r, const std::string& why_has) {
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.header("WWW-Authenticate").rfind("Bearer", 0), 0u) << r.header("WWW-Authenticate");
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("status", ""), "error");
  EXPECT_EQ(j.value("type", ""), "Unauthorized");
  EXPECT_NE(j.value("message", "").find(why_has), std::string::npos) << j.dump();
}

double metric(const std::string& text, const std::string& name, const pg::test::PromLabels& labels) {
  return PromText(text).find(name, labels).value_or(0);
}

}  // namespace

TEST_F(AccessTest, MissingWrongAndMalformedCredentialsAre401WithTheChallenge) {
  auto alice = mint("alice");
  start(kEndpoints, entry(alice));
  const std::string wrong = secret("pgt_not-a-token-of-this-gateway-0123456789abcdef");
  expect_401(get("/echo?text=hi", ""), "needs a credential");
  expect_401(get("/", ""), "needs a credential");
  expect_401(get("/gateway/jobs", ""), "needs a credential");
  expect_401(get("/echo?text=hi", "Bearer " + wrong), "not valid");
  expect_401(get("/echo?text=hi", "Basic " + pg::test::base64("alice:" + wrong)), "not valid");
  expect_401(get("/echo?text=hi", "Bearer"), "malformed");
  expect_401(get("/echo?text=hi", "Basic !!!not-base64"), "malformed");
  expect_401(get("/echo?text=hi", "Digest username=alice"), "malformed");
  // No credential needed: the probes and the page that asks for the token.
  EXPECT_EQ(get("/healthz", "").status, 200);
  EXPECT_EQ(get("/readyz", "").status, 200);
  EXPECT_EQ(get("/ui", "").status, 200);
  EXPECT_EQ(get("/ui/ui.js", "").status, 200);
  EXPECT_EQ(get("/", "", {{"Accept", "text/html"}}).status, 303);
  // The 401s are on the access log, with the peer address and no client.
  const auto log = stack_->gateway_log();
  EXPECT_NE(log.find("target=/echo endpoint=echo status=401"), std::string::npos) << log;
  EXPECT_NE(log.find("remote=127.0.0.1"), std::string::npos);
}

TEST_F(AccessTest, BearerAndBasicWithAnyUserAreAcceptedAndNamedOnTheAccessLog) {
  auto alice = mint("alice");
  start(kEndpoints, entry(alice));
  auto r = get("/echo?text=bearer", alice.bearer());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("bearer"), std::string::npos);
  for (const std::string user : {"alice", "anyone", ""}) {
    r = get("/echo?text=basic", "Basic " + pg::test::base64(user + ":" + alice.token));
    EXPECT_EQ(r.status, 200) << user << ": " << r.body;
  }
  r = get("/echo?text=scheme", "bearer " + alice.token);  // schemes are case-insensitive
  EXPECT_EQ(r.status, 200) << r.body;
  const auto log = stack_->gateway_log();
  EXPECT_NE(log.find("endpoint=echo"), std::string::npos);
  EXPECT_NE(log.find("client=alice"), std::string::npos) << log;
}

TEST_F(AccessTest, UnchangedPythonClientPassesItsTokenInTheUrlOrNetrc) {
  auto alice = mint("alice");
  auto& stack = start(kEndpoints, entry(alice));
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/tarp_access.py",
                                      "http://127.0.0.1:" + std::to_string(stack.http_port), alice.token, stack.dir},
                                     stack.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_EQ(report.ok, 5) << "every check in tarp_access.py reports OK";
}

TEST_F(AccessTest, RepeatedWrongTokensFromOneAddressAreSlowedCountedAndLoggedWithoutTheToken) {
  auto alice = mint("alice");
  auto admin = mint("root");
  start(kEndpoints, entry(alice) + entry(admin, "roles: [admin]"), "  failures: {free: 2, max_delay: 300ms}\n");
  std::chrono::milliseconds last_took{0};
  for (int i = 0; i < 6; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = get("/echo?text=x", "Bearer " + secret("pgt_wrong-token-number-" + std::to_string(i) + "-abcdefghijkl"));
    last_took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    EXPECT_EQ(r.status, 401);
  }
  // The 6th failure (4 past the free 2) waits min(100 ms << 3, 300 ms): a lower bound, never flaky.
  EXPECT_GE(last_took.count(), 300);
  // A right token from that address is answered at once, as ever.
  EXPECT_EQ(get("/echo?text=ok", alice.bearer()).status, 200);
  auto scraped = get("/metrics", admin.bearer());
  ASSERT_EQ(scraped.status, 200);
  EXPECT_EQ(metric(scraped.body, "pie_gateway_auth_failures_total", {{"reason", "invalid"}}), 6);
  const auto log = stack_->gateway_log();
  EXPECT_NE(log.find("refused a invalid credential from 127.0.0.1"), std::string::npos) << log;
  EXPECT_NE(log.find("answers to it are now delayed by 100 ms"), std::string::npos) << log;
  EXPECT_NE(log.find("answers to it are now delayed by 200 ms"), std::string::npos) << log;
}

TEST_F(AccessTest, AFloodingClientGets429WithRetryAfterWhileAnotherIsServed) {
  auto flood = mint("flood");
  auto alice = mint("alice");
  auto admin = mint("root");
  start(kEndpoints, entry(flood, "rate: {per_second: 0.2, burst: 3}") + entry(alice, "rate: {per_second: 0.2, burst: 3}") +
                        entry(admin, "roles: [admin]"));
  HttpResult refused;
  int served = 0;
  for (int i = 0; i < 20 && refused.status == 0; ++i) {
    auto r = get("/echo?text=flood", flood.bearer());
    if (r.status == 429) refused = r;
    else if (r.status == 200) ++served;
    else ADD_FAILURE() << r.status << " " << r.body;
  }
  ASSERT_EQ(refused.status, 429) << "20 calls at a burst of 3 and 0.2/s";
  EXPECT_GE(served, 3);
  auto j = body(refused);
  EXPECT_EQ(j.value("type", ""), "TooManyRequests") << refused.body;
  EXPECT_NE(j.value("message", "").find("client 'flood'"), std::string::npos) << refused.body;
  const std::string retry = refused.header("Retry-After");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1) << retry;
  EXPECT_LE(std::stoi(retry), 5) << retry;  // one call at 0.2/s, rounded up
  // Another client's own bucket is untouched.
  auto r = get("/echo?text=still", alice.bearer());
  EXPECT_EQ(r.status, 200) << r.body;
  // Job probes and lists are not calls of the rate.
  EXPECT_EQ(get("/gateway/jobs", flood.bearer()).status, 200);
  auto scraped = get("/metrics", admin.bearer());
  EXPECT_GE(metric(scraped.body, "pie_gateway_client_refusals_total", {{"client", "flood"}, {"reason", "rate"}}), 1);
  EXPECT_EQ(metric(scraped.body, "pie_gateway_client_calls_total", {{"client", "alice"}}), 1);
  EXPECT_EQ(metric(scraped.body, "pie_gateway_client_calls_total", {{"client", "flood"}}), served);
}

TEST_F(AccessTest, MaxLiveJobsIs429WithRetryAfterAndLeavesOthersTheirShare) {
  auto capped = mint("capped");
  auto alice = mint("alice");
  auto admin = mint("root");
  start(kEndpoints, entry(capped, "max_live_jobs: 2") + entry(alice) + entry(admin, "roles: [admin]"));
  std::vector<std::string> jobs;
  for (int i = 0; i < 2; ++i) jobs.push_back(submit("/sleep?ms=60000", capped));
  auto r = get("/sleep?ms=60000", capped.bearer());
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "1");
  EXPECT_EQ(body(r).value("type", ""), "TooManyRequests");
  EXPECT_NE(body(r).value("message", "").find("capped"), std::string::npos) << r.body;
  r = get("/echo?text=sync", capped.bearer());  // a sync call is a job too
  EXPECT_EQ(r.status, 429) << r.body;
  jobs.push_back(submit("/sleep?ms=60000", alice));  // alice is under her own quota
  EXPECT_FALSE(jobs.back().empty());
  auto scraped = get("/metrics", admin.bearer());
  EXPECT_EQ(metric(scraped.body, "pie_gateway_client_refusals_total", {{"client", "capped"}, {"reason", "live_jobs"}}), 2);
  // Once one ends, the client may start another.
  EXPECT_EQ(post_json("/gateway/cancel", {{"UUID", jobs[0]}}, capped.bearer()).status, 200);
  EXPECT_FALSE(submit("/sleep?ms=10", capped).empty());
  for (std::size_t i = 1; i < jobs.size(); ++i) post_json("/gateway/cancel", {{"UUID", jobs[i]}}, admin.bearer());
}
