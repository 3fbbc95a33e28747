// wss:// Pie servers in the configuration: the uri form, `ca_file` (checked at load: a regular
// file of PEM CA certificates, resolved against the config's directory), and errors that name
// file, line and field.
#include <gtest/gtest.h>

#include <filesystem>

#include "config/loader.hpp"
#include "pie/transport/tls_client.hpp"
#include "support/pie_tls_certs.hpp"
#include "support/process.hpp"

using pg::config::load_file;
using pg::config::load_string;

namespace {

const pg::test::PieTlsCerts& certs() {
  static const pg::test::PieTlsCerts c = pg::test::make_pie_tls_certs(pg::test::temp_dir());
  return c;
}

std::string servers(const std::string& uri, const std::string& extra = "") {
  return "servers:\n  - name: a\n    uri: " + uri + "\n" + extra;
}

std::string error_of(const std::string& yaml) {
  auto c = load_string(yaml, "t.yaml");
  return c ? std::string("(loaded)") : c.error();
}

}  // namespace

TEST(PieTlsConfig, WssUriWithCaFile) {
  auto c = load_string(servers("wss://pie.lab:8443/pie", "    ca_file: " + certs().ca + "\n"), "t.yaml");
  ASSERT_TRUE(c) << c.error();
  const auto& s = c->servers.at(0);
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.host, "pie.lab");
  EXPECT_EQ(s.port, 8443);
  EXPECT_EQ(s.path, "/pie");
  EXPECT_EQ(s.ca_file, certs().ca);
  ASSERT_TRUE(s.tls_context);
  EXPECT_EQ(s.tls_context->trust(), "ca_file " + certs().ca);
}

TEST(PieTlsConfig, WssWithoutCaFileTrustsTheSystemStore) {
  auto c = load_string(servers("wss://[::1]:8443"), "t.yaml");
  ASSERT_TRUE(c) << c.error();
  const auto& s = c->servers.at(0);
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.host, "::1");
  EXPECT_EQ(s.path, "/");
  ASSERT_TRUE(s.tls_context);
  EXPECT_EQ(s.tls_context->trust(), "the system store");
}

TEST(PieTlsConfig, WsStaysPlain) {
  auto c = load_string(servers("ws://127.0.0.1:9000/"), "t.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(c->servers.at(0).tls);
  EXPECT_FALSE(c->servers.at(0).tls_context);
  EXPECT_NE(error_of(servers("http://127.0.0.1:9000/")).find("t.yaml:3:10: servers[0].uri: must start with ws:// or wss://"),
            std::string::npos)
      << error_of(servers("http://127.0.0.1:9000/"));
}

TEST(PieTlsConfig, CaFileOnlyForWss) {
  const auto e = error_of(servers("ws://127.0.0.1:9000/", "    ca_file: " + certs().ca + "\n"));
  EXPECT_NE(e.find("t.yaml:4:14: servers[0].ca_file: only for wss:// servers"), std::string::npos) << e;
}

TEST(PieTlsConfig, CaFileErrorsNameFileLineAndField) {
  const auto dir = pg::test::temp_dir();
  pg::test::write_file(dir + "/garbage.pem", "not a certificate\n");
  pg::test::write_file(dir + "/empty.pem", "");
  pg::test::write_file(dir + "/damaged.pem", "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n");
  pg::test::write_file(dir + "/key-only.pem", pg::test::read_text(certs().server_key));
  const std::string wss = "wss://127.0.0.1:9443/";
  struct Case {
    std::string ca_file, expect;
  };
  for (const auto& [file, expect] : std::vector<Case>{
           {dir + "/missing.pem", "'" + dir + "/missing.pem' cannot be opened: No such file or directory"},
           {"/dev/zero", "'/dev/zero' is not a regular file (a character device)"},
           {dir, "is not a regular file (a directory)"},
           {dir + "/garbage.pem", "'" + dir + "/garbage.pem' is not a PEM file of CA certificates OpenSSL accepts"},
           {dir + "/empty.pem", "'" + dir + "/empty.pem' is not a PEM file of CA certificates OpenSSL accepts"},
           {dir + "/damaged.pem", "'" + dir + "/damaged.pem' is not a PEM file of CA certificates OpenSSL accepts"},
           {dir + "/key-only.pem", "'" + dir + "/key-only.pem' is not a PEM file of CA certificates OpenSSL accepts"},
       }) {
    const auto e = error_of(servers(wss, "    ca_file: " + file + "\n"));
    EXPECT_NE(e.find("t.yaml:4:14: servers[0].ca_file: "), std::string::npos) << file << ": " << e;
    EXPECT_NE(e.find(expect), std::string::npos) << file << ": " << e;
  }
  const auto big = dir + "/big.pem";
  pg::test::write_file(big, std::string(pg::pie::transport::kMaxCaFileBytes + 1, 'x'));
  const auto e = error_of(servers(wss, "    ca_file: " + big + "\n"));
  EXPECT_NE(e.find("servers[0].ca_file: '" + big + "' is " + std::to_string(pg::pie::transport::kMaxCaFileBytes + 1) +
                   " bytes"),
            std::string::npos)
      << e;
  EXPECT_NE(error_of(servers(wss, "    ca_file: \"\"\n")).find("servers[0].ca_file: must name a PEM file"),
            std::string::npos);
}

TEST(PieTlsConfig, RelativeCaFileIsResolvedAgainstTheConfigDirectory) {
  const auto dir = pg::test::temp_dir();
  std::filesystem::create_directories(dir + "/pki");
  std::filesystem::copy_file(certs().ca, dir + "/pki/lab-ca.pem");
  pg::test::write_file(dir + "/gateway.yaml", servers("wss://127.0.0.1:9443/", "    ca_file: pki/lab-ca.pem\n"));
  auto c = load_file(dir + "/gateway.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->servers.at(0).ca_file, dir + "/pki/lab-ca.pem");
}
