// Authentication helpers for pie-sim: base64, challenges, OpenSSH public keys, and the
// authorized-users TOML file. Signature checks use OpenSSL 3 (no deprecated APIs).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace pie_sim::auth {

std::string base64_encode(std::string_view bytes);
/// Standard alphabet, padding optional; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
/// Cryptographically random bytes (OpenSSL RAND_bytes).
std::string random_bytes(std::size_t n);

/// One OpenSSH public key ("ssh-ed25519 AAAA... comment", "ssh-rsa ...", "ecdsa-sha2-nistp256|384 ...").
class PublicKey {
 public:
  static pg::Result<PublicKey> parse(std::string_view openssh_line);
  /// Ed25519: plain; RSA: PKCS#1 v1.5 SHA-256; ECDSA P-256/SHA-256, P-384/SHA-384 (DER).
  bool verify(std::string_view message, std::string_view signature) const;
  const std::string& type() const { return type_; }

 private:
  std::shared_ptr<evp_pkey_st> key_;
  std::string type_;
};

/// Users and their named keys. Two TOML layouts are accepted:
///   Pie's own:   [users.alice.keys]  laptop = "ssh-ed25519 AAAA..."
///   short form:  [alice]             laptop = "ssh-ed25519 AAAA..."
class AuthorizedUsers {
 public:
  static pg::Result<AuthorizedUsers> load_file(const std::string& path);
  static pg::Result<AuthorizedUsers> parse(std::string_view toml_text);

  bool has_user(std::string_view user) const { return users_.find(user) != users_.end(); }
  /// True if any of the user's keys verifies `signature` over `challenge`.
  bool verify(std::string_view user, std::string_view challenge, std::string_view signature) const;
  std::size_t size() const { return users_.size(); }

 private:
  std::map<std::string, std::vector<PublicKey>, std::less<>> users_;
};

}  // namespace pie_sim::auth
