// Job ids: random UUID v4, held as 16 bytes (a job table of 100,000 entries should not pay for
// three heap-allocated 36-character strings per job), printed in the canonical form.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pg::jobs {

struct JobId {
  std::uint64_t hi = 0, lo = 0;

  static JobId random();
  /// Canonical "8-4-4-4-12" hex, either case; nullopt for anything else.
  static std::optional<JobId> parse(std::string_view text);
  std::string str() const;

  friend bool operator==(const JobId& a, const JobId& b) { return a.hi == b.hi && a.lo == b.lo; }
};

struct JobIdHash {
  std::size_t operator()(const JobId& id) const { return std::hash<std::uint64_t>{}(id.hi ^ (id.lo * 0x9e3779b97f4a7c15ULL)); }
};

}  // namespace pg::jobs
