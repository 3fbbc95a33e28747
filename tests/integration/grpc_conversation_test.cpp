// Converse (issue 8, conversations over gRPC) against the real daemon and pie-sim's std/chat:
// a three-turn conversation, attach to conversations opened over HTTP and by another stream,
// "bye" ending it, a cancelled or half-closed stream closing it, a turn timeout that leaves it
// open, the max_open cap, and bad requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grpc_support.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using namespace pg::test::grpc_support;
using nlohmann::json;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEndpoints = R"(
  - {name: chat, kind: session, inferlet: std/chat@0.1.0, timeout: 5s, session: {idle_timeout: 30s, max_open: 20}}
  - {name: chat_one, kind: session, inferlet: std/chat@0.1.0, session: {max_open: 1}}
  - {name: mute, kind: session, inferlet: std/sleep@0.1.0, arguments: ["--ms", "60000"], timeout: 5s}
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
)";

using Stream = grpc::ClientReaderWriter<pb::ConverseRequest, pb::ConverseResponse>;

pb::ConverseRequest open_req(const std::string& endpoint, bool keep_open = false) {
  pb::ConverseRequest r;
  r.mutable_open()->set_endpoint(endpoint);
  r.mutable_open()->set_keep_open(keep_open);
  return r;
}
pb::ConverseRequest attach_req(const std::string& id) {
  pb::ConverseRequest r;
  r.mutable_attach()->set_session_id(id);
  return r;
}
pb::ConverseRequest say_req(const std::string& text, std::chrono::milliseconds timeout = {}) {
  pb::ConverseRequest r;
  r.mutable_say()->set_text(text);
  if (timeout.count() > 0) r.mutable_say()->mutable_timeout()->set_nanos(static_cast<int>(timeout.count() * 1000000));
  return r;
}
pb::ConverseRequest close_req() {
  pb::ConverseRequest r;
  r.mutable_close();
  return r;
}

/// Write `req` and read the one response it gets (an empty response if the stream ended).
pb::ConverseResponse ask(Stream& s, const pb::ConverseRequest& req) {
  pb::ConverseResponse resp;
  if (!s.Write(req) || !s.Read(&resp)) resp.Clear();
  return resp;
}

/// The status a stream ends with after `req` (its responses, if any, skipped).
grpc::Status ends_with(pb::Gateway::Stub& gw, const std::vector<pb::ConverseRequest>& reqs) {
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  auto s = gw.Converse(&ctx);
  for (const auto& r : reqs) s->Write(r);
  pb::ConverseResponse resp;
  while (s->Read(&resp)) {
  }
  return s->Finish();
}

class GrpcConverse : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = kEndpoints;
    o.grpc = true;
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  std::unique_ptr<pb::Gateway::Stub> gw() { return stub(stack_->grpc_port); }
  pb::JobState state_of(const std::string& id) {
    grpc::ClientContext ctx;
    pb::GetJobRequest r;
    r.set_id(id);
    pb::Job job;
    return gw()->GetJob(&ctx, r, &job).ok() ? job.state() : pb::JOB_STATE_UNSPECIFIED;
  }
  static Stack* stack_;
};
Stack* GrpcConverse::stack_ = nullptr;

}  // namespace

TEST_F(GrpcConverse, ThreeTurnsThenCloseCompletesTheJob) {
  auto gws = gw();
  grpc::ClientContext ctx;
  with_deadline(ctx, 20s);
  auto s = gws->Converse(&ctx);
  auto opened = ask(*s, open_req("chat"));
  ASSERT_TRUE(opened.has_opened()) << opened.DebugString();
  const auto id = opened.opened().session_id();
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(opened.opened().job().state(), pb::JOB_STATE_RUNNING);
  EXPECT_EQ(opened.opened().job().endpoint(), "chat");
  for (const std::string m : {"a", "b", "c"}) {
    auto r = ask(*s, say_req(m));
    ASSERT_TRUE(r.has_reply()) << r.DebugString();
    EXPECT_EQ(r.reply().text(), "echo: " + m);
    ASSERT_EQ(r.reply().messages_size(), 1);
    EXPECT_EQ(r.reply().messages(0), "echo: " + m);
    EXPECT_FALSE(r.reply().ended());
  }
  auto closed = ask(*s, close_req());
  ASSERT_TRUE(closed.has_closed()) << closed.DebugString();
  EXPECT_EQ(closed.closed().job().id(), id);
  EXPECT_EQ(closed.closed().job().state(), pb::JOB_STATE_COMPLETED);
  pb::ConverseResponse more;
  EXPECT_FALSE(s->Read(&more));  // closed is the last response
  auto st = s->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(state_of(id), pb::JOB_STATE_COMPLETED);
  // The job's result is the conversation so far, as over HTTP.
  grpc::ClientContext jctx;
  pb::GetJobRequest jr;
  jr.set_id(id);
  pb::Job job;
  ASSERT_TRUE(gws->GetJob(&jctx, jr, &job).ok());
  EXPECT_EQ(job.result().list_value().values_size(), 3) << job.DebugString();
}

