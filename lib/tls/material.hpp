// The certificate, private key and client CA bundle the gateway's own listeners present (`tls:`):
// read from bounded files, parsed and checked with OpenSSL once, at configuration load, so that a
// bad file is a configuration error at start, at --check-config and on reload (which then keeps
// the running material). No OpenSSL types in this header.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

struct x509_st;  // OpenSSL's X509

namespace pg::tls {

/// Largest certificate chain or CA bundle file read (the private key file: kMaxSecretFileBytes).
inline constexpr std::size_t kMaxCertFileBytes = 1 << 20;
/// Most certificates taken from one chain or CA bundle.
inline constexpr std::size_t kMaxCertificates = 256;
/// Longest subject CN handed to the front doors (bytes of UTF-8).
inline constexpr std::size_t kMaxCommonNameBytes = 256;

struct Files {
  std::string cert_file;          // PEM: the server certificate, then its intermediates
  std::string key_file;           // PEM: its private key (PKCS#8, traditional; encrypted or not)
  std::string key_password_file;  // "" = the key is not encrypted
  std::string client_ca_file;     // "" = no client certificates are asked for
  bool require_client_cert = false;
};

/// Checked, re-encoded PEM for both TLS stacks (Asio/OpenSSL for HTTP, gRPC core).
struct Material {
  std::string cert_chain_pem;  // the leaf first
  std::string key_pem;         // unencrypted PKCS#8; wiped when the object goes
  std::string client_ca_pem;   // "" = no client certificates
  bool require_client_cert = false;
  std::string summary;         // "subject CN=gw, serial 1A2B, expires 2027-01-01" (for logs)

  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material();
};

/// What failed, and in which of the files (so the config error names that field).
struct LoadError {
  enum class Field { Cert, Key, KeyPassword, ClientCa };
  Field field;
  std::string message;
};

/// Reads and checks everything: the chain parses and its leaf has not expired, the key parses
/// (decrypted with the password file's first line) and matches the leaf, the CA bundle parses.
/// Error messages never contain the password or key bytes.
std::variant<std::shared_ptr<const Material>, LoadError> load(const Files& files);

/// The subject CN of `cert` when there is exactly one, it is valid UTF-8 of at most
/// kMaxCommonNameBytes without control characters; otherwise "". Callers pass only certificates
/// that the handshake verified.
std::string subject_cn(const x509_st* cert);
/// The same for a PEM certificate (gRPC hands the peer's certificate as PEM); "" if it does not parse.
std::string subject_cn_of_pem(std::string_view pem);

}  // namespace pg::tls
