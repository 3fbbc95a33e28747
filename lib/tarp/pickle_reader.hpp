// The pickle machine behind unpickle() (private to lib/tarp/pickle_*.cpp): input primitives, the
// stack with its MARKs, the memo and error messages. The opcode switch is in pickle_reader.cpp.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tarp/pickle.hpp"
#include "tarp/pickle_graph.hpp"
#include "tarp/pickle_opcodes.hpp"
#include "tarp/pickle_text.hpp"
#include "value/utf8.hpp"

namespace pg::tarp::detail {

using value::Kind;
using value::Value;

inline constexpr std::string_view kOnly =
    "; only None, bool, int, float, str, bytes, bytearray, tuple, list, dict, set and frozenset are accepted";

// Printable ASCII for messages, at most 100 characters.
inline std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (s.size() > 100) out += "...";
  return out;
}

inline bool whitelisted(std::string_view module, std::string_view name, Builtin& b) {
  if (module == "_codecs" && name == "encode") b = Builtin::CodecsEncode;
  else if (module != "builtins" && module != "__builtin__") return false;
  else if (name == "bytes") b = Builtin::Bytes;
  else if (name == "bytearray") b = Builtin::ByteArray;
  else if (name == "set") b = Builtin::Set;
  else if (name == "frozenset") b = Builtin::FrozenSet;
  else return false;
  return true;
}

class Reader {
 public:
  Reader(std::string_view data, const PickleLimits& limits) : data_(data), limits_(limits), graph_(limits) {}

  Result<Value> run() {
    if (data_.size() > limits_.max_input_bytes)
      return make_error("pickle refused: " + std::to_string(data_.size()) + " bytes is over the limit of " +
                        std::to_string(limits_.max_input_bytes) + " (max_input_bytes)");
    if (data_.empty()) return make_error("invalid pickle: empty input");
    while (pos_ < data_.size()) {
      offset_ = pos_;
      op_ = static_cast<std::uint8_t>(data_[pos_++]);
      if (op_ == op::STOP) return finish();
      if (!step()) return make_error(err_);
    }
    return make_error("invalid pickle: the input ends at offset " + std::to_string(pos_) + " without STOP (truncated?)");
  }

 private:
  // ---- errors: "<category>: opcode NAME at offset N: what"
  std::string where() const {
    const auto n = op::name(op_);
    return "opcode " + (n.empty() ? std::string("?") : std::string(n)) + " at offset " + std::to_string(offset_);
  }
  bool invalid(const std::string& what) {
    err_ = "invalid pickle: " + where() + ": " + what;
    return false;
  }
  bool refused(const std::string& what) {
    err_ = "pickle refused: " + where() + ": " + what;
    return false;
  }
  bool refuse_code(const std::string& what) {
    err_ = "pickle refused: " + where() + " " + what + std::string(kOnly);
    return false;
  }

  // ---- input
  bool take(std::uint64_t n, std::string_view& out) {
    const std::size_t left = data_.size() - pos_;
    if (n > left)
      return invalid("truncated input: needs " + std::to_string(n) + " bytes, " + std::to_string(left) + " remain");
    out = data_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  bool le(std::size_t width, std::uint64_t& v) {
    std::string_view b;
    if (!take(width, b)) return false;
    v = 0;
    for (std::size_t i = width; i-- > 0;) v = v << 8 | static_cast<unsigned char>(b[i]);
    return true;
  }
  bool line(std::string_view& out) {
    const auto nl = data_.find('\n', pos_);
    if (nl == std::string_view::npos) return invalid("truncated input: no end of line");
    out = data_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return true;
  }
  bool sized(std::size_t width, std::string_view& out, bool is_signed = false) {
    std::uint64_t n = 0;
    if (!le(width, n)) return false;
    if (is_signed && (n & 0x80000000u)) return invalid("negative length");
    return take(n, out);
  }

  // ---- stack
  std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
  bool push(NodeId id) {
    if (stack_.size() >= limits_.max_elements)
      return refused("the stack would hold more than " + std::to_string(limits_.max_elements) + " values (max_elements)");
    stack_.push_back(id);
    return true;
  }
  bool pop(NodeId& id) {
    if (stack_.size() <= base()) return invalid("stack underflow");
    id = stack_.back();
    stack_.pop_back();
    return true;
  }
  bool top(NodeId& id) {
    if (stack_.size() <= base()) return invalid("stack underflow");
    id = stack_.back();
    return true;
  }
  bool pop_mark(std::vector<NodeId>& items) {
    if (marks_.empty()) return invalid("no MARK to pop to");
    items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return true;
  }
  bool push_scalar(Value v) {
    NodeId id = 0;
    std::string e;
    if (!graph_.scalar(std::move(v), id, e)) return refused(e);
    return push(id);
  }
  bool push_container(NodeKind k, std::vector<NodeId> members) {
    NodeId id = 0;
    std::string e;
    if (!graph_.container(k, std::move(members), id, e)) return refused(e);
    return push(id);
  }
  bool check_hashable(NodeId id, const char* role) {
    if (graph_.hashable(id)) return true;
    return invalid("unhashable " + std::string(role) + " of type " + graph_.type_name(id));
  }
  bool check_pairs(const std::vector<NodeId>& items) {
    if (items.size() % 2 != 0) return invalid("odd number of items for a dict");
    for (std::size_t i = 0; i < items.size(); i += 2)
      if (!check_hashable(items[i], "dict key")) return false;
    return true;
  }
  bool target(NodeKind want, NodeId& id, const char* what) {
    if (!top(id)) return false;
    if (graph_.kind(id) != want) return invalid(std::string("expects a ") + what + " below its items, found a " + graph_.type_name(id));
    return true;
  }

  // ---- memo
  bool memo_index_text(std::uint64_t& idx) {
    std::string_view t;
    if (!line(t)) return false;
    const auto res = std::from_chars(t.data(), t.data() + t.size(), idx);
    if (t.empty() || res.ptr != t.data() + t.size() || res.ec != std::errc()) return invalid("memo index is not a number");
    return true;
  }
  bool memo_put(std::uint64_t idx) {
    NodeId id = 0;
    if (!top(id)) return false;
    auto it = memo_.find(idx);
    if (it != memo_.end()) {
      it->second = id;
      return true;
    }
    if (memo_.size() >= limits_.max_memo)
      return refused("more than " + std::to_string(limits_.max_memo) + " memo entries (max_memo)");
    memo_.emplace(idx, id);
    return true;
  }
  bool memo_get(std::uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) return invalid("memo key " + std::to_string(idx) + " is not defined");
    return push(it->second);
  }