TEST_F(GrpcConverse, AttachContinuesAConversationOpenedOverHttp) {
  auto c = stack_->client();
  auto r = c.post("/chat/open", "{}", "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)["result"]["session"];
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    auto s = gw()->Converse(&ctx);
    auto attached = ask(*s, attach_req(id));
    ASSERT_TRUE(attached.has_opened()) << attached.DebugString();
    EXPECT_EQ(attached.opened().session_id(), id);
    auto reply = ask(*s, say_req("from grpc"));
    EXPECT_EQ(reply.reply().text(), "echo: from grpc") << reply.DebugString();
    s->WritesDone();  // an attached stream leaves the conversation open
    auto st = s->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(state_of(id), pb::JOB_STATE_RUNNING);
  r = c.post("/chat/send", json{{"session", id}, {"message", "from http"}}.dump(), "application/json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["result"]["reply"], "echo: from http") << r.body;
  r = c.post("/chat/close", json{{"session", id}}.dump(), "application/json");
  EXPECT_EQ(r.status, 200) << r.body;
  // Attaching to it now: it is closed.
  auto st = ends_with(*gw(), {attach_req(id)});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
}

TEST_F(GrpcConverse, KeepOpenLetsAnotherStreamAttach) {
  std::string id;
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    auto s = gw()->Converse(&ctx);
    auto opened = ask(*s, open_req("chat", true));
    ASSERT_TRUE(opened.has_opened()) << opened.DebugString();
    id = opened.opened().session_id();
    EXPECT_EQ(ask(*s, say_req("one")).reply().text(), "echo: one");
    s->WritesDone();
    EXPECT_TRUE(s->Finish().ok());
  }
  EXPECT_EQ(state_of(id), pb::JOB_STATE_RUNNING);
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  auto s = gw()->Converse(&ctx);
  ASSERT_TRUE(ask(*s, attach_req(id)).has_opened());
  EXPECT_EQ(ask(*s, say_req("two")).reply().text(), "echo: two");
  EXPECT_TRUE(ask(*s, close_req()).has_closed());
  EXPECT_TRUE(s->Finish().ok());
  EXPECT_EQ(state_of(id), pb::JOB_STATE_COMPLETED);
}

TEST_F(GrpcConverse, ByeEndsTheConversationAndTheStream) {
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  auto s = gw()->Converse(&ctx);
  auto opened = ask(*s, open_req("chat"));
  ASSERT_TRUE(opened.has_opened());
  EXPECT_EQ(ask(*s, say_req("hi")).reply().text(), "echo: hi");
  auto bye = ask(*s, say_req("bye"));
  ASSERT_TRUE(bye.has_reply()) << bye.DebugString();
  EXPECT_TRUE(bye.reply().ended());
  EXPECT_EQ(bye.reply().text(), "bye");
  EXPECT_EQ(bye.reply().messages_size(), 0);
  pb::ConverseResponse more;
  EXPECT_FALSE(s->Read(&more));
  EXPECT_TRUE(s->Finish().ok());
  EXPECT_EQ(state_of(opened.opened().session_id()), pb::JOB_STATE_COMPLETED);
}

TEST_F(GrpcConverse, CancelledOrHalfClosedStreamClosesItsConversation) {
  for (bool cancel : {true, false}) {
    std::string id, instance;
    {
      grpc::ClientContext ctx;
      with_deadline(ctx, 10s);
      auto s = gw()->Converse(&ctx);
      auto opened = ask(*s, open_req("chat"));
      ASSERT_TRUE(opened.has_opened());
      id = opened.opened().session_id();
      instance = opened.opened().job().instance_id();
      EXPECT_EQ(ask(*s, say_req("a")).reply().text(), "echo: a");
      if (cancel) {
        ctx.TryCancel();
        EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::CANCELLED);
      } else {
        s->WritesDone();
        EXPECT_TRUE(s->Finish().ok());
      }
    }
    auto job = poll_job(*gw(), id, [](const pb::Job& j) { return j.state() != pb::JOB_STATE_RUNNING; });
    EXPECT_EQ(job.state(), pb::JOB_STATE_COMPLETED) << (cancel ? "cancelled: " : "half-closed: ") << job.DebugString();
    EXPECT_TRUE(instance_gone(stack_->sim_port, instance)) << instance;
  }
}

