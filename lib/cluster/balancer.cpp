#include "cluster/balancer.hpp"

#include <cstdint>

namespace pg::cluster {

int pick_least_loaded(const std::vector<Candidate>& c, std::mt19937& rng) {
  if (c.empty()) return -1;
  // outstanding/weight compared without division: a/wa < b/wb  <=>  a*wb < b*wa.
  auto less = [](const Candidate& a, const Candidate& b) {
    return static_cast<std::uint64_t>(a.outstanding) * b.weight < static_cast<std::uint64_t>(b.outstanding) * a.weight;
  };
  std::size_t best = 0;
  for (std::size_t i = 1; i < c.size(); ++i)
    if (less(c[i], c[best])) best = i;
  // Among the equally loaded, a weighted random choice.
  std::uint64_t total = 0;
  for (const auto& x : c)
    if (!less(c[best], x) && !less(x, c[best])) total += x.weight;
  std::uniform_int_distribution<std::uint64_t> d(0, total - 1);
  std::uint64_t r = d(rng);
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (less(c[best], c[i]) || less(c[i], c[best])) continue;
    if (r < c[i].weight) return static_cast<int>(i);
    r -= c[i].weight;
  }
  return static_cast<int>(best);
}

}  // namespace pg::cluster
