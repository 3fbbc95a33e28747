// pickle(): the opcodes CPython's pickler writes for plain data (protocols 2-5), without memo or frames.
#include <algorithm>
#include <bit>

#include "tarp/pickle.hpp"
#include "tarp/pickle_opcodes.hpp"
#include "value/utf8.hpp"

namespace pg::tarp {

namespace {

using value::Kind;
using value::Value;

constexpr std::size_t kBatch = 1000;  // CPython's _BATCHSIZE for APPENDS/SETITEMS/ADDITEMS

class Writer {
 public:
  explicit Writer(int protocol) : proto_(std::clamp(protocol, 2, 5)) {}

  std::string run(const Value& v) {
    out_ += static_cast<char>(op::PROTO);
    out_ += static_cast<char>(proto_);
    save(v);
    out_ += static_cast<char>(op::STOP);
    return std::move(out_);
  }

 private:
  void byte(std::uint8_t b) { out_ += static_cast<char>(b); }
  void le(std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xFF);
  }
  // A length-prefixed payload with the short (1-byte), 4-byte or 8-byte length opcode.
  void sized(std::string_view data, std::uint8_t short_op, std::uint8_t op4, std::uint8_t op8) {
    if (short_op != 0 && data.size() < 256) {
      byte(short_op);
      le(data.size(), 1);
    } else if (data.size() <= 0xFFFFFFFFu || op8 == 0) {
      byte(op4);
      le(data.size(), 4);
    } else {
      byte(op8);
      le(data.size(), 8);
    }
    out_ += data;
  }
  void str(std::string_view utf8) {
    const std::string text = value::utf8_valid(utf8) ? std::string() : value::utf8_sanitize(utf8);
    const std::string_view s = text.empty() ? utf8 : std::string_view(text);
    if (proto_ >= 4) sized(s, op::SHORT_BINUNICODE, op::BINUNICODE, op::BINUNICODE8);
    else sized(s, 0, op::BINUNICODE, 0);
  }
  // GLOBAL module\nname\n: builtins are "__builtin__" under protocol 2 (CPython's fix_imports).
  void global(std::string_view module, std::string_view name) {
    byte(op::GLOBAL);
    out_ += (module == "builtins" && proto_ < 3) ? "__builtin__" : std::string(module);
    out_ += '\n';
    out_ += name;
    out_ += '\n';
  }
  static std::string latin1_text(std::string_view bytes) {
    std::string s;
    for (char c : bytes) value::utf8_append(s, static_cast<unsigned char>(c));
    return s;
  }
  void bytes(std::string_view data) {
    if (proto_ >= 3) {
      sized(data, op::SHORT_BINBYTES, op::BINBYTES, proto_ >= 4 ? op::BINBYTES8 : 0);
    } else if (data.empty()) {  // bytes()
      global("builtins", "bytes");
      byte(op::EMPTY_TUPLE);
      byte(op::REDUCE);
    } else {  // _codecs.encode(latin-1 text, 'latin1')
      global("_codecs", "encode");
      str(latin1_text(data));
      str("latin1");
      byte(op::TUPLE2);
      byte(op::REDUCE);
    }
  }
  void bytearray(std::string_view data) {
    if (proto_ >= 5) {
      byte(op::BYTEARRAY8);
      le(data.size(), 8);
      out_ += data;
      return;
    }
    global("builtins", "bytearray");
    if (data.empty()) {
      byte(op::EMPTY_TUPLE);
    } else {
      bytes(data);
      byte(op::TUPLE1);
    }
    byte(op::REDUCE);
  }
  void integer(const value::BigInt& b) {
    const std::string enc = b.to_twos_complement();
    if (enc.size() < 256) {
      byte(op::LONG1);
      le(enc.size(), 1);
    } else {
      byte(op::LONG4);
      le(enc.size(), 4);
    }
    out_ += enc;
  }
  void integer(std::int64_t i) {
    if (i >= 0 && i <= 0xFF) {
      byte(op::BININT1);
      le(static_cast<std::uint64_t>(i), 1);
    } else if (i >= 0 && i <= 0xFFFF) {
      byte(op::BININT2);
      le(static_cast<std::uint64_t>(i), 2);
    } else if (i >= INT32_MIN && i <= INT32_MAX) {
      byte(op::BININT);
      le(static_cast<std::uint32_t>(static_cast<std::int32_t>(i)), 4);
    } else {
      integer(value::BigInt::from_int64(i));
    }
  }
  // Items in batches: a single item with `one`, more between MARK and `many` (as CPython).
  void batched(const value::Items& items, std::uint8_t one, std::uint8_t many) {
    for (std::size_t i = 0; i < items.size(); i += kBatch) {
      const std::size_t n = std::min(kBatch, items.size() - i);
      if (n == 1 && one != 0) {
        save(items[i]);
        byte(one);
        continue;
      }
      byte(op::MARK);
      for (std::size_t k = i; k < i + n; ++k) save(items[k]);
      byte(many);
    }
  }
  void set(const Value& v, bool frozen) {
    if (proto_ >= 4) {
      if (frozen) {
        byte(op::MARK);
        for (const auto& x : v.items()) save(x);
        byte(op::FROZENSET);
      } else {
        byte(op::EMPTY_SET);
        batched(v.items(), 0, op::ADDITEMS);
      }
      return;
    }
    global("builtins", frozen ? "frozenset" : "set");  // set([items])
    byte(op::EMPTY_LIST);
    batched(v.items(), op::APPEND, op::APPENDS);
    byte(op::TUPLE1);
    byte(op::REDUCE);
  }

