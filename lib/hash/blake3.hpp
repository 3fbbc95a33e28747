// BLAKE3 digests as Pie uses them: lowercase hex of the 32-byte hash of a whole payload.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace pg::hash {

/// Lowercase hex BLAKE3 of `data` (64 characters).
std::string blake3_hex(std::string_view data);

/// Incremental hasher for payloads that arrive in chunks.
class Blake3 {
 public:
  Blake3();
  ~Blake3();
  Blake3(const Blake3&) = delete;
  Blake3& operator=(const Blake3&) = delete;
  Blake3(Blake3&&) noexcept;
  Blake3& operator=(Blake3&&) noexcept;

  void update(std::string_view data);
  /// Lowercase hex of everything given so far; the hasher can keep going afterwards.
  std::string hex() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pg::hash
