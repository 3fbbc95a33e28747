// Choosing a server: least outstanding instances relative to weight, ties broken at random in
// proportion to weight (so an idle cluster still spreads launches by weight). Pure, testable.
#pragma once

#include <cstddef>
#include <random>
#include <vector>

namespace pg::cluster {

struct Candidate {
  std::size_t outstanding = 0;  // launching + running instances
  unsigned weight = 1;
};

/// Index into `c` of the chosen candidate, or -1 when `c` is empty.
int pick_least_loaded(const std::vector<Candidate>& c, std::mt19937& rng);

}  // namespace pg::cluster
