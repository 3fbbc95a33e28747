// Private to lib/pie/auth: OpenSSL handle owners and the SSH wire encoding (RFC 4251 strings
// and mpints) shared by the OpenSSH key parser and the public-key blob writer.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/openssl_owner.hpp"
#include "common/result.hpp"

namespace pg::pie::auth::detail {

using PkeyPtr = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = OpensslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using BnPtr = OpensslPtr<BIGNUM, BN_clear_free>;
using BnCtxPtr = OpensslPtr<BN_CTX, BN_CTX_free>;
using ParamBldPtr = OpensslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using ParamPtr = OpensslPtr<OSSL_PARAM, OSSL_PARAM_free>;

/// Reads the fields of an SSH wire blob; every read is bounds-checked.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  std::optional<std::uint32_t> u32() {
    if (data_.size() < 4) return std::nullopt;
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data());
    data_.remove_prefix(4);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
  }
  std::optional<std::string_view> string() {
    auto n = u32();
    if (!n || data_.size() < *n) return std::nullopt;
    auto out = data_.substr(0, *n);
    data_.remove_prefix(*n);
    return out;
  }
  std::string_view rest() const { return data_; }

 private:
  std::string_view data_;
};

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}
inline void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
/// An mpint: big-endian, minimal, with a leading zero byte when the top bit is set.
inline void put_mpint(std::string& out, const BIGNUM* bn) {
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80)) bytes.insert(bytes.begin(), '\0');
  put_string(out, bytes);
}

/// A whole openssh-key-v1 file's text -> its (single, unencrypted) private key.
Result<PkeyPtr> parse_openssh_private(std::string_view text);

}  // namespace pg::pie::auth::detail
