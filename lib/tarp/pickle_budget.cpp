// The expanded size of an unpickled value, measured on the reader's object graph before the
// Value tree is built: memo references make a small pickle describe a huge value ([s] * n, or
// lists of lists of the same list), so each node is measured once and its size reused wherever
// it is referenced, and the result is refused before anything is copied.
#include <algorithm>

#include "common/expansion.hpp"
#include "tarp/pickle_graph.hpp"

namespace pg::tarp {

PickleLimits PickleLimits::for_budget(std::size_t budget) {
  PickleLimits l;
  l.max_output_bytes = budget;
  l.max_elements = std::max<std::size_t>(1024, budget / kExpansionFactor);
  l.limit_name = expansion_limit_name();
  return l;
}

namespace detail {

using value::Kind;
using value::Value;

std::size_t payload_bytes(const Value& v) {
  switch (v.kind()) {
    case Kind::Str: return v.as_str().size();
    case Kind::Bytes: return v.as_bytes().size();
    case Kind::BigInt: return v.as_bigint().limbs().size() * 4;
    default: return 0;
  }
}

bool Graph::measure(NodeId id, std::size_t depth, Size& out) {
  const Node& n = nodes_[id];
  if (measured_[id] == 2) {
    out = sizes_[id];
  } else if (n.kind == NodeKind::Scalar || n.kind == NodeKind::Builtin) {
    out = Size{1, n.kind == NodeKind::Scalar ? payload_bytes(scalars_[n.ref]) : 0, 0};
  } else {
    if (measured_[id] == 1) {
      err_ = "a " + type_name(id) + " contains itself; recursive structures are not supported";
      return false;
    }
    if (depth >= limits_.max_depth) {
      err_ = "the result is nested deeper than " + std::to_string(limits_.max_depth) + " levels (max_depth)";
      return false;
    }
    measured_[id] = 1;
    Size total{1, 0, 0};
    for (NodeId m : members_[n.ref]) {
      Size s;
      if (!measure(m, depth + 1, s)) return false;
      // Each sum stays below its limit (checked below), so it cannot overflow.
      total.values += s.values;
      total.bytes += s.bytes;
      total.height = std::max(total.height, s.height);
      if (total.values > limits_.max_elements || total.bytes > limits_.max_output_bytes) break;
    }
    ++total.height;
    measured_[id] = 2;
    sizes_[id] = total;
    out = total;
  }
  if (out.values > limits_.max_elements) {
    err_ = "the result would hold more than " + std::to_string(limits_.max_elements) + " values " +
           limit_name("max_elements") + " (shared references count each time)";
    return false;
  }
  if (out.bytes > limits_.max_output_bytes) {
    err_ = "the result would hold more than " + std::to_string(limits_.max_output_bytes) + " bytes " +
           limit_name("max_output_bytes") + " (shared references count each time)";
    return false;
  }
  if (depth + out.height > limits_.max_depth) {
    err_ = "the result is nested deeper than " + std::to_string(limits_.max_depth) + " levels (max_depth)";
    return false;
  }
  return true;
}

}  // namespace detail

}  // namespace pg::tarp
