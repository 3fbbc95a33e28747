// Access on the gRPC front door (issue 15) against the real daemon and pie-sim: the
// `authorization` metadata (Bearer or Basic), UNAUTHENTICATED (delayed for an address failing
// repeatedly), each client's jobs and conversations hidden from the others exactly like unknown
// ids (but not from an admin), ListJobs per client, `allow:` and the admin-only methods
// (PERMISSION_DENIED), and the rate and max_live_jobs quotas (RESOURCE_EXHAUSTED with
// grpc-retry-pushback-ms) while another client is served. The health service stays open.
#include <gtest/gtest.h>

#include <grpcpp/generic/generic_stub.h>

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <mutex>

#include "access/token.hpp"
#include "grpc_support.hpp"
#include "support/stack.hpp"
#include "value/base64.hpp"

using namespace std::chrono_literals;
using namespace pg::test::grpc_support;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: vip_echo, kind: get, allow: [vip], inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: chat, kind: session, inferlet: std/chat@0.1.0, timeout: 5s, session: {idle_timeout: 30s, max_open: 20}}
)";

// Test tokens (the clients file holds only their SHA-256s).
const std::string kAlice = "alice-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const std::string kBob = "bob-token-8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
const std::string kRoot = "root-token-1234567890abcdef1234567890abcdef";
const std::string kFlood = "flood-token-fedcba0987654321fedcba0987654321";
const std::string kCapped = "capped-token-00112233445566778899aabbccddeeff";
const std::string kChatty = "chatty-token-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const std::string kWrong = "wrong-token-ffffffffffffffffffffffffffffffff";

std::string entry(const std::string& name, const std::string& token, const std::string& extra) {
  return "  - {name: " + name + ", token_sha256: " + pg::access::to_hex(pg::access::sha256(token)) + extra + "}\n";
}

std::string bearer(const std::string& token) { return "Bearer " + token; }

/// A context carrying `authorization` (none when empty) and a deadline.
std::unique_ptr<grpc::ClientContext> as(const std::string& authorization, std::chrono::milliseconds d = 10s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  with_deadline(*ctx, d);
  return ctx;
}

/// The message of a NOT_FOUND answer with `id` replaced by ID (to compare answers for two ids).
std::string generic(std::string message, const std::string& id) {
  for (auto at = message.find(id); at != std::string::npos; at = message.find(id)) message.replace(at, id.size(), "ID");
  return message;
}

const std::string kUnknownId = "00000000-0000-4000-8000-000000000000";

