// The gRPC API from a second language: tests/python/grpc_session.py (Debian's python3-grpcio,
// stubs generated at test time with grpc_tools.protoc) against the real daemon and pie-sim.
// Each check prints OK/FAIL.
#include <gtest/gtest.h>

#include "support/script_checks.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: fail, kind: get, inferlet: std/fail@0.1.0, group: g1}
  - {name: chat, kind: session, inferlet: std/chat@0.1.0}
groups:
  g1: [sim]
)";

}  // namespace

TEST(GrpcPythonClient, GeneratedPythonStubsDriveTheApi) {
  pg::test::StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.grpc = true;
  pg::test::Stack stack(o);
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/grpc_session.py",
                                      "127.0.0.1:" + std::to_string(stack.grpc_port), std::string(PG_SOURCE_DIR) + "/proto"},
                                     stack.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_GE(report.ok, 20) << "every check in grpc_session.py reports OK";
}
