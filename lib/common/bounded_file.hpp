// Reading a small file the gateway trusts no more than its other input (tokens, passphrases,
// private keys, the configuration, manifests): only a regular file, only up to a stated size.
// A FIFO, device or directory is refused without blocking on it.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.hpp"

namespace pg {

/// Secrets and keys: tokens, passphrases, SSH private keys.
inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;

/// The whole content of `path` if it is a regular file of at most `max_bytes`; otherwise an error
/// that is a sentence about the file naming the limit, e.g. "'/dev/zero' is not a regular file (a
/// character device): only a regular file of at most 64 KiB is read".
Result<std::string> read_bounded_file(const std::string& path, std::size_t max_bytes);

/// "64 KiB", "8 MiB", or "123 bytes".
std::string describe_bytes(std::size_t n);

}  // namespace pg