class GrpcAccess : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clients_dir_ = new std::string(pg::test::temp_dir());
    pg::test::write_file(*clients_dir_ + "/clients.yaml",
                         "clients:\n" + entry("alice", kAlice, ", roles: [lab]") +
                             entry("bob", kBob, ", roles: [lab, vip]") + entry("root", kRoot, ", roles: [admin]") +
                             entry("flood", kFlood, ", rate: {per_second: 0.001, burst: 2}") +
                             entry("capped", kCapped, ", max_live_jobs: 1") +
                             entry("chatty", kChatty, ", rate: {per_second: 0.001, burst: 2}"));
    StackOptions o;
    o.endpoints_yaml = std::string(kEndpoints) + "access:\n  clients_file: " + *clients_dir_ +
                       "/clients.yaml\n  failures: {free: 2, max_delay: 300ms}\n";
    o.grpc = true;  // the stack waits on /readyz, which needs no credential
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete clients_dir_;
    clients_dir_ = nullptr;
  }
  std::unique_ptr<pb::Gateway::Stub> gw() { return stub(stack_->grpc_port); }

  /// A job of `token`'s client that runs for a minute (cancelled by the test).
  std::string long_job(const std::string& token) {
    auto ctx = as(bearer(token));
    pb::SubmitJobResponse resp;
    auto st = gw()->SubmitJob(ctx.get(), call("sleep_async", {integer(60000)}), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.job_id();
  }
  grpc::Status cancel(const std::string& token, const std::string& id, pb::Job* out = nullptr) {
    auto ctx = as(bearer(token));
    pb::CancelJobRequest req;
    req.set_id(id);
    pb::Job job;
    return gw()->CancelJob(ctx.get(), req, out ? out : &job);
  }
  grpc::Status get(const std::string& token, const std::string& id, pb::Job* out = nullptr) {
    auto ctx = as(bearer(token));
    pb::GetJobRequest req;
    req.set_id(id);
    pb::Job job;
    return gw()->GetJob(ctx.get(), req, out ? out : &job);
  }
  std::vector<std::string> listed(const std::string& token, const std::string& endpoint) {
    auto ctx = as(bearer(token));
    pb::ListJobsRequest req;
    req.set_endpoint(endpoint);
    pb::ListJobsResponse resp;
    EXPECT_TRUE(gw()->ListJobs(ctx.get(), req, &resp).ok());
    std::vector<std::string> ids;
    for (const auto& j : resp.jobs()) ids.push_back(j.id());
    return ids;
  }

  static Stack* stack_;
  static std::string* clients_dir_;
};
Stack* GrpcAccess::stack_ = nullptr;
std::string* GrpcAccess::clients_dir_ = nullptr;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_F(GrpcAccess, MissingOrWrongCredentialsAreUnauthenticated) {
  {
    auto ctx = as("");
    pb::ListEndpointsResponse resp;
    auto st = gw()->ListEndpoints(ctx.get(), {}, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(st.error_message().find("needs a credential"), std::string::npos) << st.error_message();
    EXPECT_EQ(trailer(*ctx, "pie-error-type"), "Unauthorized");
  }
  {
    // Nothing runs for an unauthenticated Call.
    auto ctx = as(bearer(kWrong));
    pb::CallResponse resp;
    auto st = gw()->Call(ctx.get(), call("echo", {}, {{"text", str("x")}}), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(st.error_message().find("not valid"), std::string::npos) << st.error_message();
    EXPECT_TRUE(resp.job_id().empty());
  }
  {
    auto ctx = as("Bearer");  // no token after the scheme
    pb::ListJobsResponse resp;
    EXPECT_EQ(gw()->ListJobs(ctx.get(), {}, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    // Streams too: the first read ends with the status.
    auto ctx = as("");
    pb::WatchJobRequest req;
    req.set_id(kUnknownId);
    auto reader = gw()->WatchJob(ctx.get(), req);
    pb::JobEvent e;
    EXPECT_FALSE(reader->Read(&e));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    auto ctx = as(bearer(kWrong));
    auto s = gw()->Converse(ctx.get());
    pb::ConverseRequest open;
    open.mutable_open()->set_endpoint("chat");
    s->Write(open);
    pb::ConverseResponse r;
    EXPECT_FALSE(s->Read(&r));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(GrpcAccess, AnAddressFailingRepeatedlyIsAnsweredLaterButStillAnswered) {
  // failures.free is 2: from the third failure on the answer waits (an asio timer, up to 300 ms).
  for (int i = 0; i < 5; ++i) {
    auto ctx = as(bearer(kWrong + std::to_string(i)));
    pb::ListEndpointsResponse resp;
    EXPECT_EQ(gw()->ListEndpoints(ctx.get(), {}, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = stack_->gateway_log().find("answers to it are now delayed") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(logged) << stack_->gateway_log();
  // A valid token from the same address is served at once.
  auto ctx = as(bearer(kAlice));
  pb::ListEndpointsResponse resp;
  EXPECT_TRUE(gw()->ListEndpoints(ctx.get(), {}, &resp).ok());
}

TEST_F(GrpcAccess, BearerAndBasicMetadataAreAcceptedAndDiscoveryListsWhatTheCallerMayCall) {
  auto names = [&](const std::string& authorization) {
    auto ctx = as(authorization);
    pb::ListEndpointsResponse resp;
    auto st = gw()->ListEndpoints(ctx.get(), {}, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    std::vector<std::string> out;
    for (const auto& e : resp.endpoints()) out.push_back(e.name());
    return out;
  };
  EXPECT_EQ(names(bearer(kAlice)), (std::vector<std::string>{"echo", "sleep_async", "chat"}));
  EXPECT_EQ(names("Basic " + pg::base64_encode("anyone:" + kAlice)), (std::vector<std::string>{"echo", "sleep_async", "chat"}));
  EXPECT_EQ(names(bearer(kBob)), (std::vector<std::string>{"echo", "vip_echo", "sleep_async", "chat"}));
  EXPECT_EQ(names(bearer(kRoot)).size(), 4u);

  auto ctx = as("Basic " + pg::base64_encode("alice:" + kAlice));
  pb::CallResponse resp;
  auto st = gw()->Call(ctx.get(), call("echo", {}, {{"text", str("basic works")}}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.result().string_value(), "basic works");
}

TEST_F(GrpcAccess, AnotherClientsJobAnswersExactlyLikeAnUnknownOneButAdminSeesAndCancelsIt) {
  const auto id = long_job(kAlice);
  ASSERT_EQ(id.size(), 36u);
  pb::Job mine;
  ASSERT_TRUE(get(kAlice, id, &mine).ok());
  EXPECT_EQ(mine.client(), "alice");

  // bob: GetJob, WaitJob, WatchJob and CancelJob as for an id nobody knows.
  const auto unknown = get(kBob, kUnknownId);
  ASSERT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  const auto theirs = get(kBob, id);
  EXPECT_EQ(theirs.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(generic(theirs.error_message(), id), generic(unknown.error_message(), kUnknownId));
  {
    auto ctx = as(bearer(kBob));
    pb::WaitJobRequest req;
    req.set_id(id);
    pb::Job job;
    auto st = gw()->WaitJob(ctx.get(), req, &job);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(generic(st.error_message(), id), generic(unknown.error_message(), kUnknownId));
  }
  {
    auto ctx = as(bearer(kBob));
    pb::WatchJobRequest req;
    req.set_id(id);
    auto reader = gw()->WatchJob(ctx.get(), req);
    pb::JobEvent e;
    EXPECT_FALSE(reader->Read(&e));
    auto st = reader->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(generic(st.error_message(), id), generic(unknown.error_message(), kUnknownId));
  }
  const auto cancelled_by_bob = cancel(kBob, id);
  EXPECT_EQ(cancelled_by_bob.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(generic(cancelled_by_bob.error_message(), id), generic(unknown.error_message(), kUnknownId));
  ASSERT_TRUE(get(kAlice, id, &mine).ok());
  EXPECT_NE(mine.state(), pb::JOB_STATE_CANCELLED);  // bob's cancel did nothing

  // alice can watch her own job; the admin sees it (with its client) and cancels it.
  {
    auto ctx = as(bearer(kAlice));
    pb::WatchJobRequest req;
    req.set_id(id);
    auto reader = gw()->WatchJob(ctx.get(), req);
    pb::JobEvent e;
    EXPECT_TRUE(reader->Read(&e));
    ctx->TryCancel();
    while (reader->Read(&e)) {
    }
    reader->Finish();
  }
  pb::Job seen;
  ASSERT_TRUE(get(kRoot, id, &seen).ok());
  EXPECT_EQ(seen.client(), "alice");
  pb::Job cancelled;
  auto st = cancel(kRoot, id, &cancelled);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(cancelled.state(), pb::JOB_STATE_CANCELLED);
}

TEST_F(GrpcAccess, ListJobsShowsOnlyTheCallersOwnJobsExceptToAnAdmin) {
  const auto a = long_job(kAlice), b = long_job(kBob);
  const auto alice = listed(kAlice, "sleep_async"), bob = listed(kBob, "sleep_async"),
             root = listed(kRoot, "sleep_async");
  EXPECT_TRUE(contains(alice, a));
  EXPECT_FALSE(contains(alice, b));
  EXPECT_TRUE(contains(bob, b));
  EXPECT_FALSE(contains(bob, a));
  EXPECT_TRUE(contains(root, a));
  EXPECT_TRUE(contains(root, b));
  {
    auto ctx = as(bearer(kAlice));
    pb::ListJobsRequest req;
    req.set_endpoint("sleep_async");
    pb::ListJobsResponse resp;
    ASSERT_TRUE(gw()->ListJobs(ctx.get(), req, &resp).ok());
    for (const auto& j : resp.jobs()) EXPECT_EQ(j.client(), "alice");
  }
  EXPECT_TRUE(cancel(kAlice, a).ok());
  EXPECT_TRUE(cancel(kBob, b).ok());
}

TEST_F(GrpcAccess, AllowAndAdminOnlyMethodsArePermissionDenied) {
  {
    auto ctx = as(bearer(kAlice));
    pb::CallResponse resp;
    auto st = gw()->Call(ctx.get(), call("vip_echo", {}, {{"text", str("x")}}), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(st.error_message().find("vip_echo"), std::string::npos) << st.error_message();
    EXPECT_EQ(trailer(*ctx, "pie-error-type"), "Forbidden");
  }
  {
    auto ctx = as(bearer(kAlice));
    pb::SubmitJobResponse resp;
    EXPECT_EQ(gw()->SubmitJob(ctx.get(), call("vip_echo", {}, {{"text", str("x")}}), &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto ctx = as(bearer(kBob));  // role vip
    pb::CallResponse resp;
    auto st = gw()->Call(ctx.get(), call("vip_echo", {}, {{"text", str("vip")}}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), "vip");
  }
  {
    auto ctx = as(bearer(kAlice));
    pb::LaunchDaemonRequest req;
    req.set_server("sim");
    req.set_port(9000);
    req.set_inferlet("std/echo@0.1.0");
    pb::Daemon resp;
    auto st = gw()->LaunchDaemon(ctx.get(), req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(st.error_message().find("admin"), std::string::npos) << st.error_message();
  }
  {
    auto ctx = as(bearer(kAlice));
    pb::ListDaemonsResponse resp;
    EXPECT_EQ(gw()->ListDaemons(ctx.get(), {}, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    auto ctx = as(bearer(kRoot));
    pb::ListDaemonsResponse resp;
    EXPECT_TRUE(gw()->ListDaemons(ctx.get(), {}, &resp).ok());
  }
  // ListServers: names and states for everyone, the details for admins only.
  auto servers = [&](const std::string& token) {
    auto ctx = as(bearer(token));
    pb::ListServersResponse resp;
    EXPECT_TRUE(gw()->ListServers(ctx.get(), {}, &resp).ok());
    return resp;
  };
  const auto plain = servers(kAlice), full = servers(kRoot);
  ASSERT_EQ(plain.servers_size(), 1);
  ASSERT_EQ(full.servers_size(), 1);
  EXPECT_EQ(plain.servers(0).name(), "sim");
  EXPECT_EQ(plain.servers(0).state(), "healthy");
  EXPECT_TRUE(plain.servers(0).uri().empty());
  EXPECT_EQ(plain.servers(0).sessions(), 0u);
  EXPECT_NE(full.servers(0).uri().find("ws://127.0.0.1:"), std::string::npos);
  EXPECT_EQ(full.servers(0).sessions(), 2u);
}

TEST_F(GrpcAccess, AClientOverItsRateIsResourceExhaustedWithPushbackWhileAnotherIsServed) {
  // flood: a burst of 2, then one call per 1000 s.
  grpc::Status refused;
  std::string pushback, retry_after, type;
  bool retry_info = false;
  int served = 0;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    auto ctx = as(bearer(kFlood));
    pb::CallResponse resp;
    auto st = gw()->Call(ctx.get(), call("echo", {}, {{"text", str("flood")}}), &resp);
    if (st.ok()) {
      ++served;
      continue;
    }
    refused = st;
    pushback = trailer(*ctx, "grpc-retry-pushback-ms");
    retry_after = trailer(*ctx, "retry-after-ms");
    type = trailer(*ctx, "pie-error-type");
    error_info(st, &retry_info);
  }
  EXPECT_EQ(served, 2);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("over the rate"), std::string::npos) << refused.error_message();
  EXPECT_EQ(type, "TooManyRequests");
  ASSERT_FALSE(pushback.empty());
  EXPECT_GT(std::stoll(pushback), 0);
  EXPECT_EQ(pushback, retry_after);
  EXPECT_TRUE(retry_info);
  // The same for SubmitJob; job probes are not charged.
  {
    auto ctx = as(bearer(kFlood));
    pb::SubmitJobResponse resp;
    EXPECT_EQ(gw()->SubmitJob(ctx.get(), call("sleep_async", {integer(1)}), &resp).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(get(kFlood, kUnknownId).error_code(), grpc::StatusCode::NOT_FOUND);
  // Another client is served meanwhile.
  auto ctx = as(bearer(kAlice));
  pb::CallResponse resp;
  auto st = gw()->Call(ctx.get(), call("echo", {}, {{"text", str("still served")}}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.result().string_value(), "still served");
}

TEST_F(GrpcAccess, AClientAtItsMaxLiveJobsIsResourceExhaustedUntilOneEnds) {
  const auto first = long_job(kCapped);
  ASSERT_FALSE(first.empty());
  {
    auto ctx = as(bearer(kCapped));
    pb::SubmitJobResponse resp;
    auto st = gw()->SubmitJob(ctx.get(), call("sleep_async", {integer(60000)}), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(st.error_message().find("max_live_jobs"), std::string::npos) << st.error_message();
    EXPECT_EQ(trailer(*ctx, "grpc-retry-pushback-ms"), "1000");
    EXPECT_EQ(trailer(*ctx, "pie-error-type"), "TooManyRequests");
  }
  {
    auto ctx = as(bearer(kAlice));  // another client is not held back
    pb::SubmitJobResponse resp;
    EXPECT_TRUE(gw()->SubmitJob(ctx.get(), call("sleep_async", {integer(1)}), &resp).ok());
  }
  ASSERT_TRUE(cancel(kCapped, first).ok());
  auto ctx = as(bearer(kCapped));
  pb::CallResponse resp;
  auto st = gw()->Call(ctx.get(), call("echo", {}, {{"text", str("room again")}}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
}

TEST_F(GrpcAccess, ConversationsAreTheirOwnersOnly) {
  auto ctx = as(bearer(kAlice));
  auto s = gw()->Converse(ctx.get());
  pb::ConverseRequest open;
  open.mutable_open()->set_endpoint("chat");
  open.mutable_open()->set_keep_open(true);
  ASSERT_TRUE(s->Write(open));
  pb::ConverseResponse opened;
  ASSERT_TRUE(s->Read(&opened));
  ASSERT_TRUE(opened.has_opened());
  const auto id = opened.opened().session_id();
  EXPECT_EQ(opened.opened().job().client(), "alice");

  auto attach = [&](const std::string& token, const std::string& session) {
    auto c = as(bearer(token));
    auto a = gw()->Converse(c.get());
    pb::ConverseRequest r;
    r.mutable_attach()->set_session_id(session);
    pb::ConverseRequest say;
    say.mutable_say()->set_text("hello");
    a->Write(r);
    a->Write(say);
    std::vector<pb::ConverseResponse> got;
    pb::ConverseResponse resp;
    while (got.size() < 2 && a->Read(&resp)) got.push_back(resp);
    if (got.size() == 2) c->TryCancel();
    while (a->Read(&resp)) {
    }
    return std::make_pair(a->Finish(), got);
  };
  const auto unknown = attach(kBob, kUnknownId);
  ASSERT_EQ(unknown.first.error_code(), grpc::StatusCode::NOT_FOUND);
  const auto theirs = attach(kBob, id);
  EXPECT_EQ(theirs.first.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(theirs.second.empty());
  EXPECT_EQ(generic(theirs.first.error_message(), id), generic(unknown.first.error_message(), kUnknownId));
  const auto own = attach(kAlice, id);
  ASSERT_EQ(own.second.size(), 2u) << own.first.error_message();
  EXPECT_TRUE(own.second[0].has_opened());
  EXPECT_EQ(own.second[1].reply().text(), "echo: hello");
  const auto admin = attach(kRoot, id);
  EXPECT_EQ(admin.second.size(), 2u) << admin.first.error_message();

  pb::ConverseRequest close;
  close.mutable_close();
  ASSERT_TRUE(s->Write(close));
  pb::ConverseResponse closed;
  ASSERT_TRUE(s->Read(&closed));
  EXPECT_TRUE(closed.has_closed());
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(GrpcAccess, ASayOverTheRateIsAnErrorResponseAndTheConversationGoesOn) {
  // chatty: a burst of 2 (the open and one say), then one call per 1000 s.
  auto ctx = as(bearer(kChatty));
  auto s = gw()->Converse(ctx.get());
  pb::ConverseRequest open, say, close;
  open.mutable_open()->set_endpoint("chat");
  say.mutable_say()->set_text("hi");
  close.mutable_close();
  pb::ConverseResponse r;
  ASSERT_TRUE(s->Write(open));
  ASSERT_TRUE(s->Read(&r));
  ASSERT_TRUE(r.has_opened());
  ASSERT_TRUE(s->Write(say));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_EQ(r.reply().text(), "echo: hi");
  ASSERT_TRUE(s->Write(say));
  ASSERT_TRUE(s->Read(&r));
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().type(), "TooManyRequests");
  EXPECT_GT(r.error().retry_after().seconds(), 0);
  // The conversation is still open: close answers.
  ASSERT_TRUE(s->Write(close));
  ASSERT_TRUE(s->Read(&r));
  EXPECT_TRUE(r.has_closed());
  EXPECT_TRUE(s->Finish().ok());
  // A new conversation is refused at its open.
  auto ctx2 = as(bearer(kChatty));
  auto s2 = gw()->Converse(ctx2.get());
  ASSERT_TRUE(s2->Write(open));
  EXPECT_FALSE(s2->Read(&r));
  EXPECT_EQ(s2->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(trailer(*ctx2, "grpc-retry-pushback-ms").empty(), false);
}

// Needs the HTTP front door's access (helper access-http: HTTP jobs get their caller as owner).
TEST_F(GrpcAccess, AJobMadeOverHttpIsItsClientsOverGrpcToo) {
  auto http = stack_->client();
  auto answer = http.get("/sleep_async?ms=60000", {{"Authorization", bearer(kAlice)}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  const auto id = nlohmann::json::parse(answer.body)["result"]["ID"].get<std::string>();
  pb::Job job;
  auto st = get(kAlice, id, &job);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(job.client(), "alice");
  EXPECT_EQ(get(kBob, id).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(contains(listed(kBob, "sleep_async"), id));
  EXPECT_TRUE(cancel(kAlice, id).ok());
}

TEST_F(GrpcAccess, TheHealthServiceNeedsNoCredential) {
  // grpc.health.v1.Health/Check{service: ""} in raw bytes: SERVING is {status: 1} = 08 01.
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->grpc_port), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic_stub(channel);
  std::string reply;
  for (int i = 0; i < 100 && reply != std::string("\x08\x01", 2); ++i) {
    grpc::ClientContext ctx;
    with_deadline(ctx, 5s);
    grpc::Slice empty{std::string()};
    grpc::ByteBuffer request(&empty, 1), response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic_stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                           [&](grpc::Status s) {
                             std::lock_guard lock(mu);
                             status = std::move(s);
                             done = true;
                             cv.notify_one();
                           });
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done; }));
    ASSERT_TRUE(status.ok()) << status.error_message();
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(response.Dump(&slices).ok());
    reply.clear();
    for (const auto& sl : slices) reply.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    if (reply != std::string("\x08\x01", 2)) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(reply, std::string("\x08\x01", 2));
}

TEST_F(GrpcAccess, AccessLinesNameTheClientAndNoTokenIsLogged) {
  auto ctx = as(bearer(kAlice));
  ctx->AddMetadata("x-request-id", "grpc-access-client-line");
  pb::CallResponse resp;
  ASSERT_TRUE(gw()->Call(ctx.get(), call("echo", {}, {{"text", str("logged")}}), &resp).ok());
  bool logged = false;
  std::string log;
  for (int i = 0; i < 100 && !logged; ++i) {
    log = stack_->gateway_log();
    const auto at = log.find("id=grpc-access-client-line door=grpc method=Call");
    logged = at != std::string::npos && log.find("client=alice", at) < log.find('\n', at);
    if (!logged) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(logged) << log;
  // Runs last in this suite: every token sent by the tests above, right or wrong.
  for (const auto& t : {kAlice, kBob, kRoot, kFlood, kCapped, kChatty, kWrong})
    EXPECT_EQ(log.find(t), std::string::npos) << "a token appears in the log";
  EXPECT_EQ(log.find(pg::base64_encode("anyone:" + kAlice)), std::string::npos);
}
