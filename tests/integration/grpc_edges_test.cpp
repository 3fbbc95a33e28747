// gRPC requests that do not parse (issue 14, item 7): raw garbage sent with a generic stub, and a
// Value nested 200 levels deep (more than protobuf parses) sent with the generated client. Each is
// answered INVALID_ARGUMENT naming the problem, on unary and streaming methods, and the gateway
// goes on serving.
#include <gtest/gtest.h>
#include <grpcpp/generic/generic_stub.h>

#include <future>

#include "grpc_support.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using namespace pg::test::grpc_support;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

class GrpcEdges : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml =
        "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";
    o.grpc = true;
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static std::shared_ptr<grpc::Channel> channel() {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(stack_->grpc_port), grpc::InsecureChannelCredentials());
  }
  /// One unary call of `method` with `bytes` as the request, through a generic stub.
  static grpc::Status raw_unary(const std::string& method, const std::string& bytes) {
    grpc::GenericStub generic(channel());
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer req(&slice, 1), resp;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/pie.gateway.v1.Gateway/" + method, grpc::StubOptions(), &req, &resp,
                      [&](grpc::Status s) { done.set_value(std::move(s)); });
    auto f = done.get_future();
    if (f.wait_for(30s) != std::future_status::ready) return grpc::Status(grpc::StatusCode::UNKNOWN, "no answer");
    return f.get();
  }
  static void expect_echo_works() {
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    pb::CallResponse resp;
    auto st = stub(stack_->grpc_port)->Call(&ctx, call("echo", {str("still here")}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result().string_value(), "still here");
  }
  static Stack* stack_;
};
Stack* GrpcEdges::stack_ = nullptr;

pb::CallRequest deep_call(int depth) {
  pb::CallRequest r = call("echo");
  pb::Value* v = r.add_args();
  for (int i = 0; i < depth; ++i) v = v->mutable_list_value()->add_values();
  v->set_string_value("bottom");
  return r;
}

}  // namespace

TEST_F(GrpcEdges, GarbageIsInvalidArgumentNamingTheMessage) {
  // Field 1 (endpoint) claims 100 bytes, 3 follow.
  auto st = raw_unary("Call", std::string("\x0a\x64") + "abc");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("request is not a valid pie.gateway.v1.CallRequest: malformed protobuf: "
                                    "CallRequest.endpoint claims 100 bytes, more than remain"),
            std::string::npos)
      << st.error_message();

  st = raw_unary("GetJob", std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("request is not a valid pie.gateway.v1.GetJobRequest: malformed protobuf"),
            std::string::npos)
      << st.error_message();

  // A string field that is not UTF-8 (protobuf refuses it for proto3 strings).
  st = raw_unary("Call", std::string("\x0a\x02\xc3\x28", 4));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_NE(st.error_message().find("CallRequest.endpoint is not valid UTF-8"), std::string::npos)
      << st.error_message();
  expect_echo_works();
}

TEST_F(GrpcEdges, DeepValueIsInvalidArgumentOnUnaryAndStreamingCalls) {
  auto gw = stub(stack_->grpc_port);
  const auto req = deep_call(200);
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    pb::CallResponse resp;
    auto st = gw->Call(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_NE(st.error_message().find("request is not a valid pie.gateway.v1.CallRequest: messages nested deeper "
                                      "than protobuf's limit of 100 levels (Value nesting deeper than"),
              std::string::npos)
        << st.error_message();
    EXPECT_NE(st.error_message().find("in 'args'"), std::string::npos) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    auto reader = gw->CallStream(&ctx, req);
    pb::JobEvent ev;
    int events = 0;
    while (events < 100 && reader->Read(&ev)) ++events;
    auto st = reader->Finish();
    EXPECT_EQ(events, 0);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_NE(st.error_message().find("Value nesting deeper than"), std::string::npos) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    with_deadline(ctx, 20s);
    pb::SubmitJobResponse resp;
    auto st = gw->SubmitJob(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  }
  expect_echo_works();
}
