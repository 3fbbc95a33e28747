#include "jobs/job_id.hpp"

#include <cstdio>
#include <random>

namespace pg::jobs {

JobId JobId::random() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  JobId id{rng(), rng()};
  id.hi = (id.hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  id.lo = (id.lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  return id;
}

std::string JobId::str() const {
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::optional<JobId> JobId::parse(std::string_view t) {
  if (t.size() != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-') return std::nullopt;
  JobId id;
  int nibbles = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    char c = t[i];
    unsigned v;
    if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') v = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    auto& half = nibbles < 16 ? id.hi : id.lo;
    half = (half << 4) | v;
    ++nibbles;
  }
  return id;
}

}  // namespace pg::jobs
