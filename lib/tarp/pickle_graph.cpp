#include "tarp/pickle_graph.hpp"

#include <unordered_map>

#include "value/utf8.hpp"

namespace pg::tarp::detail {

using value::Kind;
using value::Value;

Graph::Graph(const PickleLimits& limits) : limits_(limits) {
  for (Value v : {Value::none(), Value::boolean(true), Value::boolean(false)}) {
    nodes_.push_back(Node{NodeKind::Scalar, true, Builtin{}, static_cast<std::uint32_t>(scalars_.size())});
    scalars_.push_back(std::move(v));
  }
}

std::string Graph::limit_name(const char* field) const {
  return limits_.limit_name.empty() ? "(" + std::string(field) + ")" : limits_.limit_name;
}

bool Graph::add(Node n, NodeId& id, std::string& err) {
  if (++created_ > limits_.max_elements) {
    err = "more than " + std::to_string(limits_.max_elements) + " values " + limit_name("max_elements");
    return false;
  }
  id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(n);
  return true;
}

bool Graph::charge_bytes(std::size_t n, std::string& err) {
  created_bytes_ += n;
  if (created_bytes_ > limits_.max_output_bytes) {
    err = "builtin calls would create more than " + std::to_string(limits_.max_output_bytes) + " bytes " +
          limit_name("max_output_bytes");
    return false;
  }
  return true;
}

bool Graph::scalar(Value v, NodeId& id, std::string& err) {
  if (!add(Node{NodeKind::Scalar, v.kind() != Kind::Bytes || !v.is_bytearray(), Builtin{},
                static_cast<std::uint32_t>(scalars_.size())},
           id, err))
    return false;
  scalars_.push_back(std::move(v));
  return true;
}

bool Graph::container(NodeKind kind, std::vector<NodeId> members, NodeId& id, std::string& err) {
  bool hashable = kind == NodeKind::FrozenSet;
  if (kind == NodeKind::Tuple) {
    hashable = true;
    for (NodeId m : members) hashable = hashable && this->hashable(m);
  }
  if (!add(Node{kind, hashable, Builtin{}, static_cast<std::uint32_t>(members_.size())}, id, err)) return false;
  members_.push_back(std::move(members));
  return true;
}

bool Graph::builtin(Builtin b, NodeId& id, std::string& err) {
  return add(Node{NodeKind::Builtin, true, b, 0}, id, err);
}

const Value& Graph::scalar_value(NodeId id) const {
  const Node& n = nodes_[id];
  return n.kind == NodeKind::Scalar ? scalars_[n.ref] : scalars_[kNone];
}

bool Graph::hashable(NodeId id) const { return nodes_[id].hashable; }

std::string_view Graph::builtin_name(Builtin b) {
  switch (b) {
    case Builtin::CodecsEncode: return "_codecs.encode";
    case Builtin::Bytes: return "builtins.bytes";
    case Builtin::ByteArray: return "builtins.bytearray";
    case Builtin::Set: return "builtins.set";
    case Builtin::FrozenSet: return "builtins.frozenset";
  }
  return "?";
}

std::string Graph::type_name(NodeId id) const {
  switch (nodes_[id].kind) {
    case NodeKind::Scalar: return std::string(value::type_name(scalar_value(id)));
    case NodeKind::List: return "list";
    case NodeKind::Tuple: return "tuple";
    case NodeKind::Dict: return "dict";
    case NodeKind::Set: return "set";
    case NodeKind::FrozenSet: return "frozenset";
    case NodeKind::Builtin: return "function " + std::string(builtin_name(nodes_[id].builtin));
  }
  return "?";
}

namespace {

// str -> bytes through latin-1, as _codecs.encode(s, 'latin1') does; false if a character is above U+00FF.
bool latin1_encode(const std::string& utf8, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      return false;
    }
  }
  return true;
}

bool is_latin1_name(const Value& v) {
  return v.kind() == Kind::Str && (v.as_str() == "latin1" || v.as_str() == "latin-1");
}

}  // namespace

bool Graph::call(NodeId callable, NodeId args, NodeId& out, std::string& err) {
  const Builtin b = nodes_[callable].builtin;
  const std::vector<NodeId> a = members(args);  // a copy: members_ may grow below
  const auto arg = [&](std::size_t i) -> const Value& { return scalar_value(a[i]); };
  const auto is_scalar = [&](std::size_t i, Kind k) { return kind(a[i]) == NodeKind::Scalar && arg(i).kind() == k; };
  std::string bytes;
  switch (b) {
    case Builtin::CodecsEncode:
      if (a.size() == 2 && is_scalar(0, Kind::Str) && is_latin1_name(arg(1))) {
        if (!latin1_encode(arg(0).as_str(), bytes)) {
          err = "_codecs.encode(str, 'latin1') of a str with characters above U+00FF";
          return false;
        }
        return charge_bytes(bytes.size(), err) && scalar(Value::bytes(std::move(bytes)), out, err);
      }
      err = "_codecs.encode is accepted only as encode(str, 'latin1'), the way Python pickles bytes";
      return false;
    case Builtin::Bytes:
      if (a.empty()) return scalar(Value::bytes(""), out, err);
      err = "builtins.bytes is accepted only as bytes(), the way Python pickles b''";
      return false;
    case Builtin::ByteArray:
      if (a.empty()) return scalar(Value::bytearray(""), out, err);
      if (a.size() == 1 && is_scalar(0, Kind::Bytes))
        return charge_bytes(arg(0).as_bytes().size(), err) && scalar(Value::bytearray(arg(0).as_bytes()), out, err);
      if (a.size() == 2 && is_scalar(0, Kind::Str) && is_latin1_name(arg(1)) && latin1_encode(arg(0).as_str(), bytes))
        return charge_bytes(bytes.size(), err) && scalar(Value::bytearray(std::move(bytes)), out, err);
      err = "builtins.bytearray is accepted only as bytearray(), bytearray(bytes) or bytearray(str, 'latin-1')";
      return false;
    case Builtin::Set:
    case Builtin::FrozenSet: {
      const auto kind = b == Builtin::Set ? NodeKind::Set : NodeKind::FrozenSet;
      if (a.empty()) return container(kind, {}, out, err);
      if (a.size() == 1 && this->kind(a[0]) == NodeKind::List) {
        std::vector<NodeId> items = members(a[0]);
        for (NodeId m : items) {
          if (!hashable(m)) {
            err = std::string(builtin_name(b)) + " of a list holding an unhashable " + type_name(m);
            return false;
          }
        }
        created_ += items.size();  // the copy counts like new values
        if (created_ > limits_.max_elements) {
          err = "more than " + std::to_string(limits_.max_elements) + " values " + limit_name("max_elements");
          return false;
        }
        return container(kind, std::move(items), out, err);
      }
      err = std::string(builtin_name(b)) + " is accepted only applied to () or to a one-list tuple, as Python pickles it";
      return false;
    }
  }
  err = "unknown builtin";
  return false;
}

