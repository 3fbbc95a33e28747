// `pie-gateway --check-config` on files that cannot be read safely (issue 14, item 5): each one
// exits 2 on its own, soon, with an error naming file:line:column and the field. A run that has not
// exited after 20 s is killed (by the Process handle) and fails the test.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <fstream>
#include <sstream>
#include <string>

#include "support/process.hpp"

using namespace std::chrono_literals;
using pg::test::Process;

namespace {

const char* kServersHead = "servers:\n  - name: a\n    uri: ws://127.0.0.1:9/\n";
const char* kEndpoint = "endpoints:\n  - {name: echo, kind: get, inferlet: std/echo@0.1.0}\n";

struct Outcome {
  std::optional<int> status;
  std::string err;
};

Outcome check(const std::string& dir, const std::string& name, const std::string& yaml) {
  const std::string cfg = dir + "/" + name + ".yaml";
  pg::test::write_file(cfg, yaml);
  const std::string err_path = dir + "/" + name + ".err";
  Outcome o;
  {
    Process p({pg::test::binary_path("pie-gateway"), "--check-config", "--config", cfg}, err_path);
    o.status = p.wait(20s);  // nullopt: still running; the handle kills it
  }
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  o.err = ss.str();
  return o;
}

void expect_refused(const Outcome& o, const std::string& needle) {
  ASSERT_TRUE(o.status.has_value()) << "--check-config did not exit within 20 s";
  EXPECT_EQ(*o.status, 2) << o.err;
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
}

}  // namespace

TEST(ConfigCheck, TokenFileOnDevZeroExitsAtOnce) {
  const auto dir = pg::test::temp_dir();
  auto o = check(dir, "zero", std::string(kServersHead) + "    auth: {kind: token, token_file: /dev/zero}\n" + kEndpoint);
  expect_refused(o, dir + "/zero.yaml:4:37: servers[0].auth.token_file: '/dev/zero' is not a regular file (a "
                          "character device): only a regular file of at most 64 KiB is read");
}

TEST(ConfigCheck, TokenFileOnFifoDoesNotWaitForAWriter) {
  const auto dir = pg::test::temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  auto o = check(dir, "fifo", std::string(kServersHead) + "    auth: {kind: token, token_file: fifo}\n" + kEndpoint);
  expect_refused(o, dir + "/fifo.yaml:4:37: servers[0].auth.token_file: '" + dir + "/fifo' is not a regular file (a FIFO)");
}

TEST(ConfigCheck, DuplicateKeyNamesBothLines) {
  const auto dir = pg::test::temp_dir();
  auto o = check(dir, "dup", std::string(kServersHead) + "    uri: ws://127.0.0.1:10/\n" + kEndpoint);
  expect_refused(o, dir + "/dup.yaml:4:5: servers[0].uri: duplicate key: 'uri' is already set on line 3");
}

TEST(ConfigCheck, SecondDocumentIsRefused) {
  const auto dir = pg::test::temp_dir();
  auto o = check(dir, "two", std::string(kServersHead) + kEndpoint + "---\n" + kServersHead);
  expect_refused(o, dir + "/two.yaml:7:1: (document): a second YAML document");
}

TEST(ConfigCheck, ZeroTimeoutIsRefusedWithTheRange) {
  const auto dir = pg::test::temp_dir();
  auto o = check(dir, "zero_timeout", std::string("limits:\n  read_timeout: 0s\n") + kServersHead + kEndpoint);
  expect_refused(o, dir + "/zero_timeout.yaml:2:17: limits.read_timeout: must be from 100ms to 1h (got '0s')");
}