  // ---- code references
  bool global(std::string_view module, std::string_view name) {
    Builtin b{};
    if (!whitelisted(module, name, b)) return refuse_code("names " + printable(module) + "." + printable(name));
    NodeId id = 0;
    std::string e;
    if (!graph_.builtin(b, id, e)) return refused(e);
    return push(id);
  }
  bool reduce() {
    NodeId args = 0, fn = 0;
    if (!pop(args) || !pop(fn)) return false;
    if (graph_.kind(fn) != NodeKind::Builtin) return refuse_code("calls a " + graph_.type_name(fn));
    if (graph_.kind(args) != NodeKind::Tuple) return invalid("the arguments are a " + graph_.type_name(args) + ", not a tuple");
    NodeId out = 0;
    std::string e;
    if (!graph_.call(fn, args, out, e)) return refused(e);
    return push(out);
  }

  // ---- scalars
  bool int_text(std::string_view t) {
    Value v;
    std::string e;
    const std::size_t max_digits = limits_.max_bigint_bytes * 5 / 2 + 1;
    if (!detail::parse_int_text(t, max_digits, v, e)) return t.size() > max_digits ? refused(e) : invalid(e);
    return push_scalar(std::move(v));
  }
  bool long_bytes(std::size_t width) {
    std::uint64_t n = 0;
    if (!le(width, n)) return false;
    if (width == 4 && (n & 0x80000000u)) return invalid("negative length");
    if (n > limits_.max_bigint_bytes)
      return refused("an integer of " + std::to_string(n) + " bytes is over the limit of " +
                     std::to_string(limits_.max_bigint_bytes) + " (max_bigint_bytes)");
    std::string_view b;
    if (!take(n, b)) return false;
    return push_scalar(Value::big(value::BigInt::from_twos_complement(b)));
  }
  bool py2_str(std::string_view bytes) {
    for (char c : bytes)
      if (static_cast<unsigned char>(c) >= 0x80)
        return invalid("a Python 2 str with non-ASCII bytes (Python 3 refuses these too by default)");
    return push_scalar(Value::str(std::string(bytes)));
  }
  bool utf8_str(std::string_view bytes) {
    if (!value::utf8_valid(bytes)) return invalid("a str that is not valid UTF-8 (lone surrogates are not accepted)");
    return push_scalar(Value::str(std::string(bytes)));
  }

  bool step();
  Result<Value> finish() {
    if (!marks_.empty()) return make_error("invalid pickle: " + where() + ": a MARK is still open");
    if (stack_.size() != 1)
      return make_error("invalid pickle: " + where() + ": " + std::to_string(stack_.size()) + " values on the stack, expected 1");
    if (pos_ != data_.size())
      return make_error("invalid pickle: " + std::to_string(data_.size() - pos_) + " bytes of trailing data after STOP at offset " +
                        std::to_string(offset_));
    return graph_.materialize(stack_.back());
  }

  std::string_view data_;
  const PickleLimits& limits_;
  Graph graph_;
  std::size_t pos_ = 0, offset_ = 0;
  std::uint8_t op_ = 0;
  std::vector<NodeId> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, NodeId> memo_;
  std::string err_;
};

}  // namespace pg::tarp::detail
