// HTTPS on listen.http and TLS on listen.grpc (`tls:`): certificates made with openssl at test
// time (tests/python/test_pki.py); curl, requests, the TARP client, SSE, Python grpc, client
// certificates, hostile bytes and a SIGHUP rotation against the real daemon
// (tests/python/tls_front.py); required client certificates; --check-config on bad tls: files;
// the key's passphrase in no log.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/process.hpp"
#include "support/script_checks.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;

namespace {

const char* kPassphrase = "pg-test-passphrase-7f3a9c";  // must never reach a log

const char* kEndpoints = R"(
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"]}
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"]}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
  - name: complete
    kind: post
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "4"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
)";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A CA, two server certificates, a client certificate and friends (test_pki.py) under DIR/pki.
std::string make_pki(const std::string& dir) {
  const std::string pki = dir + "/pki";
  pg::test::Process p({"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/test_pki.py", pki, kPassphrase},
                      dir + "/pki.log");
  if (!p.wait_for_line("pki ready", 60s)) throw std::runtime_error("test_pki.py failed: " + slurp(dir + "/pki.log"));
  p.wait(10s);
  return pki;
}

/// The exit status of a command (stdout dropped, stderr to `log`), bounded in time.
int run_status(const std::vector<std::string>& argv, const std::string& log) {
  pg::test::Process p(argv, log);
  for (int i = 0; i < 1000 && p.read_line(30s); ++i) {
  }
  return p.wait(30s).value_or(-1);
}

std::string tls_section(const std::string& cert, const std::string& key, const std::string& extra) {
  return "tls:\n  cert_file: " + cert + "\n  key_file: " + key + "\n" + extra;
}

}  // namespace

TEST(TlsFront, HttpsGrpcClientCertificatesAndRotation) {
  const std::string dir = pg::test::temp_dir();
  const std::string pki = make_pki(dir);
  // The files tls: names, which the script replaces before its SIGHUP: server1, key encrypted.
  const std::string live = dir + "/live";
  std::filesystem::create_directories(live);
  std::filesystem::copy_file(pki + "/server1.pem", live + "/server.pem");
  std::filesystem::copy_file(pki + "/server1-enc.key", live + "/server.key");

  pg::test::StackOptions o;
  o.grpc = true;
  o.listen_extra = "  admin: 127.0.0.1:0\n";
  o.ready_on_admin = true;
  o.endpoints_yaml = std::string(kEndpoints) +
                     tls_section(live + "/server.pem", live + "/server.key",
                                 "  key_password_file: " + pki + "/password.txt\n  client_ca_file: " + pki + "/ca.pem\n") +
                     "limits:\n  read_timeout: 1500ms\n";  // shorter than the slow calls: it bounds reads, not answers
  pg::test::Stack s(o);
  auto report = pg::test::run_checks(
      {"/usr/bin/python3", std::string(PG_SOURCE_DIR) + "/tests/python/tls_front.py",
       "https://127.0.0.1:" + std::to_string(s.http_port), "127.0.0.1:" + std::to_string(s.grpc_port),
       "http://127.0.0.1:" + std::to_string(s.admin_port), pki, live, std::string(PG_SOURCE_DIR) + "/proto",
       std::to_string(s.gateway->pid()), s.dir + "/gateway.log"},
      s.dir + "/python.log");
  for (const auto& f : report.failed) ADD_FAILURE() << f;
  EXPECT_EQ(report.status, 0) << "see " << s.dir << "/python.log and " << s.dir << "/gateway.log";
  EXPECT_GE(report.ok, 16) << "every check in tls_front.py reports OK";
  EXPECT_TRUE(s.gateway->running()) << s.gateway_log();
  const std::string log = s.gateway_log();
  EXPECT_NE(log.find("TLS on listen.http and listen.grpc: certificate subject CN=gateway-1"), std::string::npos) << log;
  s.gateway->signal(SIGTERM);
  EXPECT_EQ(s.gateway->wait(30s), 0) << "a clean exit (no leak, no sanitizer report): " << s.gateway_log();
  for (const auto& f : {s.dir + "/gateway.log", s.dir + "/python.log", s.dir + "/pie-sim.log"})
    EXPECT_EQ(slurp(f).find(kPassphrase), std::string::npos) << "the key's passphrase is in " << f;
}

TEST(TlsFront, RequiredClientCertificate) {
  const std::string dir = pg::test::temp_dir();
  const std::string pki = make_pki(dir);
  pg::test::StackOptions o;
  o.listen_extra = "  admin: 127.0.0.1:0\n";
  o.ready_on_admin = true;
  o.endpoints_yaml = std::string(kEndpoints) + tls_section(pki + "/server1.pem", pki + "/server1.key",
                                                           "  client_ca_file: " + pki + "/ca.pem\n"
                                                           "  require_client_cert: true\n");
  pg::test::Stack s(o);
  const std::string url = "https://127.0.0.1:" + std::to_string(s.http_port) + "/echo?text=x";
  const std::vector<std::string> curl{"/usr/bin/curl", "-sS", "--max-time", "20", "-o", "/dev/null", "--cacert",
                                      pki + "/ca.pem", "--fail", url};
  EXPECT_NE(run_status(curl, dir + "/curl1.log"), 0) << "a client without a certificate got through";
  auto with_cert = curl;
  with_cert.insert(with_cert.end(), {"--cert", pki + "/client.pem", "--key", pki + "/client.key"});
  EXPECT_EQ(run_status(with_cert, dir + "/curl2.log"), 0) << slurp(dir + "/curl2.log") << s.gateway_log();
  auto rogue = curl;
  rogue.insert(rogue.end(), {"--cert", pki + "/rogue.pem", "--key", pki + "/rogue.key"});
  EXPECT_NE(run_status(rogue, dir + "/curl3.log"), 0) << "a certificate from another CA got through";
  EXPECT_TRUE(s.gateway->running());
}

