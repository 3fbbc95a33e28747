// Certificates for the wss:// tests, made by the openssl command line at test time: a test CA,
// server certificates it signs (for 127.0.0.1 + localhost, or only for another name), and a
// self-signed one the CA did not sign. EC P-256 keys: quick to make.
#pragma once

#include <fstream>
#include <string>

#include "support/shell.hpp"

namespace pg::test {

struct PieTlsCerts {
  std::string dir;
  std::string ca;           // the test CA's certificate (what ca_file names)
  std::string server_cert;  // signed by the CA, SAN IP:127.0.0.1 + DNS:localhost
  std::string server_key;
  std::string other_cert;   // self-signed, same SANs: not from the CA
  std::string other_key;
  std::string elsewhere_cert;  // signed by the CA, only for DNS:pie.example
  std::string elsewhere_key;
};

namespace pie_tls_detail {

inline std::string key(const std::string& path) {
  run_cmd("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + path);
  return path;
}

/// A CSR for `cn` signed by the CA with `section` of the extensions file.
inline void sign(const PieTlsCerts& c, const std::string& name, const std::string& cn, const std::string& section,
                 int serial) {
  const std::string base = c.dir + "/" + name;
  run_cmd("openssl req -new -key " + base + ".key -subj /CN=" + cn + " -config " + c.dir + "/x509.cnf -out " + base +
      ".csr");
  run_cmd("openssl x509 -req -in " + base + ".csr -CA " + c.ca + " -CAkey " + c.dir + "/ca.key -set_serial " +
      std::to_string(serial) + " -days 2 -extfile " + c.dir + "/x509.cnf -extensions " + section + " -out " + base +
      ".pem");
}

}  // namespace pie_tls_detail

/// Makes every file of PieTlsCerts in `dir` (which must exist).
inline PieTlsCerts make_pie_tls_certs(const std::string& dir) {
  using pie_tls_detail::key;
    PieTlsCerts c;
  c.dir = dir;
  std::ofstream(dir + "/x509.cnf") << "[req]\ndistinguished_name = dn\n[dn]\n"
                                      "[ca]\nbasicConstraints = critical,CA:TRUE\n"
                                      "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
                                      "[server]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
                                      "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
                                      "[elsewhere]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n"
                                      "subjectAltName = DNS:pie.example\n";
  key(dir + "/ca.key");
  c.ca = dir + "/ca.pem";
  run_cmd("openssl req -new -x509 -key " + dir + "/ca.key -subj /CN=pie-gateway-test-ca -days 2 -config " + dir +
      "/x509.cnf -extensions ca -out " + c.ca);
  c.server_key = key(dir + "/server.key");
  pie_tls_detail::sign(c, "server", "127.0.0.1", "server", 2);
  c.server_cert = dir + "/server.pem";
  c.elsewhere_key = key(dir + "/elsewhere.key");
  pie_tls_detail::sign(c, "elsewhere", "pie.example", "elsewhere", 3);
  c.elsewhere_cert = dir + "/elsewhere.pem";
  c.other_key = key(dir + "/other.key");
  c.other_cert = dir + "/other.pem";
  run_cmd("openssl req -new -x509 -key " + c.other_key + " -subj /CN=127.0.0.1 -days 2 -config " + dir +
      "/x509.cnf -extensions server -out " + c.other_cert);
  return c;
}

}  // namespace pg::test
