#include "hash/blake3.hpp"

#include <blake3.h>

#include <array>

namespace pg::hash {

struct Blake3::State {
  blake3_hasher hasher;
};

namespace {
std::string to_hex(const std::array<std::uint8_t, BLAKE3_OUT_LEN>& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(out.size() * 2);
  for (auto b : out) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0xf]);
  }
  return hex;
}
}  // namespace

Blake3::Blake3() : state_(std::make_unique<State>()) { blake3_hasher_init(&state_->hasher); }
Blake3::~Blake3() = default;
Blake3::Blake3(Blake3&&) noexcept = default;
Blake3& Blake3::operator=(Blake3&&) noexcept = default;

void Blake3::update(std::string_view data) { blake3_hasher_update(&state_->hasher, data.data(), data.size()); }

std::string Blake3::hex() const {
  std::array<std::uint8_t, BLAKE3_OUT_LEN> out{};
  blake3_hasher_finalize(&state_->hasher, out.data(), out.size());
  return to_hex(out);
}

std::string blake3_hex(std::string_view data) {
  Blake3 h;
  h.update(data);
  return h.hex();
}

}  // namespace pg::hash
