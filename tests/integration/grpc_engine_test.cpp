// Issue 8 over gRPC, against two real pie-sim servers: CallRequest.input (messages through
// std/chat, blobs byte for byte through std/blob-echo, returned as bytes_value), param:NAME
// inputs from arguments, fan-out results, GetModels, ListDaemons and LaunchDaemon.
#include <gtest/gtest.h>


#include "grpc_support.hpp"
#include "inputs_endpoints.hpp"
#include "support/cluster_stack.hpp"

using namespace std::chrono_literals;
using namespace pg::test::grpc_support;
using pg::test::ClusterOptions;
using pg::test::ClusterStack;

namespace {

using pg::test::random_bytes;
const std::string kEndpoints =
    std::string(pg::test::kInputEndpoints) +
    "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n"
    "  - {name: echo_all, kind: get, fanout: all, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";

pb::CallRequest with_input(pb::CallRequest r, std::string input) {
  r.set_input(std::move(input));
  return r;
}

class GrpcEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions o;
    o.sims = 2;
    o.grpc = true;
    o.rest_yaml = std::string("models_cache: 1ms\n") + kEndpoints;
    stack_ = new ClusterStack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  std::unique_ptr<pb::Gateway::Stub> gw() { return stub(stack_->grpc_port); }
  static ClusterStack* stack_;
};
ClusterStack* GrpcEngine::stack_ = nullptr;

}  // namespace

TEST_F(GrpcEngine, CallInputIsSentAsAMessageAndParamInputsComeFromArguments) {
  auto s = gw();
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    pb::CallResponse resp;
    auto st = s->Call(&ctx, with_input(call("chat_body"), "hello over grpc"), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.result().list_value().values_size(), 1) << resp.DebugString();
    EXPECT_EQ(resp.result().list_value().values(0).string_value(), "echo: hello over grpc");
  }
  {
    // param:NAME inputs: positional and named arguments, in the declared order.
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    pb::CallResponse resp;
    auto st = s->Call(&ctx, call("chat_last", {str("first")}, {{"b", str("second")}}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), "echo: second");
  }
  {
    // CallStream and SubmitJob take the input too.
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    auto reader = s->CallStream(&ctx, with_input(call("chat_body"), "streamed"));
    pb::JobEvent ev;
    std::vector<std::string> messages;
    pb::Job end;
    while (reader->Read(&ev)) {
      if (ev.has_message()) messages.push_back(ev.message());
      if (ev.has_end()) end = ev.end();
    }
    auto st = reader->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(messages, std::vector<std::string>{"echo: streamed"});
    EXPECT_EQ(end.result().list_value().values(0).string_value(), "echo: streamed");
  }
  {
    grpc::ClientContext ctx;
    pb::SubmitJobResponse sub;
    ASSERT_TRUE(s->SubmitJob(&ctx, with_input(call("chat_body"), "submitted"), &sub).ok());
    grpc::ClientContext wctx;
    with_deadline(wctx, 10s);
    pb::WaitJobRequest w;
    w.set_id(sub.job_id());
    pb::Job job;
    ASSERT_TRUE(s->WaitJob(&wctx, w, &job).ok());
    ASSERT_EQ(job.state(), pb::JOB_STATE_COMPLETED) << job.DebugString();
    EXPECT_EQ(job.result().list_value().values(0).string_value(), "echo: submitted");
  }
}

TEST_F(GrpcEngine, InputOnAnEndpointWithoutABodyInputIsInvalid) {
  auto s = gw();
  for (const char* name : {"echo", "chat_last"}) {
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, with_input(call(name, {str("a"), str("b")}), "body"), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_NE(st.error_message().find("takes no input"), std::string::npos) << st.error_message();
  }
  // A required parameter feeding an input is refused before anything is launched.
  grpc::ClientContext ctx;
  pb::CallResponse resp;
  auto st = s->Call(&ctx, call("chat_last", {str("only a")}), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  // ListEndpoints says which endpoints take an input.
  grpc::ClientContext lctx;
  pb::ListEndpointsResponse eps;
  ASSERT_TRUE(s->ListEndpoints(&lctx, {}, &eps).ok());
  EXPECT_TRUE(eps.endpoints(0).takes_input());
  EXPECT_FALSE(eps.endpoints(1).takes_input());
}

TEST_F(GrpcEngine, BlobResultsRoundTripByteForByteAsBytes) {
  auto s = gw();
  unsigned seed = 7;
  for (std::size_t n : {std::size_t{1}, std::size_t{262144}, std::size_t{262145}, std::size_t{3 * 1024 * 1024 + 7}}) {
    const auto bytes = random_bytes(n, seed++);
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    pb::CallResponse resp;
    auto st = s->Call(&ctx, with_input(call("blob_echo"), bytes), &resp);
    ASSERT_TRUE(st.ok()) << "size " << n << ": " << st.error_message();
    ASSERT_EQ(resp.result().kind_case(), pb::Value::kBytesValue) << "size " << n;
    ASSERT_EQ(resp.result().bytes_value().size(), n);
    EXPECT_TRUE(resp.result().bytes_value() == bytes) << "size " << n << ": bytes differ";
    // GetJob answers the same bytes.
    grpc::ClientContext jctx;
    pb::GetJobRequest jr;
    jr.set_id(resp.job_id());
    pb::Job job;
    ASSERT_TRUE(s->GetJob(&jctx, jr, &job).ok());
    EXPECT_TRUE(job.result().bytes_value() == bytes) << "size " << n;
  }
  {
    // Size 0: the empty blob reaches the instance...
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, with_input(call("blob_count"), ""), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), "0 bytes");
  }
  {
    // ... but Pie cannot send an empty blob back (no chunks), so a blob result has nothing to return.
    grpc::ClientContext ctx;
    pb::CallResponse resp;
    auto st = s->Call(&ctx, with_input(call("blob_echo"), ""), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_NE(st.error_message().find("without sending one"), std::string::npos) << st.error_message();
  }
}

