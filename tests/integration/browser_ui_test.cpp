// The /ui page in a real browser: Debian's headless Chromium, driven by playwright-core (npm,
// tests/browser/) through tests/browser/ui_test.mjs, against real pie-sim and pie-gateway.
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>

#include <fstream>
#include <sstream>

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

TEST(BrowserUi, EchoCompleteAsyncJobsAndCancelInHeadlessChromium) {
  const std::string src = PG_SOURCE_DIR;
  const std::string script = src + "/tests/browser/ui_test.mjs";
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0) << "Debian's chromium is missing: run tools/install-deps.sh";
  ASSERT_EQ(access((src + "/tests/browser/node_modules/playwright-core/package.json").c_str(), R_OK), 0)
      << "playwright-core is missing: run tools/install-deps.sh (npm ci in tests/browser)";
  pg::test::StackOptions o;
  o.endpoints_yaml = kEndpoints;
  o.sim_args = {"--token-delay-ms", "40"};
  pg::test::Stack stack(o);
  const std::string url = "http://127.0.0.1:" + std::to_string(stack.http_port);
  // The script bounds itself (every wait has a timeout, 90 s overall); its report is on stdout.
  pg::test::Process node({"/usr/bin/node", script, url, stack.dir}, stack.dir + "/browser.log");
  std::string report;
  for (int i = 0; i < 2000; ++i) {
    auto line = node.read_line(120s);
    if (!line) break;
    report += *line + "\n";
  }
  auto status = node.wait(10s);
  if (!status) node.signal(SIGKILL);
  EXPECT_EQ(status.value_or(-1), 0) << "browser test report:\n"
                                    << report << "\nbrowser log:\n"
                                    << read_file(stack.dir + "/browser.log") << "\ngateway log (tail):\n"
                                    << stack.gateway_log().substr(stack.gateway_log().size() > 4000 ? stack.gateway_log().size() - 4000 : 0);
  EXPECT_NE(report.find("ok: all browser checks passed"), std::string::npos) << report;
}

}  // namespace
