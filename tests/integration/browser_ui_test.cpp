// The /ui page in a real browser: Debian's headless Chromium, driven by playwright-core (npm,
// tests/browser/) through tests/browser/ui_test.mjs, against real pie-sim and pie-gateway.
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>

#include <fstream>
#include <sstream>
#include <vector>

#include "support/stack.hpp"

using namespace std::chrono_literals;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Tokens come 40 ms apart (pie-sim --token-delay-ms): the page shows them one by one.
const char* kEndpoints = R"(
  - name: echo
    kind: get
    description: Echo the text back.
    inferlet: std/echo@0.1.0
    params: [{name: text, description: The text to echo.}]
    arguments: ["{text}"]
  - name: complete
    kind: get
    description: Complete a prompt.
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "24"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - name: sleep
    kind: get
    async: true
    suggested_wait: 200ms
    description: Sleep, then return (asynchronous).
    inferlet: std/sleep@0.1.0
    params: [{name: ms, type: int}]
    arguments: ["--ms", "{ms}"]
    timeout: 5m
  - {name: image, kind: get, description: A small PNG., inferlet: std/image@0.1.0, result: blob, content_type: image/png}
  - {name: chat, kind: session, description: Chat with an echo., inferlet: std/chat@0.1.0}
)";

/// Runs tests/browser/`script` with `args` against `stack`; every check must pass.
void run_browser(const std::string& script_name, const pg::test::Stack& stack, std::vector<std::string> args) {
  const std::string src = PG_SOURCE_DIR;
  const std::string script = src + "/tests/browser/" + script_name;
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0) << "Debian's chromium is missing: run tools/install-deps.sh";
  ASSERT_EQ(access((src + "/tests/browser/node_modules/playwright-core/package.json").c_str(), R_OK), 0)
      << "playwright-core is missing: run tools/install-deps.sh (npm ci in tests/browser)";
  std::vector<std::string> argv{"/usr/bin/node", script, "http://127.0.0.1:" + std::to_string(stack.http_port)};
  argv.insert(argv.end(), args.begin(), args.end());
  // The script bounds itself (every wait has a timeout, 90 s overall); its report is on stdout.
  pg::test::Process node(argv, stack.dir + "/browser.log");
  std::string report;
  for (int i = 0; i < 2000; ++i) {
    auto line = node.read_line(120s);
    if (!line) break;
    report += *line + "\n";
  }
  auto status = node.wait(10s);
  if (!status) node.signal(SIGKILL);
  const std::string log = stack.gateway_log();
  EXPECT_EQ(status.value_or(-1), 0) << "browser test report:\n"
                                    << report << "\nbrowser log:\n"
                                    << read_file(stack.dir + "/browser.log") << "\ngateway log (tail):\n"
                                    << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  EXPECT_NE(report.find("ok: all browser checks passed"), std::string::npos) << report;
}

TEST(BrowserUi, EchoCompleteAsyncJobsAndCancelInHeadlessChromium) {
  pg::test::StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.sim_args = {"--token-delay-ms", "40"};
  pg::test::Stack stack(o);
  run_browser("ui_test.mjs", stack, {stack.dir});
}

TEST(BrowserUi, WithAccessOnThePageAsksForATokenAndSendsItAsBearer) {
  // A token and its hash from `pie-gateway token`.
  pg::test::Process mint({pg::test::binary_path("pie-gateway"), "token", "--name", "alice"});
  const std::string token = mint.read_line(10s).value_or("");
  std::string hash;
  for (int i = 0; i < 5 && hash.empty(); ++i)
    if (auto line = mint.read_line(10s); line && line->find("token_sha256: ") != std::string::npos)
      hash = line->substr(line->find("token_sha256: ") + 14, 64);
  ASSERT_EQ(hash.size(), 64u);
  const std::string clients = pg::test::temp_dir() + "/clients.yaml";
  pg::test::write_file(clients, "clients:\n  - {name: alice, token_sha256: " + hash + "}\n");
  pg::test::StackOptions o;
  o.endpoints_yaml = std::string(kEndpoints) + "access:\n  clients_file: " + clients + "\n";
  pg::test::Stack stack(o);
  run_browser("ui_access_test.mjs", stack, {token, stack.dir});
  EXPECT_NE(stack.gateway_log().find("client=alice"), std::string::npos);
  EXPECT_EQ(stack.gateway_log().find(token), std::string::npos) << "the token is in the gateway's log";
}

}  // namespace
