// Values with their Python spelling, shared by the pickle tests (CPython pickles -> our reader, our
// writer -> CPython's pickle.loads).
#pragma once

#include <string>
#include <vector>

#include "value/value.hpp"

namespace pg::test {

struct CorpusCase {
  std::string name;     // identifier, no spaces
  std::string python;   // a Python 3 expression (may use nest(n) and shared(x) from kCorpusPrelude)
  value::Value value;   // what it must read as
};

inline constexpr const char* kCorpusPrelude = R"(
def nest(n):
    v = []
    for _ in range(n):
        v = [v]
    return v
def shared(x):
    return [x, x, (x,)]
)";

std::vector<CorpusCase> pickle_corpus();

}  // namespace pg::test