TEST_F(GrpcConverse, ATurnTimeoutIsAnErrorResponseAndTheConversationGoesOn) {
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  auto s = gw()->Converse(&ctx);
  ASSERT_TRUE(ask(*s, open_req("mute")).has_opened());
  auto r = ask(*s, say_req("anyone?", 200ms));
  ASSERT_TRUE(r.has_error()) << r.DebugString();
  EXPECT_EQ(r.error().type(), "Timeout");
  EXPECT_NE(r.error().message().find("stays open"), std::string::npos) << r.error().message();
  r = ask(*s, say_req("still there?", 200ms));
  EXPECT_TRUE(r.has_error()) << r.DebugString();
  EXPECT_TRUE(ask(*s, close_req()).has_closed());
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(GrpcConverse, MaxOpenIsResourceExhausted) {
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  auto s = gw()->Converse(&ctx);
  ASSERT_TRUE(ask(*s, open_req("chat_one")).has_opened());
  auto st = ends_with(*gw(), {open_req("chat_one")});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("max_open"), std::string::npos) << st.error_message();
  EXPECT_TRUE(ask(*s, close_req()).has_closed());
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(GrpcConverse, BadRequestsEndTheStreamWithClearStatuses) {
  auto g = gw();
  auto expect = [&](std::vector<pb::ConverseRequest> reqs, grpc::StatusCode code, const std::string& text) {
    auto st = ends_with(*g, reqs);
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(text), std::string::npos) << st.error_message();
  };
  expect({say_req("hi")}, grpc::StatusCode::INVALID_ARGUMENT, "say before open or attach");
  expect({close_req()}, grpc::StatusCode::INVALID_ARGUMENT, "close before open or attach");
  expect({pb::ConverseRequest()}, grpc::StatusCode::INVALID_ARGUMENT, "must set one of open, attach, say or close");
  expect({open_req("nosuch")}, grpc::StatusCode::NOT_FOUND, "no endpoint named 'nosuch'");
  expect({open_req("echo")}, grpc::StatusCode::INVALID_ARGUMENT, "is not of kind session");
  expect({attach_req("not-a-uuid")}, grpc::StatusCode::INVALID_ARGUMENT, "not a job id");
  expect({attach_req("00000000-0000-4000-8000-000000000000")}, grpc::StatusCode::NOT_FOUND, "no open session");
  {
    // An ordinary job is no conversation.
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    ASSERT_TRUE(g->Call(&ctx, call("echo", {str("x")}), &resp).ok());
    expect({attach_req(resp.job_id())}, grpc::StatusCode::NOT_FOUND, "is not a session");
  }
  {
    // A second open on a stream is refused, and the conversation the stream opened is closed.
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    auto s = g->Converse(&ctx);
    auto opened = ask(*s, open_req("chat"));
    ASSERT_TRUE(opened.has_opened());
    s->Write(open_req("chat"));
    pb::ConverseResponse resp;
    EXPECT_FALSE(s->Read(&resp));
    auto st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("first request"), std::string::npos) << st.error_message();
    EXPECT_EQ(state_of(opened.opened().session_id()), pb::JOB_STATE_COMPLETED);
  }
  // A session endpoint cannot be Called, and ListEndpoints shows its kind and settings.
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  auto st = g->Call(&ctx, call("chat"), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("Converse"), std::string::npos) << st.error_message();
  grpc::ClientContext lctx;
  pb::ListEndpointsResponse eps;
  ASSERT_TRUE(g->ListEndpoints(&lctx, {}, &eps).ok());
  EXPECT_EQ(eps.endpoints(0).kind(), "session");
  EXPECT_EQ(eps.endpoints(0).session().idle_timeout().seconds(), 30);
  EXPECT_EQ(eps.endpoints(0).session().max_open(), 20u);
  EXPECT_FALSE(eps.endpoints(3).has_session());
}
