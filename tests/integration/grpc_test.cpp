// The gRPC API (pie.gateway.v1.Gateway) of the real daemon in front of a real pie-sim, through
// the generated C++ client: every RPC, streaming order, cancellation, deadlines, status codes,
// and jobs shared with the HTTP front door in both directions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grpc_support.hpp"
#include "support/prom_text.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using namespace pg::test::grpc_support;
using nlohmann::json;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, description: Echo., inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}", "{**kwargs}"]}
  - {name: typed, kind: get, inferlet: std/echo@0.1.0, arguments: ["{n}", "{f}", "{b}"],
     params: [{name: n, type: int}, {name: f, type: float, default: "0.5"}, {name: b, type: bool, default: "false"}]}
  - {name: json_echo, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"], result: json}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: sleep_keep, kind: get, cancel_on_disconnect: false, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: sleep_async, kind: get, async: true, suggested_wait: 100ms, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: fail, kind: get, inferlet: std/fail@0.1.0}
  - {name: missing_program, kind: get, inferlet: std/no-such-inferlet@9.9.9}
)";

class Grpc : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = kEndpoints;
    o.grpc = true;
    o.sim_args = {"--token-delay-ms", "20"};
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  std::unique_ptr<pb::Gateway::Stub> gw() { return stub(stack_->grpc_port); }
  static Stack* stack_;
};
Stack* Grpc::stack_ = nullptr;

}  // namespace

TEST_F(Grpc, ListEndpointsShowsNamesAndTypes) {
  grpc::ClientContext ctx;
  pb::ListEndpointsResponse resp;
  ASSERT_TRUE(gw()->ListEndpoints(&ctx, {}, &resp).ok());
  ASSERT_EQ(resp.endpoints_size(), 10);
  EXPECT_EQ(resp.endpoints(0).name(), "echo");
  EXPECT_EQ(resp.endpoints(0).description(), "Echo.");
  EXPECT_EQ(resp.endpoints(0).params(0).type(), pb::PARAM_TYPE_STRING);
  EXPECT_TRUE(resp.endpoints(0).params(0).required());
  EXPECT_TRUE(resp.endpoints(1).takes_extra_args());
  const auto& typed = resp.endpoints(2);
  EXPECT_EQ(typed.params(0).type(), pb::PARAM_TYPE_INT);
  EXPECT_EQ(typed.params(1).type(), pb::PARAM_TYPE_FLOAT);
  EXPECT_EQ(typed.params(1).default_value(), "0.5");
  EXPECT_EQ(typed.params(2).type(), pb::PARAM_TYPE_BOOL);
  EXPECT_FALSE(resp.endpoints(6).cancel_on_disconnect());
}

TEST_F(Grpc, CallReturnsTheResultWithServerInstanceAndRequestId) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-request-id", "grpc-test-42");
  pb::CallResponse resp;
  auto st = gw()->Call(&ctx, call("echo", {}, {{"text", str("hello grpc")}}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.result().string_value(), "hello grpc");
  EXPECT_EQ(resp.server(), "sim");
  EXPECT_EQ(resp.instance_id().size(), 36u);
  EXPECT_EQ(resp.job_id().size(), 36u);
  EXPECT_EQ(initial(ctx, "x-request-id"), "grpc-test-42");
  // One access line per RPC, with the caller's request id.
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    auto log = stack_->gateway_log();
    logged = log.find("id=grpc-test-42 door=grpc method=Call endpoint=echo") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(logged) << stack_->gateway_log();
}

