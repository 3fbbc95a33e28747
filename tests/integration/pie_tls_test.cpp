// wss:// towards Pie: the real daemon in front of `pie-sim --tls-cert/--tls-key` (both protocol
// lines), with certificates made by openssl at test time. A trusted certificate naming the host
// serves calls end to end; an untrusted one (the wrong CA, or the system store that does not know
// the test CA) or one for another name never makes the server ready: calls get the usual 503, the
// log and gateway/servers name the verification failure, and the daemon keeps running.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "support/pie_tls_certs.hpp"
#include "support/stack.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using pg::test::HttpClient;
using pg::test::PieTlsCerts;
using pg::test::Stack;
using pg::test::StackOptions;

namespace {

const char* kEcho =
    "  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}\n";

const PieTlsCerts& certs() {
  static const PieTlsCerts c = [] {
    const auto dir = pg::test::temp_dir();
    return pg::test::make_pie_tls_certs(dir);
  }();
  return c;
}

std::vector<std::string> sim_tls(const std::string& cert, const std::string& key, const std::string& protocol = "0.2") {
  return {"--tls-cert", cert, "--tls-key", key, "--protocol", protocol};
}

/// One server entry named `name` on the sim's port; `extra` lines follow the uri.
std::string server(const std::string& name, const std::string& uri, const std::string& extra = "") {
  return "  - name: " + name + "\n    uri: " + uri + "\n    connect_timeout: 1s\n" + extra;
}

json servers_view(const Stack& s) {
  HttpClient c(s.http_port);
  return json::parse(c.get("/gateway/servers").body, nullptr, false)["result"];
}

/// Waits (bounded) until server `name` of gateway/servers has a last_error, and returns it.
std::string last_error_of(const Stack& s, const std::string& name) {
  for (int i = 0; i < 200; ++i) {
    for (const auto& v : servers_view(s))
      if (v.value("name", "") == name && !v.value("last_error", "").empty()) return v.value("last_error", "");
    std::this_thread::sleep_for(25ms);
  }
  return "(no last_error for " + name + ": " + servers_view(s).dump() + ")";
}

/// No server gets ready: calls are the usual 503, and the daemon lives on.
void expect_never_ready(Stack& s) {
  auto c = s.client();
  EXPECT_EQ(c.get("/readyz").status, 503);
  auto r = c.get("/echo?text=x");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false).value("type", ""), "InvalidServerState") << r.body;
  EXPECT_TRUE(s.gateway->running());
  EXPECT_EQ(c.get("/healthz").status, 200);
}

void expect_echo(Stack& s) {
  auto c = s.client();
  auto r = c.get("/echo?text=over-tls");
  ASSERT_EQ(r.status, 200) << r.body << "\n" << s.gateway_log();
  EXPECT_EQ(json::parse(r.body, nullptr, false)["result"], "over-tls") << r.body;
}

}  // namespace

TEST(PieTls, CallOverWss02WithCaFile) {
  StackOptions o;
  o.sim_args = sim_tls(certs().server_cert, certs().server_key);
  o.servers_yaml = "servers:\n" + server("sim", "wss://127.0.0.1:@PORT@/", "    ca_file: " + certs().ca + "\n");
  o.endpoints_yaml = kEcho;
  Stack s(o);
  expect_echo(s);
  auto view = servers_view(s);
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view[0]["uri"].get<std::string>().rfind("wss://127.0.0.1:", 0), 0u) << view.dump();
  // An IP literal: the certificate's IP SAN is checked, no SNI is sent.
  const auto sim_log = pg::test::read_text(s.dir + "/pie-sim.log");
  EXPECT_NE(sim_log.find("(SNI none)"), std::string::npos) << sim_log;
  EXPECT_NE(sim_log.find("TLSv1."), std::string::npos) << sim_log;
}

