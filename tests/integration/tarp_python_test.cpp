// An unchanged-style TARP Python client (tests/python/tarp_client.py, written from the protocol
// notes) drives the real daemon: discovery, GET, POST, RPC, async RPC through wait/probe/
// waitCycle, failures, unknown ids, built-ins and eviction. Each check prints OK/FAIL.
#include <gtest/gtest.h>

#include "support/script_checks.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;

namespace {

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_async, kind: get, async: true, suggested_wait: 100ms, inferlet: std/echo@0.1.0,
     params: [{name: text}], arguments: ["{text}"]}
  - name: complete
    kind: post
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"]}
  - {name: echo_rpc_kw, kind: rpc, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: json_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"], result: json}
  - {name: sleep_async, kind: asyncrpc, inferlet: std/sleep@0.1.0, suggested_wait: 100ms,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - {name: fail_async, kind: asyncrpc, inferlet: std/fail@0.1.0, suggested_wait: 100ms}
jobs:
  retention: 3s
)";

}  // namespace

TEST(TarpPythonClient, UnchangedClientSessionWorks) {
  pg::test::StackOptions o;
  o.endpoints_yaml = kEndpoints;
  pg::test::Stack stack(o);
  auto report = pg::test::run_checks({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/tarp_session.py",
                                      "http://127.0.0.1:" + std::to_string(stack.http_port)},
                                     stack.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << stack.dir << "/python.log";
  EXPECT_GE(report.ok, 16) << "every scenario in tarp_session.py reports OK";
}