TEST_F(Grpc, TypedPositionalAndNamedArgumentsBindLikePython) {
  auto s = gw();
  {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    pb::Value flag;
    flag.set_bool_value(true);
    auto st = s->Call(&ctx, call("typed", {integer(7)}, {{"b", flag}}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), "7 0.5 true");
  }
  {
    // Lists and maps become compact JSON (map keys sorted); extra keywords spread as --name value.
    pb::Value list;
    *list.mutable_list_value()->add_values() = integer(1);
    *list.mutable_list_value()->add_values() = str("x");
    pb::Value map;
    (*map.mutable_map_value()->mutable_fields())["z"] = integer(1);
    (*map.mutable_map_value()->mutable_fields())["a"] = str("b");
    pb::Value d;
    d.set_double_value(0.25);
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, call("echo_rpc", {list, map, d}, {{"k", str("v")}}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), R"([1,"x"] {"a":"b","z":1} 0.25 --k v)");
  }
  {
    // result: json comes back as typed values.
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, call("json_echo", {str(R"({"n": [1, 2.5, null, true]})")}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    const auto& n = resp.result().map_value().fields().at("n").list_value();
    ASSERT_EQ(n.values_size(), 4);
    EXPECT_EQ(n.values(0).int_value(), 1);
    EXPECT_EQ(n.values(1).double_value(), 2.5);
    EXPECT_EQ(n.values(2).kind_case(), pb::Value::kNullValue);
    EXPECT_TRUE(n.values(3).bool_value());
  }
}