TEST(PieTls, CallOverWss05WithCaFileAndHostName) {
  // wss://localhost: SNI carries the name and the certificate's DNS SAN must match it.
  StackOptions o;
  o.sim_args = sim_tls(certs().server_cert, certs().server_key, "0.5");
  o.servers_yaml = "servers:\n" + server("sim", "wss://localhost:@PORT@/", "    protocol: \"0.5\"\n    ca_file: " + certs().ca + "\n");
  o.endpoints_yaml = kEcho;
  Stack s(o);
  expect_echo(s);
  const auto sim_log = pg::test::read_text(s.dir + "/pie-sim.log");
  EXPECT_NE(sim_log.find("(SNI localhost)"), std::string::npos) << sim_log;
}

TEST(PieTls, CertificateFromAnotherCaNeverGetsReady) {
  // A self-signed certificate (right names, wrong issuer) against ca_file: verification fails.
  StackOptions o;
  o.sim_args = sim_tls(certs().other_cert, certs().other_key);
  o.servers_yaml = "servers:\n" + server("untrusted", "wss://127.0.0.1:@PORT@/", "    ca_file: " + certs().ca + "\n");
  o.endpoints_yaml = kEcho;
  o.wait_ready = false;
  Stack s(o);
  const auto error = last_error_of(s, "untrusted");
  EXPECT_NE(error.find("certificate verification failed"), std::string::npos) << error;
  EXPECT_NE(error.find("trusting ca_file " + certs().ca), std::string::npos) << error;
  expect_never_ready(s);
  const auto log = s.gateway_log();
  EXPECT_NE(log.find("pie server untrusted"), std::string::npos) << log;
  EXPECT_NE(log.find("certificate verification failed: self-signed certificate"), std::string::npos) << log;
}

TEST(PieTls, SystemStoreDoesNotTrustTheTestCa) {
  // No ca_file: the system store, which has never heard of the test CA.
  StackOptions o;
  o.sim_args = sim_tls(certs().server_cert, certs().server_key, "0.5");
  o.servers_yaml = "servers:\n" + server("sys", "wss://127.0.0.1:@PORT@/", "    protocol: \"0.5\"\n");
  o.endpoints_yaml = kEcho;
  o.wait_ready = false;
  Stack s(o);
  const auto error = last_error_of(s, "sys");
  EXPECT_NE(error.find("certificate verification failed: unable to get local issuer certificate (trusting the "
                       "system store)"),
            std::string::npos)
      << error;
  expect_never_ready(s);
}

TEST(PieTls, CertificateForAnotherNameFailsVerification) {
  // The CA's certificate for pie.example only, reached as localhost and as 127.0.0.1.
  StackOptions o;
  o.sim_args = sim_tls(certs().elsewhere_cert, certs().elsewhere_key);
  const std::string ca = "    ca_file: " + certs().ca + "\n";
  o.servers_yaml = "servers:\n" + server("byname", "wss://localhost:@PORT@/", ca) +
                   server("byip", "wss://127.0.0.1:@PORT@/", ca);
  o.endpoints_yaml = kEcho;
  o.wait_ready = false;
  Stack s(o);
  const auto by_name = last_error_of(s, "byname"), by_ip = last_error_of(s, "byip");
  EXPECT_NE(by_name.find("certificate verification failed: hostname mismatch"), std::string::npos) << by_name;
  EXPECT_NE(by_ip.find("certificate verification failed: IP address mismatch"), std::string::npos) << by_ip;
  expect_never_ready(s);
}

TEST(PieTls, WssToAPlainServerFailsClearly) {
  // A plain pie-sim behind a wss:// uri: the TLS handshake fails, naming the likely cause.
  StackOptions o;
  o.servers_yaml = "servers:\n" + server("plain", "wss://127.0.0.1:@PORT@/", "    ca_file: " + certs().ca + "\n");
  o.endpoints_yaml = kEcho;
  o.wait_ready = false;
  Stack s(o);
  const auto error = last_error_of(s, "plain");
  EXPECT_NE(error.find("TLS handshake with 127.0.0.1:" + std::to_string(s.sim_port) + " failed"), std::string::npos)
      << error;
  expect_never_ready(s);
}