TEST_F(GrpcEngine, FanoutCallAnswersTheListOfEveryServersResult) {
  grpc::ClientContext ctx;
  with_deadline(ctx, 10s);
  pb::CallResponse resp;
  auto st = gw()->Call(&ctx, call("echo_all", {str("hi all")}), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // One entry per server, as over HTTP: {server, status, result, job, instance_id}.
  const auto& list = resp.result().list_value();
  ASSERT_EQ(list.values_size(), 2) << resp.DebugString();
  std::vector<std::string> servers;
  for (const auto& v : list.values()) {
    const auto& f = v.map_value().fields();
    ASSERT_TRUE(f.contains("server") && f.contains("result") && f.contains("status")) << v.DebugString();
    servers.push_back(f.at("server").string_value());
    EXPECT_EQ(f.at("status").string_value(), "completed");
    EXPECT_EQ(f.at("result").string_value(), "hi all");
    EXPECT_EQ(f.at("job").string_value().size(), 36u);
  }
  EXPECT_EQ(servers, (std::vector<std::string>{"sim0", "sim1"}));
}

TEST_F(GrpcEngine, GetModelsAnswersEveryServersModelStatus) {
  pb::GetModelsResponse m;
  ASSERT_TRUE(ClusterStack::eventually(
      [&] {
        grpc::ClientContext ctx;
        m.Clear();
        if (!gw()->GetModels(&ctx, {}, &m).ok() || m.servers_size() != 2) return false;
        return m.servers(0).ok() && m.servers(1).ok();
      },
      10s))
      << m.DebugString();
  EXPECT_EQ(m.servers(0).server(), "sim0");
  EXPECT_EQ(m.servers(1).server(), "sim1");
  const auto& status = m.servers(1).status().map_value().fields();
  EXPECT_EQ(status.at("model").string_value(), "pie-sim");
  EXPECT_EQ(status.at("status").string_value(), "ready");
  EXPECT_TRUE(m.has_age());
}

TEST_F(GrpcEngine, LaunchDaemonShowsInListDaemonsAndListServers) {
  auto s = gw();
  pb::LaunchDaemonRequest req;
  req.set_server("sim1");
  req.set_port(9656);
  req.set_inferlet("std/echo@0.1.0");
  req.add_arguments("hi");
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    pb::Daemon d;
    auto st = s->LaunchDaemon(&ctx, req, &d);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(d.reply(), "Server instance launched on port 9656");
    EXPECT_EQ(d.state(), "running");
    EXPECT_EQ(d.server(), "sim1");
    EXPECT_EQ(d.launches(), 1u);
  }
  {
    grpc::ClientContext ctx;
    pb::ListDaemonsResponse all;
    ASSERT_TRUE(s->ListDaemons(&ctx, {}, &all).ok());
    ASSERT_EQ(all.daemons_size(), 1) << all.DebugString();
    EXPECT_EQ(all.daemons(0).server(), "sim1");
    EXPECT_EQ(all.daemons(0).port(), 9656u);
    EXPECT_EQ(all.daemons(0).inferlet(), "std/echo@0.1.0");
    ASSERT_EQ(all.daemons(0).arguments_size(), 1);
    EXPECT_EQ(all.daemons(0).arguments(0), "hi");
  }
  {
    grpc::ClientContext ctx;
    pb::ListDaemonsRequest only;
    only.set_server("sim0");
    pb::ListDaemonsResponse none;
    ASSERT_TRUE(s->ListDaemons(&ctx, only, &none).ok());
    EXPECT_EQ(none.daemons_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    pb::ListServersResponse servers;
    ASSERT_TRUE(s->ListServers(&ctx, {}, &servers).ok());
    ASSERT_EQ(servers.servers_size(), 2);
    EXPECT_EQ(servers.servers(0).daemons_size(), 0);
    ASSERT_EQ(servers.servers(1).daemons_size(), 1);
    EXPECT_EQ(servers.servers(1).daemons(0).port(), 9656u);
    EXPECT_EQ(servers.servers(1).daemons(0).state(), "running");
  }
  // Refusals: Pie's, an unknown server, bad requests.
  auto launch = [&](const std::string& server, std::uint32_t port, const std::string& inferlet) {
    pb::LaunchDaemonRequest r;
    r.set_server(server);
    r.set_port(port);
    r.set_inferlet(inferlet);
    grpc::ClientContext ctx;
    with_deadline(ctx, 10s);
    pb::Daemon d;
    return s->LaunchDaemon(&ctx, r, &d);
  };
  auto st = launch("sim1", 9657, "nope/missing@1.0.0");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(st.error_message().find("Program not found"), std::string::npos) << st.error_message();
  st = launch("nosuch", 9657, "std/echo@0.1.0");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_EQ(launch("sim1", 0, "std/echo@0.1.0").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(launch("sim1", 70000, "std/echo@0.1.0").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(launch("sim1", 9657, "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx;
  pb::ListDaemonsRequest unknown;
  unknown.set_server("nosuch");
  pb::ListDaemonsResponse resp;
  EXPECT_EQ(s->ListDaemons(&ctx, unknown, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}