TEST_F(Grpc, BadCallsGetPreciseStatusCodes) {
  auto s = gw();
  auto code_of = [&](const pb::CallRequest& r, std::string* message = nullptr) {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, r, &resp);
    if (message) *message = st.error_message();
    return st.error_code();
  };
  std::string msg;
  EXPECT_EQ(code_of(call("nope"), &msg), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(msg.find("no endpoint named 'nope'"), std::string::npos) << msg;
  EXPECT_EQ(code_of(call("echo"), &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(msg.find("missing required parameter 'text'"), std::string::npos) << msg;
  EXPECT_EQ(code_of(call("typed", {str("seven")}), &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(msg.find("must be a whole number"), std::string::npos) << msg;
  EXPECT_EQ(code_of(call("echo", {str("a"), str("b")})), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of(call("echo", {}, {{"text", str("a")}, {"other", str("b")}})), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code_of(call("echo", {pb::Value()}), &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(msg.find("args[0] has no value set"), std::string::npos) << msg;
  EXPECT_EQ(code_of(call("missing_program")), grpc::StatusCode::INTERNAL);
}

TEST_F(Grpc, InferletFailureIsAbortedWithThePieEventInDetails) {
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  auto st = gw()->Call(&ctx, call("fail"), &resp);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(st.error_message().find("simulated failure"), std::string::npos) << st.error_message();
  EXPECT_EQ(trailer(ctx, "pie-error-type"), "Exception");
  EXPECT_EQ(trailer(ctx, "pie-server"), "sim");
  EXPECT_EQ(trailer(ctx, "pie-instance").size(), 36u);
  auto info = error_info(st);
  EXPECT_EQ(info.type(), "Exception");
  EXPECT_EQ(info.job_id(), trailer(ctx, "pie-job-id"));
  EXPECT_FALSE(info.stderr_tail().empty());
}

TEST_F(Grpc, CallStreamSendsTokensInOrderBeforeTheResult) {
  grpc::ClientContext ctx;
  auto reader = gw()->CallStream(&ctx, call("complete", {str("Once upon a time")}, {{"max_tokens", integer(6)}}));
  std::vector<pb::JobEvent> events;
  pb::JobEvent e;
  while (events.size() < 100 && reader->Read(&e)) events.push_back(e);
  auto st = reader->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_GE(events.size(), 8u);  // started, 6 tokens, end
  EXPECT_TRUE(events.front().has_started());
  EXPECT_EQ(events.front().started().server(), "sim");
  ASSERT_TRUE(events.back().has_end());
  std::string streamed;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].offset(), i);
    if (i > 0 && i + 1 < events.size()) {
      ASSERT_EQ(events[i].kind_case(), pb::JobEvent::kStdout) << i;
      streamed += events[i].stdout();
    }
  }
  EXPECT_EQ(events.size() - 2, 6u);
  const auto& end = events.back().end();
  EXPECT_EQ(end.state(), pb::JOB_STATE_COMPLETED);
  EXPECT_EQ(end.result().string_value(), streamed);
  EXPECT_EQ(end.id(), events.front().started().job_id());
}

TEST_F(Grpc, CallStreamOfAFailingInferletEndsWithItsStatus) {
  grpc::ClientContext ctx;
  auto reader = gw()->CallStream(&ctx, call("fail"));
  std::vector<pb::JobEvent> events;
  pb::JobEvent e;
  while (events.size() < 100 && reader->Read(&e)) events.push_back(e);
  auto st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  ASSERT_GE(events.size(), 2u);
  EXPECT_TRUE(events[0].has_started());
  EXPECT_EQ(events[1].kind_case(), pb::JobEvent::kStderr);
  for (const auto& ev : events) EXPECT_FALSE(ev.has_end());
}

TEST_F(Grpc, CancellingACallTerminatesItsInstance) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  grpc::Status st;
  std::thread caller([&] { st = s->Call(&ctx, call("sleep", {integer(10000)}), &resp); });
  auto job = running_job(*s, "sleep");
  ASSERT_FALSE(job.instance_id().empty());
  EXPECT_TRUE(instance_running(stack_->sim_port, job.instance_id()));
  ctx.TryCancel();
  caller.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(instance_gone(stack_->sim_port, job.instance_id()));
  auto after = poll_job(*s, job.id(), [](const pb::Job& j) { return j.state() == pb::JOB_STATE_CANCELLED; });
  EXPECT_EQ(after.state(), pb::JOB_STATE_CANCELLED);
}

TEST_F(Grpc, CancellingACallStreamTerminatesItsInstance) {
  auto s = gw();
  grpc::ClientContext ctx;
  auto reader = s->CallStream(&ctx, call("sleep", {integer(10000)}));
  pb::JobEvent started;
  ASSERT_TRUE(reader->Read(&started));
  ASSERT_TRUE(started.has_started());
  EXPECT_TRUE(instance_running(stack_->sim_port, started.started().instance_id()));
  ctx.TryCancel();
  pb::JobEvent more;
  while (reader->Read(&more)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(instance_gone(stack_->sim_port, started.started().instance_id()));
}

TEST_F(Grpc, CancelOnDisconnectFalseLetsTheRunFinish) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  grpc::Status st;
  std::thread caller([&] { st = s->Call(&ctx, call("sleep_keep", {integer(400)}), &resp); });
  auto job = running_job(*s, "sleep_keep");
  ASSERT_FALSE(job.id().empty());
  ctx.TryCancel();
  caller.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  grpc::ClientContext wait_ctx;
  with_deadline(wait_ctx, 10s);
  pb::WaitJobRequest w;
  w.set_id(job.id());
  pb::Job done;
  ASSERT_TRUE(s->WaitJob(&wait_ctx, w, &done).ok());
  EXPECT_EQ(done.state(), pb::JOB_STATE_COMPLETED);
  EXPECT_EQ(done.result().string_value(), "slept 400 ms");
}

TEST_F(Grpc, TheCallDeadlineBecomesTheJobTimeout) {
  auto s = gw();
  grpc::ClientContext ctx;
  with_deadline(ctx, 300ms);
  pb::CallResponse resp;
  // sleep_keep: the job is not cancelled when the client gives up, so its own timeout ends it.
  auto st = s->Call(&ctx, call("sleep_keep", {integer(10000)}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  grpc::ClientContext list_ctx;
  pb::ListJobsRequest req;
  req.set_endpoint("sleep_keep");
  req.set_page_size(1);
  pb::ListJobsResponse jobs;
  ASSERT_TRUE(s->ListJobs(&list_ctx, req, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  auto job = poll_job(*s, jobs.jobs(0).id(), [](const pb::Job& j) { return j.state() == pb::JOB_STATE_FAILED; });
  EXPECT_EQ(job.state(), pb::JOB_STATE_FAILED);
  EXPECT_EQ(job.error().type(), "Timeout");
  EXPECT_NE(job.error().message().find("timed out after"), std::string::npos) << job.error().message();
  if (!job.instance_id().empty()) {
    EXPECT_TRUE(instance_gone(stack_->sim_port, job.instance_id()));
  }
}

TEST_F(Grpc, SubmitGetWaitAndHttpSeeTheSameJob) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::SubmitJobResponse sub;
  ASSERT_TRUE(s->SubmitJob(&ctx, call("sleep", {integer(200)}), &sub).ok());
  ASSERT_EQ(sub.job_id().size(), 36u);
  // Over HTTP: a handle like any async job.
  auto http = stack_->client();
  auto probe = json::parse(http.get("/asyncProbe?UUID=" + sub.job_id()).body)["result"];
  EXPECT_TRUE(probe["status"] == "in_progress" || probe["status"] == "completed") << probe;
  grpc::ClientContext wait_ctx;
  with_deadline(wait_ctx, 10s);
  pb::WaitJobRequest w;
  w.set_id(sub.job_id());
  pb::Job done;
  ASSERT_TRUE(s->WaitJob(&wait_ctx, w, &done).ok());
  EXPECT_EQ(done.state(), pb::JOB_STATE_COMPLETED);
  EXPECT_EQ(done.result().string_value(), "slept 200 ms");
  EXPECT_TRUE(done.async());
  auto got = json::parse(http.get("/asyncGet?UUID=" + sub.job_id() + "&format=json").body);
  EXPECT_EQ(got["result"], "slept 200 ms") << got;
}

TEST_F(Grpc, AnHttpJobIsReadAndWatchedOverGrpc) {
  auto http = stack_->client();
  auto handle = json::parse(http.get("/sleep_async?ms=150").body);
  std::string id = handle["result"]["ID"];
  auto s = gw();
  grpc::ClientContext ctx;
  pb::GetJobRequest g;
  g.set_id(id);
  pb::Job job;
  ASSERT_TRUE(s->GetJob(&ctx, g, &job).ok());
  EXPECT_EQ(job.endpoint(), "sleep_async");
  grpc::ClientContext watch_ctx;
  with_deadline(watch_ctx, 10s);
  pb::WatchJobRequest w;
  w.set_id(id);
  auto reader = s->WatchJob(&watch_ctx, w);
  std::vector<pb::JobEvent> events;
  pb::JobEvent e;
  while (events.size() < 100 && reader->Read(&e)) events.push_back(e);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(events.size(), 2u);
  EXPECT_TRUE(events.front().has_started());
  ASSERT_TRUE(events.back().has_end());
  EXPECT_EQ(events.back().end().result().string_value(), "slept 150 ms");
}

TEST_F(Grpc, WatchJobResumesFromAnOffsetWithoutLoss) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::SubmitJobResponse sub;
  ASSERT_TRUE(s->SubmitJob(&ctx, call("complete", {str("resume")}, {{"max_tokens", integer(8)}}), &sub).ok());
  // First watcher reads three events, then goes away.
  std::vector<pb::JobEvent> seen;
  {
    grpc::ClientContext wctx;
    pb::WatchJobRequest w;
    w.set_id(sub.job_id());
    auto reader = s->WatchJob(&wctx, w);
    pb::JobEvent e;
    while (seen.size() < 3 && reader->Read(&e)) seen.push_back(e);
    wctx.TryCancel();
    while (reader->Read(&e)) {
    }
    reader->Finish();
  }
  ASSERT_EQ(seen.size(), 3u);
  grpc::ClientContext wctx;
  with_deadline(wctx, 10s);
  pb::WatchJobRequest w;
  w.set_id(sub.job_id());
  w.set_from_offset(seen.back().offset() + 1);
  auto reader = s->WatchJob(&wctx, w);
  pb::JobEvent e;
  while (seen.size() < 100 && reader->Read(&e)) seen.push_back(e);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(seen.size(), 10u);  // started, 8 tokens, end
  std::string text;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].offset(), i);
    if (seen[i].kind_case() == pb::JobEvent::kStdout) text += seen[i].stdout();
  }
  ASSERT_TRUE(seen.back().has_end());
  EXPECT_EQ(seen.back().end().result().string_value(), text);
  // Past the end of a finished job: nothing more, and OK.
  grpc::ClientContext late;
  with_deadline(late, 5s);
  w.set_from_offset(seen.size());
  auto r2 = s->WatchJob(&late, w);
  EXPECT_FALSE(r2->Read(&e));
  EXPECT_TRUE(r2->Finish().ok());
}

TEST_F(Grpc, WaitJobHonoursTheDeadlineAndTheJobRunsOn) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::SubmitJobResponse sub;
  ASSERT_TRUE(s->SubmitJob(&ctx, call("sleep", {integer(1500)}), &sub).ok());
  grpc::ClientContext wctx;
  with_deadline(wctx, 200ms);
  pb::WaitJobRequest w;
  w.set_id(sub.job_id());
  pb::Job job;
  EXPECT_EQ(s->WaitJob(&wctx, w, &job).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  grpc::ClientContext gctx;
  pb::GetJobRequest g;
  g.set_id(sub.job_id());
  ASSERT_TRUE(s->GetJob(&gctx, g, &job).ok());
  EXPECT_FALSE(job.state() == pb::JOB_STATE_CANCELLED || job.state() == pb::JOB_STATE_FAILED);
}

TEST_F(Grpc, CancelJobAndItsErrors) {
  auto s = gw();
  grpc::ClientContext ctx;
  pb::SubmitJobResponse sub;
  ASSERT_TRUE(s->SubmitJob(&ctx, call("sleep", {integer(10000)}), &sub).ok());
  auto running = poll_job(*s, sub.job_id(), [](const pb::Job& j) { return !j.instance_id().empty(); });
  pb::CancelJobRequest c;
  c.set_id(sub.job_id());
  pb::Job job;
  {
    grpc::ClientContext cctx;
    ASSERT_TRUE(s->CancelJob(&cctx, c, &job).ok());
    EXPECT_EQ(job.state(), pb::JOB_STATE_CANCELLED);
    EXPECT_EQ(job.error().type(), "Cancelled");
  }
  EXPECT_TRUE(instance_gone(stack_->sim_port, running.instance_id()));
  {
    grpc::ClientContext cctx;
    EXPECT_EQ(s->CancelJob(&cctx, c, &job).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext cctx;
    c.set_id("00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(s->CancelJob(&cctx, c, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext cctx;
    c.set_id("not-a-uuid");
    EXPECT_EQ(s->CancelJob(&cctx, c, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // A job cancelled over HTTP reads as cancelled over gRPC.
  grpc::ClientContext sctx;
  ASSERT_TRUE(s->SubmitJob(&sctx, call("sleep", {integer(10000)}), &sub).ok());
  auto http = stack_->client();
  EXPECT_EQ(http.post("/gateway/cancel", json{{"UUID", sub.job_id()}}.dump(), "application/json").status, 200);
  auto after = poll_job(*s, sub.job_id(), [](const pb::Job& j) { return j.state() == pb::JOB_STATE_CANCELLED; });
  EXPECT_EQ(after.state(), pb::JOB_STATE_CANCELLED);
}

TEST_F(Grpc, ListJobsPaginatesNewestFirst) {
  auto s = gw();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    ASSERT_TRUE(s->Call(&ctx, call("echo_rpc", {integer(i)}), &resp).ok());
    ids.insert(ids.begin(), resp.job_id());  // newest first
  }
  std::vector<std::string> listed;
  pb::ListJobsRequest req;
  req.set_endpoint("echo_rpc");
  req.set_state(pb::JOB_STATE_COMPLETED);
  req.set_page_size(2);
  for (int page = 0; page < 10; ++page) {
    grpc::ClientContext ctx;
    pb::ListJobsResponse resp;
    ASSERT_TRUE(s->ListJobs(&ctx, req, &resp).ok());
    for (const auto& j : resp.jobs()) listed.push_back(j.id());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  ASSERT_GE(listed.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(listed.begin(), listed.begin() + 5), ids);
  // The same jobs over HTTP.
  auto http = json::parse(stack_->client().get("/gateway/jobs?endpoint=echo_rpc&limit=5").body);
  ASSERT_EQ(http["result"].size(), 5u);
  EXPECT_EQ(http["result"][0]["id"], ids[0]);
  grpc::ClientContext bad;
  req.set_page_token("bogus");
  pb::ListJobsResponse resp;
  EXPECT_EQ(s->ListJobs(&bad, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(Grpc, ListServersShowsTheCluster) {
  grpc::ClientContext ctx;
  pb::ListServersResponse resp;
  ASSERT_TRUE(gw()->ListServers(&ctx, {}, &resp).ok());
  ASSERT_EQ(resp.servers_size(), 1);
  EXPECT_EQ(resp.servers(0).name(), "sim");
  EXPECT_EQ(resp.servers(0).state(), "healthy");
  EXPECT_GE(resp.servers(0).sessions_open(), 1u);
}

TEST_F(Grpc, MetricsCountCallsByMethodAndCode) {
  {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    ASSERT_TRUE(gw()->Call(&ctx, call("echo", {str("counted")}), &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    gw()->Call(&ctx, call("nope"), &resp);
  }
  pg::test::PromText m(stack_->client().get("/metrics").body);
  EXPECT_GE(m.get("pie_gateway_grpc_requests_total", {{"method", "Call"}, {"code", "NOT_FOUND"}}), 1);
  EXPECT_GE(m.get("pie_gateway_grpc_requests_total", {{"method", "Call"}, {"code", "OK"}}), 1);
  EXPECT_GE(m.get("pie_gateway_grpc_request_duration_seconds_count", {{"method", "Call"}}), 2);
}

TEST(GrpcUnavailable, NoPieServerIsUnavailableWithRetryInfo) {
  StackOptions o;
  o.start_sim = false;
  o.wait_ready = false;
  o.grpc = true;
  o.servers_yaml = "servers:\n  - {name: down, uri: \"ws://127.0.0.1:9/\", connect_timeout: 200ms}\n";
  o.endpoints_yaml = "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";
  Stack stack(o);
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  auto st = stub(stack.grpc_port)->Call(&ctx, call("echo", {str("x")}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_EQ(trailer(ctx, "retry-after-ms"), "1000");
  bool retry = false;
  error_info(st, &retry);
  EXPECT_TRUE(retry);
}

TEST(GrpcLimits, JobCapIsResourceExhausted) {
  StackOptions o;
  o.grpc = true;
  o.endpoints_yaml = "  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
                     " arguments: [\"--ms\", \"{ms}\"]}\njobs: {max_live: 1}\n";
  Stack stack(o);
  auto s = stub(stack.grpc_port);
  grpc::ClientContext ctx;
  pb::SubmitJobResponse sub;
  ASSERT_TRUE(s->SubmitJob(&ctx, call("sleep", {integer(3000)}), &sub).ok());
  grpc::ClientContext ctx2;
  pb::CallResponse resp;
  auto st = s->Call(&ctx2, call("sleep", {integer(10)}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_EQ(trailer(ctx2, "pie-error-type"), "JobCapReached");
}

TEST(GrpcLimits, OversizedRequestIsRefused) {
  StackOptions o;
  o.grpc = true;
  o.endpoints_yaml = "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
                     "grpc: {max_recv_bytes: 4096}\n";
  Stack stack(o);
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  auto st = stub(stack.grpc_port)->Call(&ctx, call("echo", {str(std::string(10000, 'a'))}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  grpc::ClientContext ok_ctx;
  EXPECT_TRUE(stub(stack.grpc_port)->Call(&ok_ctx, call("echo", {str("small")}), &resp).ok());
}

TEST(GrpcLifecycle, SigtermLetsACallFinishRefusesNewOnesThenStops) {
  StackOptions o;
  o.grpc = true;
  o.endpoints_yaml = "  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],"
                     " arguments: [\"--ms\", \"{ms}\"]}\nshutdown: {drain_timeout: 5s}\n";
  Stack stack(o);
  auto s = stub(stack.grpc_port);
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  grpc::Status st;
  std::thread caller([&] { st = s->Call(&ctx, call("sleep", {integer(600)}), &resp); });
  auto job = running_job(*s, "sleep");
  ASSERT_FALSE(job.id().empty());
  stack.gateway->signal(SIGTERM);
  // While it drains, new calls are refused UNAVAILABLE, and each refusal is logged and counted.
  grpc::Status refused;
  for (int i = 0; i < 100 && refused.error_code() != grpc::StatusCode::UNAVAILABLE; ++i) {
    grpc::ClientContext c2;
    with_deadline(c2, 2s);
    pb::CallResponse r2;
    refused = s->Call(&c2, call("sleep", {integer(1)}), &r2);
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  caller.join();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.result().string_value(), "slept 600 ms");
  EXPECT_EQ(stack.gateway->wait(10s), 0);
  EXPECT_NE(stack.gateway_log().find("door=grpc method=Call status=14 code=UNAVAILABLE"), std::string::npos)
      << stack.gateway_log();
}
