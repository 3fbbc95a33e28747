// pg-loadgen (bench/loadgen) measures: a short run at a low rate in each mode against a real
// pie-sim + pie-gateway pair completes every call and reports sane, ordered latencies.
// No timing thresholds: this proves the tool works, not how fast anything is.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::Process;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

class Loadgen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StackOptions o;
    o.endpoints_yaml = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
)";
    stack_ = new Stack(o);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  // Runs pg-loadgen with `args` and returns its JSON line.
  static json run(std::vector<std::string> args) {
    std::vector<std::string> argv{pg::test::binary_path("pg-loadgen")};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, stack_->dir + "/loadgen.log");
    json j;
    for (;;) {
      auto line = p.read_line(30s);
      if (!line) break;
      if (!line->empty() && line->front() == '{') {
        j = json::parse(*line, nullptr, false);
        break;
      }
    }
    auto status = p.wait(15s);
    EXPECT_TRUE(status.has_value()) << "pg-loadgen did not exit";
    if (status) {
      EXPECT_EQ(*status, 0);
    }
    return j;
  }

  static void expect_sane(const json& j, double rate, double duration) {
    ASSERT_TRUE(j.is_object()) << "no JSON line from pg-loadgen";
    const auto sent = j.at("sent").get<std::uint64_t>();
    EXPECT_EQ(sent, static_cast<std::uint64_t>(rate * duration));
    EXPECT_EQ(j.at("ok").get<std::uint64_t>(), sent);
    EXPECT_EQ(j.at("errors").get<std::uint64_t>(), 0u);
    const double p50 = j.at("p50_us"), p90 = j.at("p90_us"), p99 = j.at("p99_us"), p999 = j.at("p999_us"),
                 max = j.at("max_us");
    EXPECT_GT(p50, 0);
    EXPECT_LE(p50, p90);
    EXPECT_LE(p90, p99);
    EXPECT_LE(p99, p999);
    EXPECT_LE(p999, max);
    EXPECT_GT(j.at("achieved_rate").get<double>(), 0);
  }

  static Stack* stack_;
};
Stack* Loadgen::stack_ = nullptr;

TEST_F(Loadgen, HttpModeThroughTheGateway) {
  const auto j = run({"--mode", "http", "--url",
                      "http://127.0.0.1:" + std::to_string(stack_->http_port) + "/echo?text=hello", "--connections",
                      "4", "--rate", "200", "--duration", "2", "--warmup", "0.2"});
  expect_sane(j, 200, 2);
  EXPECT_EQ(j.value("mode", ""), "http");
}

TEST_F(Loadgen, PieModeStraightToPieSim) {
  const auto j = run({"--mode", "pie", "--pie", "127.0.0.1:" + std::to_string(stack_->sim_port), "--sessions", "2",
                      "--inferlet", "std/echo@0.1.0", "--arg", "hello", "--rate", "200", "--duration", "2",
                      "--warmup", "0.2"});
  expect_sane(j, 200, 2);
  EXPECT_EQ(j.value("mode", ""), "pie");
}

TEST_F(Loadgen, FailedCallsAreCountedAsErrors) {
  // An unknown endpoint answers 404: every call is an error, none is ok.
  const auto j = run({"--mode", "http", "--url", "http://127.0.0.1:" + std::to_string(stack_->http_port) + "/nope",
                      "--connections", "2", "--rate", "100", "--duration", "0.5", "--warmup", "0"});
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.at("ok").get<std::uint64_t>(), 0u);
  EXPECT_EQ(j.at("errors").get<std::uint64_t>(), j.at("sent").get<std::uint64_t>());
  EXPECT_GT(j.at("sent").get<std::uint64_t>(), 0u);
}

TEST_F(Loadgen, RefusesNonLoopbackTargets) {
  Process p({pg::test::binary_path("pg-loadgen"), "--mode", "http", "--url", "http://192.0.2.1:80/", "--rate", "1",
             "--duration", "1"},
            stack_->dir + "/loadgen-refuse.log");
  auto status = p.wait(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 2);
}

}  // namespace
