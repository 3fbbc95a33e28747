// The gRPC API from a second language: tests/python/grpc_session.py (Debian's python3-grpcio,
// stubs generated at test time with grpc_tools.protoc) against the real daemon and pie-sim.
// Each check prints OK/FAIL.
#include <gtest/gtest.h>

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
groups:
  g1: [sim]
)";

}  // namespace

TEST(GrpcPythonClient, GeneratedPythonStubsDriveTheApi) {
  pg::test::StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.grpc = true;
  pg::test::Stack stack(o);
  pg::test::Process py({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/grpc_session.py",
                        "127.0.0.1:" + std::to_string(stack.grpc_port), std::string(PG_SOURCE_DIR) + "/proto"},
                       stack.dir + "/python.log");
  int ok = 0;
  std::vector<std::string> failed;
  for (int i = 0; i < 100; ++i) {
    auto line = py.read_line(60s);
    if (!line) break;
    if (line->rfind("OK ", 0) == 0) ++ok;
    else if (line->rfind("FAIL ", 0) == 0) failed.push_back(*line);
  }
  auto status = py.wait(30s);
  for (const auto& f : failed) ADD_FAILURE() << f;
  EXPECT_EQ(status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_GE(ok, 17) << "every check in grpc_session.py reports OK";
}
