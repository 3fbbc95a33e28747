// The pickle reader's object graph (private to lib/tarp/pickle_*.cpp). Pickles may share and even nest
// objects through the memo, so the reader builds nodes that refer to each other by index and only
// turns the finished graph into a Value tree at STOP, under the element, byte and depth limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "tarp/pickle.hpp"
#include "value/value.hpp"

namespace pg::tarp::detail {

enum class NodeKind : std::uint8_t { Scalar, List, Tuple, Dict, Set, FrozenSet, Builtin };

/// The only callables a pickle may name: what CPython uses for bytes, bytearray, set and frozenset
/// under protocols 0-3.
enum class Builtin : std::uint8_t { CodecsEncode, Bytes, ByteArray, Set, FrozenSet };

using NodeId = std::uint32_t;

/// The bytes a scalar counts against max_output_bytes: str/bytes payload, a big int's limbs.
std::size_t payload_bytes(const value::Value& v);

class Graph {
 public:
  explicit Graph(const PickleLimits& limits);

  // Interned scalars (not counted against the element limit).
  static constexpr NodeId kNone = 0, kTrue = 1, kFalse = 2;

  /// New nodes; false (with `err`) past the element limit.
  bool scalar(value::Value v, NodeId& id, std::string& err);
  bool container(NodeKind kind, std::vector<NodeId> members, NodeId& id, std::string& err);
  bool builtin(Builtin b, NodeId& id, std::string& err);

  NodeKind kind(NodeId id) const { return nodes_[id].kind; }
  const value::Value& scalar_value(NodeId id) const;  // None for non-scalars
  std::vector<NodeId>& members(NodeId id) { return members_[nodes_[id].ref]; }
  /// Python's hash() would accept it: scalars except bytearray, tuples of hashables, frozensets.
  bool hashable(NodeId id) const;
  /// Python's type name of a node, for messages.
  std::string type_name(NodeId id) const;
  /// The dotted name of a builtin ("builtins.set").
  static std::string_view builtin_name(Builtin b);

  /// REDUCE of a builtin node on an argument tuple: the node CPython's call would return, or a
  /// message saying which shapes are accepted.
  bool call(NodeId callable, NodeId args, NodeId& out, std::string& err);

  /// The value of `root` (duplicate dict keys and set members collapse, later dict values win).
  /// Its size is measured on the graph first (each node once, shared references counted each
  /// time): a result over the element, byte or depth limit is refused before anything is copied.
  Result<value::Value> materialize(NodeId root);

 private:
  struct Node {
    NodeKind kind;
    bool hashable;
    Builtin builtin;
    std::uint32_t ref;  // index into scalars_ or members_
  };
  bool add(Node n, NodeId& id, std::string& err);
  bool charge_bytes(std::size_t n, std::string& err);
  bool materialize_into(NodeId id, std::size_t depth, value::Value& out);
  /// How the limits are named in errors: "(max_elements)", or PickleLimits::limit_name.
  std::string limit_name(const char* field) const;

  // The expanded size of a node: values and payload bytes it would hold, and its nesting height.
  struct Size {
    std::size_t values = 0, bytes = 0, height = 0;
  };
  bool measure(NodeId id, std::size_t depth, Size& out);  // pickle_budget.cpp

  const PickleLimits& limits_;
  std::vector<Node> nodes_;
  std::vector<value::Value> scalars_;
  std::vector<std::vector<NodeId>> members_;
  std::size_t created_ = 0;        // nodes and copied members, against max_elements
  std::size_t created_bytes_ = 0;  // bytes made by builtin calls, against max_output_bytes
  // measure() state: 0 = not measured, 1 = being measured (a cycle if met again), 2 = in sizes_
  std::vector<std::uint8_t> measured_;
  std::vector<Size> sizes_;
  // materialize() state
  std::vector<std::uint8_t> visiting_;
  std::size_t out_elements_ = 0;
  std::size_t out_bytes_ = 0;
  std::string err_;
};

}  // namespace pg::tarp::detail