TEST(TlsFront, CheckConfigNamesTheBadFile) {
  const std::string dir = pg::test::temp_dir();
  const std::string pki = make_pki(dir);
  std::filesystem::copy_file(pki + "/password.txt", dir + "/wrong.txt");
  pg::test::write_file(dir + "/wrong.txt", "not-the-passphrase-2b1e\n");
  struct Case {
    std::string tls;
    std::vector<std::string> expect;  // in the error output
  };
  const std::vector<Case> cases{
      {tls_section(pki + "/server1.pem", dir + "/missing.key", ""),
       {"gateway.yaml:8:", "tls.key_file", "missing.key' cannot be opened"}},
      {tls_section(pki + "/server1.pem", pki + "/other.key", ""),
       {"tls.key_file", "does not match the certificate", "CN=gateway-1"}},
      {tls_section(pki + "/server1.pem", pki + "/server1-enc.key", ""),
       {"tls.key_file", "encrypted private key: set tls.key_password_file"}},
      {tls_section(pki + "/server1.pem", pki + "/server1-enc.key", "  key_password_file: " + dir + "/wrong.txt\n"),
       {"tls.key_password_file", "cannot be decrypted", "wrong password?"}},
      {tls_section(pki + "/ca.key", pki + "/server1.key", ""), {"tls.cert_file", "holds no PEM certificate"}},
      {tls_section(pki + "/server1.pem", pki + "/server1.key", "  require_client_cert: true\n"),
       {"tls.require_client_cert", "needs tls.client_ca_file"}},
      {tls_section(pki + "/server1.pem", pki + "/server1.key", "  client_ca_file: " + pki + "/other.key\n"),
       {"tls.client_ca_file", "holds no PEM certificate"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string cfg = dir + "/gateway.yaml";
    pg::test::write_file(cfg, "listen:\n  http: 127.0.0.1:0\nservers:\n  - {name: sim, uri: \"ws://127.0.0.1:1/\"}\n"
                              "endpoints: []\n" + cases[i].tls);
    const std::string err = dir + "/check" + std::to_string(i) + ".log";
    EXPECT_EQ(run_status({pg::test::binary_path("pie-gateway"), "--check-config", "--config", cfg}, err), 2) << i;
    const std::string out = slurp(err);
    for (const auto& e : cases[i].expect) EXPECT_NE(out.find(e), std::string::npos) << "case " << i << ": " << out;
    EXPECT_EQ(out.find("not-the-passphrase"), std::string::npos) << out;
    EXPECT_EQ(out.find(kPassphrase), std::string::npos) << out;
  }
  // And the good one, with the passphrase.
  pg::test::write_file(dir + "/gateway.yaml",
                       "listen:\n  http: 127.0.0.1:0\nservers:\n  - {name: sim, uri: \"ws://127.0.0.1:1/\"}\nendpoints: []\n" +
                           tls_section(pki + "/server1.pem", pki + "/server1-enc.key",
                                       "  key_password_file: " + pki + "/password.txt\n  client_ca_file: " + pki +
                                           "/ca.pem\n"));
  EXPECT_EQ(run_status({pg::test::binary_path("pie-gateway"), "--check-config", "--config", dir + "/gateway.yaml"},
                       dir + "/check-ok.log"),
            0)
      << slurp(dir + "/check-ok.log");
}

TEST(TlsFront, WithoutClientCasBothListenersHandshake) {
  // No client_ca_file: no client certificates asked for, on HTTP and gRPC alike.
  const std::string dir = pg::test::temp_dir();
  const std::string pki = make_pki(dir);
  pg::test::StackOptions o;
  o.grpc = true;
  o.listen_extra = "  admin: 127.0.0.1:0\n";
  o.ready_on_admin = true;
  o.endpoints_yaml = std::string(kEndpoints) + tls_section(pki + "/server1.pem", pki + "/server1.key", "");
  pg::test::Stack s(o);
  for (int port : {s.http_port, s.grpc_port}) {
    const std::string out = dir + "/s_client" + std::to_string(port) + ".out";
    pg::test::Process p({"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                         pki + "/ca.pem"},
                        out);
    EXPECT_TRUE(p.wait_for_line("Verify return code: 0 (ok)", 30s)) << "port " << port << ": " << slurp(out) << s.gateway_log();
  }
  const std::vector<std::string> curl{"/usr/bin/curl", "-sS", "--max-time", "20", "-o", "/dev/null", "--fail", "--cacert",
                                      pki + "/ca.pem", "https://127.0.0.1:" + std::to_string(s.http_port) + "/echo?text=x"};
  EXPECT_EQ(run_status(curl, dir + "/curl.log"), 0) << slurp(dir + "/curl.log");
  EXPECT_TRUE(s.gateway->running()) << s.gateway_log();
}
