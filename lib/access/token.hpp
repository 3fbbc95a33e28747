// Client tokens: how they are made, hashed and compared. The gateway keeps only SHA-256 digests.
#pragma once

#include <string>
#include <string_view>

namespace pg::access {

/// 32 random bytes (OpenSSL's RAND_bytes) as "pgt_" + unpadded base64url: 47 characters that
/// survive URLs (user:TOKEN@host), headers and ~/.netrc unquoted.
std::string new_token();
/// The 32 raw bytes of SHA-256(`data`).
std::string sha256(std::string_view data);
/// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);
/// Equal length and bytes, in time that depends only on the length (CRYPTO_memcmp).
bool same_secret(std::string_view a, std::string_view b);

}  // namespace pg::access