  void save(const Value& v) {
    switch (v.kind()) {
      case Kind::None: byte(op::NONE); return;
      case Kind::Bool: byte(v.as_bool() ? op::NEWTRUE : op::NEWFALSE); return;
      case Kind::Int: integer(v.as_int()); return;
      case Kind::BigInt: integer(v.as_bigint()); return;
      case Kind::Float:
        byte(op::BINFLOAT);
        for (int i = 7; i >= 0; --i) out_ += static_cast<char>((std::bit_cast<std::uint64_t>(v.as_float()) >> (8 * i)) & 0xFF);
        return;
      case Kind::Str: str(v.as_str()); return;
      case Kind::Bytes:
        if (v.is_bytearray()) bytearray(v.as_bytes());
        else bytes(v.as_bytes());
        return;
      case Kind::List:
        byte(op::EMPTY_LIST);
        batched(v.items(), op::APPEND, op::APPENDS);
        return;
      case Kind::Tuple: {
        const auto& items = v.items();
        if (items.empty()) {
          byte(op::EMPTY_TUPLE);
          return;
        }
        if (items.size() > 3) byte(op::MARK);
        for (const auto& x : items) save(x);
        byte(items.size() == 1 ? op::TUPLE1 : items.size() == 2 ? op::TUPLE2 : items.size() == 3 ? op::TUPLE3 : op::TUPLE);
        return;
      }
      case Kind::Dict: {
        byte(op::EMPTY_DICT);
        const auto& items = v.dict_items();
        for (std::size_t i = 0; i < items.size(); i += kBatch) {
          const std::size_t n = std::min(kBatch, items.size() - i);
          if (n > 1) byte(op::MARK);
          for (std::size_t k = i; k < i + n; ++k) {
            save(items[k].first);
            save(items[k].second);
          }
          byte(n > 1 ? op::SETITEMS : op::SETITEM);
        }
        return;
      }
      case Kind::Set: set(v, false); return;
      case Kind::FrozenSet: set(v, true); return;
    }
  }

  int proto_;
  std::string out_;
};

}  // namespace

std::string pickle(const value::Value& v, int protocol) { return Writer(protocol).run(v); }

}  // namespace pg::tarp
