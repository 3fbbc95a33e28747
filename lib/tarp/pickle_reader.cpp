// unpickle(): one case per opcode. Plain data opcodes build graph nodes; opcodes that name or call
// code are refused, except the whitelisted builtins (see pickle.hpp).
#include <bit>
#include <cstring>

#include "tarp/pickle_reader.hpp"

namespace pg::tarp {

namespace detail {

bool Reader::step() {
  std::uint64_t n = 0;
  std::string_view s, t;
  std::vector<NodeId> items;
  NodeId a = 0, b = 0, target_id = 0;
  switch (op_) {
    // ---- framing and protocol
    case op::PROTO:
      if (!le(1, n)) return false;
      return n <= 5 ? true : invalid("unsupported protocol " + std::to_string(n));
    case op::FRAME:
      if (!le(8, n)) return false;
      if (n > data_.size() - pos_) return invalid("frame of " + std::to_string(n) + " bytes, " + std::to_string(data_.size() - pos_) + " remain");
      return true;

    // ---- scalars
    case op::NONE: return push(Graph::kNone);
    case op::NEWTRUE: return push(Graph::kTrue);
    case op::NEWFALSE: return push(Graph::kFalse);
    case op::INT:
      if (!line(s)) return false;
      if (s == "01") return push(Graph::kTrue);
      if (s == "00") return push(Graph::kFalse);
      return int_text(s);
    case op::LONG:
      if (!line(s)) return false;
      if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
      return int_text(s);
    case op::BININT:
      if (!le(4, n)) return false;
      return push_scalar(Value::integer(static_cast<std::int32_t>(static_cast<std::uint32_t>(n))));
    case op::BININT1:
    case op::BININT2:
      if (!le(op_ == op::BININT1 ? 1 : 2, n)) return false;
      return push_scalar(Value::integer(static_cast<std::int64_t>(n)));
    case op::LONG1: return long_bytes(1);
    case op::LONG4: return long_bytes(4);
    case op::FLOAT: {
      if (!line(s)) return false;
      double d = 0;
      std::string e;
      if (!detail::parse_float_text(s, d, e)) return invalid(e);
      return push_scalar(Value::real(d));
    }
    case op::BINFLOAT: {
      if (!take(8, s)) return false;
      std::uint64_t bits = 0;
      for (char c : s) bits = bits << 8 | static_cast<unsigned char>(c);  // big-endian
      return push_scalar(Value::real(std::bit_cast<double>(bits)));
    }
    case op::STRING: {
      if (!line(s)) return false;
      std::string bytes, e;
      if (!detail::decode_string_literal(s, bytes, e)) return invalid(e);
      return py2_str(bytes);
    }
    case op::BINSTRING: return sized(4, s, true) && py2_str(s);
    case op::SHORT_BINSTRING: return sized(1, s) && py2_str(s);
    case op::UNICODE: {
      if (!line(s)) return false;
      std::string text, e;
      if (!detail::decode_raw_unicode_escape(s, text, e)) return invalid(e);
      return push_scalar(Value::str(std::move(text)));
    }
    case op::BINUNICODE: return sized(4, s) && utf8_str(s);
    case op::SHORT_BINUNICODE: return sized(1, s) && utf8_str(s);
    case op::BINUNICODE8: return sized(8, s) && utf8_str(s);
    case op::BINBYTES: return sized(4, s) && push_scalar(Value::bytes(std::string(s)));
    case op::SHORT_BINBYTES: return sized(1, s) && push_scalar(Value::bytes(std::string(s)));
    case op::BINBYTES8: return sized(8, s) && push_scalar(Value::bytes(std::string(s)));
    case op::BYTEARRAY8: return sized(8, s) && push_scalar(Value::bytearray(std::string(s)));

    // ---- containers
    case op::EMPTY_LIST: return push_container(NodeKind::List, {});
    case op::EMPTY_TUPLE: return push_container(NodeKind::Tuple, {});
    case op::EMPTY_DICT: return push_container(NodeKind::Dict, {});
    case op::EMPTY_SET: return push_container(NodeKind::Set, {});
    case op::LIST: return pop_mark(items) && push_container(NodeKind::List, std::move(items));
    case op::TUPLE: return pop_mark(items) && push_container(NodeKind::Tuple, std::move(items));
    case op::TUPLE1:
    case op::TUPLE2:
    case op::TUPLE3: {
      const std::size_t k = op_ == op::TUPLE1 ? 1 : op_ == op::TUPLE2 ? 2 : 3;
      if (stack_.size() - base() < k) return invalid("stack underflow");
      items.assign(stack_.end() - static_cast<std::ptrdiff_t>(k), stack_.end());
      stack_.resize(stack_.size() - k);
      return push_container(NodeKind::Tuple, std::move(items));
    }
    case op::DICT: return pop_mark(items) && check_pairs(items) && push_container(NodeKind::Dict, std::move(items));
    case op::FROZENSET:
      if (!pop_mark(items)) return false;
      for (NodeId m : items)
        if (!check_hashable(m, "frozenset member")) return false;
      return push_container(NodeKind::FrozenSet, std::move(items));
    case op::APPEND:
      if (!pop(a) || !target(NodeKind::List, target_id, "list")) return false;
      graph_.members(target_id).push_back(a);
      return true;
    case op::APPENDS: {
      if (!pop_mark(items) || !target(NodeKind::List, target_id, "list")) return false;
      auto& m = graph_.members(target_id);
      m.insert(m.end(), items.begin(), items.end());
      return true;
    }
    case op::SETITEM: {
      if (!pop(b) || !pop(a) || !check_hashable(a, "dict key") || !target(NodeKind::Dict, target_id, "dict")) return false;
      auto& m = graph_.members(target_id);
      m.push_back(a);
      m.push_back(b);
      return true;
    }
    case op::SETITEMS: {
      if (!pop_mark(items) || !check_pairs(items) || !target(NodeKind::Dict, target_id, "dict")) return false;
      auto& m = graph_.members(target_id);
      m.insert(m.end(), items.begin(), items.end());
      return true;
    }
    case op::ADDITEMS: {
      if (!pop_mark(items)) return false;
      for (NodeId m : items)
        if (!check_hashable(m, "set member")) return false;
      if (!target(NodeKind::Set, target_id, "set")) return false;
      auto& m = graph_.members(target_id);
      m.insert(m.end(), items.begin(), items.end());
      return true;
    }

    // ---- stack and memo
    case op::MARK:
      if (marks_.size() >= limits_.max_depth)
        return refused("more than " + std::to_string(limits_.max_depth) + " open MARKs (max_depth)");
      marks_.push_back(stack_.size());
      return true;
    case op::POP:
      if (stack_.size() > base()) {
        stack_.pop_back();
        return true;
      }
      if (marks_.empty()) return invalid("stack underflow");
      marks_.pop_back();  // Python 3: POP on an empty frame discards the MARK
      return true;
    case op::POP_MARK: return pop_mark(items);
    case op::DUP: return top(a) && push(a);
    case op::PUT: return memo_index_text(n) && memo_put(n);
    case op::BINPUT: return le(1, n) && memo_put(n);
    case op::LONG_BINPUT: return le(4, n) && memo_put(n);
    case op::MEMOIZE: return memo_put(memo_.size());
    case op::GET: return memo_index_text(n) && memo_get(n);
    case op::BINGET: return le(1, n) && memo_get(n);
    case op::LONG_BINGET: return le(4, n) && memo_get(n);

    // ---- code: whitelisted builtins only
    case op::GLOBAL: return line(s) && line(t) && global(s, t);
    case op::STACK_GLOBAL:
      if (!pop(b) || !pop(a)) return false;
      if (graph_.kind(a) != NodeKind::Scalar || graph_.scalar_value(a).kind() != Kind::Str ||
          graph_.kind(b) != NodeKind::Scalar || graph_.scalar_value(b).kind() != Kind::Str)
        return invalid("module and name must be two str values");
      return global(graph_.scalar_value(a).as_str(), graph_.scalar_value(b).as_str());
    case op::REDUCE: return reduce();
    case op::INST: return line(s) && line(t) && refuse_code("names " + printable(s) + "." + printable(t));
    case op::OBJ: return refuse_code("builds an object of a class");
    case op::NEWOBJ:
    case op::NEWOBJ_EX: return refuse_code("creates an object with cls.__new__");
    case op::BUILD: return refuse_code("sets an object's state (__setstate__)");
    case op::PERSID: return line(s) && refuse_code("names persistent id '" + printable(s) + "'");
    case op::BINPERSID: return refuse_code("names a persistent id");
    case op::EXT1:
    case op::EXT2:
    case op::EXT4:
      if (!le(op_ == op::EXT1 ? 1 : op_ == op::EXT2 ? 2 : 4, n)) return false;
      return refuse_code("names extension registry code " + std::to_string(n));
    case op::NEXT_BUFFER:
    case op::READONLY_BUFFER: return refuse_code("uses an out-of-band buffer (pickle protocol 5 buffers)");
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      err_ = std::string("invalid pickle: unknown opcode 0x") + hex[op_ >> 4] + hex[op_ & 15] + " at offset " + std::to_string(offset_);
      return false;
    }
  }
}

}  // namespace detail

Result<value::Value> unpickle(std::string_view data, const PickleLimits& limits) {
  return detail::Reader(data, limits).run();
}

}  // namespace pg::tarp