namespace {

// Inserts keeping the first of equal items (for dicts the later value replaces the earlier one).
template <typename T, typename KeyOf, typename Merge>
void insert_unique(std::vector<T>& out, std::unordered_multimap<std::size_t, std::size_t>& index, T item, KeyOf key_of,
                   Merge merge) {
  const std::size_t h = value::hash_value(key_of(item));
  auto [lo, hi] = index.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    if (key_of(out[it->second]) == key_of(item)) {
      merge(out[it->second], std::move(item));
      return;
    }
  }
  index.emplace(h, out.size());
  out.push_back(std::move(item));
}

}  // namespace

bool Graph::materialize_into(NodeId id, std::size_t depth, Value& out) {
  const Node& n = nodes_[id];
  if (++out_elements_ > limits_.max_elements) {
    err_ = "the result would hold more than " + std::to_string(limits_.max_elements) + " values " + limit_name("max_elements");
    return false;
  }
  if (n.kind == NodeKind::Scalar) {
    const Value& v = scalars_[n.ref];
    out_bytes_ += payload_bytes(v);
    if (out_bytes_ > limits_.max_output_bytes) {
      err_ = "the result would hold more than " + std::to_string(limits_.max_output_bytes) + " bytes " +
             limit_name("max_output_bytes");
      return false;
    }
    out = v;
    return true;
  }
  if (n.kind == NodeKind::Builtin) {
    err_ = std::string(builtin_name(n.builtin)) + " is referenced but never called; only None, bool, int, float, str, "
           "bytes, bytearray, tuple, list, dict, set and frozenset are accepted";
    return false;
  }
  if (depth >= limits_.max_depth) {
    err_ = "the result is nested deeper than " + std::to_string(limits_.max_depth) + " levels (max_depth)";
    return false;
  }
  if (visiting_[id]) {
    err_ = "a " + type_name(id) + " contains itself; recursive structures are not supported";
    return false;
  }
  visiting_[id] = 1;
  const std::vector<NodeId>& m = members_[n.ref];
  value::Items items;
  value::DictItems dict;
  std::unordered_multimap<std::size_t, std::size_t> index;
  const bool is_dict = n.kind == NodeKind::Dict;
  const bool is_set = n.kind == NodeKind::Set || n.kind == NodeKind::FrozenSet;
  if (is_dict) dict.reserve(m.size() / 2);
  else items.reserve(m.size());
  for (std::size_t i = 0; i < m.size(); i += is_dict ? 2 : 1) {
    Value v;
    if (!materialize_into(m[i], depth + 1, v)) return false;
    if (is_dict) {
      Value x;
      if (!materialize_into(m[i + 1], depth + 1, x)) return false;
      insert_unique(dict, index, std::pair<Value, Value>(std::move(v), std::move(x)),
                    [](const std::pair<Value, Value>& p) -> const Value& { return p.first; },
                    [](std::pair<Value, Value>& old, std::pair<Value, Value>&& now) { old.second = std::move(now.second); });
    } else if (is_set) {
      insert_unique(items, index, std::move(v), [](const Value& x) -> const Value& { return x; }, [](Value&, Value&&) {});
    } else {
      items.push_back(std::move(v));
    }
  }
  visiting_[id] = 0;
  switch (n.kind) {
    case NodeKind::List: out = Value::list(std::move(items)); break;
    case NodeKind::Tuple: out = Value::tuple(std::move(items)); break;
    case NodeKind::Set: out = Value::set(std::move(items)); break;
    case NodeKind::FrozenSet: out = Value::frozenset(std::move(items)); break;
    default: out = Value::dict(std::move(dict)); break;
  }
  return true;
}

Result<Value> Graph::materialize(NodeId root) {
  measured_.assign(nodes_.size(), 0);
  sizes_.assign(nodes_.size(), Size{});
  Size total;
  if (!measure(root, 0, total)) return make_error("pickle refused: " + err_);
  measured_ = {};
  sizes_ = {};
  visiting_.assign(nodes_.size(), 0);
  out_elements_ = out_bytes_ = 0;
  Value out;
  if (!materialize_into(root, 0, out)) return make_error("pickle refused: " + err_);
  return out;
}

}  // namespace pg::tarp::detail
