// Test keys made by Debian's ssh-keygen (openssh-client) and openssl, for the key-auth tests.
#pragma once

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "support/shell.hpp"
#include "value/base64.hpp"

namespace pg::test {

/// `ssh-keygen -t <type_args>` into dir/name (+ .pub); `format` "" (OpenSSH), "PEM" or "PKCS8".
inline std::string keygen(const std::string& dir, const std::string& name, const std::string& type_args,
                          const std::string& format = "", const std::string& passphrase = "") {
  const std::string path = dir + "/" + name;
  run_cmd("ssh-keygen -q -t " + type_args + " -N '" + passphrase + "' -C test" +
          (format.empty() ? "" : " -m " + format) + " -f " + path);
  return path;
}

/// An Ed25519 key in PKCS#8 PEM (ssh-keygen neither writes nor reads those), with a .pub
/// built from the raw public key openssl prints (the last 32 bytes of its DER SubjectPublicKeyInfo).
inline std::string openssl_ed25519(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  run_cmd("openssl genpkey -algorithm ed25519 -out " + path + " && chmod 600 " + path);
  run_cmd("openssl pkey -in " + path + " -pubout -outform DER -out " + path + ".der");
  const std::string der = read_text(path + ".der");
  if (der.size() < 32) throw std::runtime_error("short Ed25519 public key");
  std::string blob;
  for (std::string_view part : {std::string_view("ssh-ed25519"), std::string_view(der).substr(der.size() - 32)}) {
    for (int s = 24; s >= 0; s -= 8) blob.push_back(static_cast<char>((part.size() >> s) & 0xff));
    blob.append(part);
  }
  std::ofstream(path + ".pub") << "ssh-ed25519 " << pg::base64_encode(blob) << " test\n";
  return path;
}

/// "<type> <base64>" of a .pub file (comment dropped).
inline std::string pub_line(const std::string& key_path) {
  std::istringstream in(read_text(key_path + ".pub"));
  std::string type, b64;
  in >> type >> b64;
  return type + " " + b64;
}

/// "SHA256:..." as ssh-keygen -l prints it.
inline std::string fingerprint(const std::string& key_path) {
  std::istringstream in(run_cmd("ssh-keygen -l -f " + key_path + ".pub"));
  std::string bits, fp;
  in >> bits >> fp;
  return fp;
}

inline void chmod_file(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) throw std::runtime_error("chmod failed: " + path);
}

}  // namespace pg::test
