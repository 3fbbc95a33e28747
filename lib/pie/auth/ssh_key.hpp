// SSH private keys for Pie's public-key authentication (pie-v0.2.md, "Session start"): load
// once, sign each challenge. OpenSSL 3 EVP APIs only.
//
// Accepted files, all unencrypted unless noted:
// - OpenSSH ("-----BEGIN OPENSSH PRIVATE KEY-----", openssh-key-v1, parsed here). Encrypted
//   OpenSSH keys (bcrypt-pbkdf) are refused with a hint: OpenSSL cannot decrypt them.
// - PEM: PKCS#8 ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with a passphrase), PKCS#1
//   ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY"), the last two also with
//   "Proc-Type: 4,ENCRYPTED" and a passphrase.
// Key types and signatures: Ed25519 (plain), RSA >= 2048 bits (PKCS#1 v1.5, SHA-256), ECDSA
// P-256/SHA-256 and P-384/SHA-384 (DER). Anything else is refused when the key is loaded.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace pg::pie::auth {

class SshKey {
 public:
  /// Reads `path` after checking it as ssh does: a regular file that group and others can
  /// neither read nor write (else "... has mode 0644 ..."). Errors start with the file name.
  static Result<std::shared_ptr<const SshKey>> load_file(const std::string& path, const std::string& passphrase = {});
  /// Parses key file text (no permission check); `name` appears in error messages.
  static Result<std::shared_ptr<const SshKey>> parse(std::string_view text, const std::string& passphrase,
                                                     const std::string& name);

  /// The signature Pie expects over `message` (the raw challenge bytes), as raw bytes.
  Result<std::string> sign(std::string_view message) const;

  /// "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256" or "ecdsa-sha2-nistp384".
  const std::string& type() const { return type_; }
  /// The public key as one authorized-keys line: "<type> <base64 blob>".
  std::string public_key_line() const;
  /// "SHA256:<base64>", as `ssh-keygen -l` prints it: safe to log, identifies the key.
  const std::string& fingerprint() const { return fingerprint_; }

  SshKey(std::shared_ptr<evp_pkey_st> key, std::string type, std::string blob);

 private:
  std::shared_ptr<evp_pkey_st> key_;
  std::string type_;
  std::string blob_;  // OpenSSH public key blob
  std::string fingerprint_;
};

/// ssh's permission rule: `path` is a regular file with no group/other permission bits.
Result<bool> check_private_file_mode(const std::string& path);

}  // namespace pg::pie::auth
