// The machinery both Pie codecs (pie/v02/codec.cpp, pie/v05/codec.cpp) build their messages
// with: one msgpack map per message, "type" first. A MapWriter that emits such a map, a Fields
// reader whose first failure names the type and field ("<type>: field '<key>' <what>"), and a
// bounded unpack of one frame. Pure: no I/O, no state beyond the message at hand. Each codec
// keeps its own messages (names, types, which fields are required) and its own limits.
#pragma once

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pg::pie::msgpack_map {

// ---- encoding ---------------------------------------------------------------------------

struct StringSink {
  std::string out;
  void write(const char* data, std::size_t n) { out.append(data, n); }
};

/// One map of `fields` + 1 entries, "type" first; each call below adds one entry.
class MapWriter {
 public:
  MapWriter(std::string_view type, std::uint32_t fields) : pk_(sink_) {
    pk_.pack_map(fields + 1);
    str("type", type);
  }
  MapWriter& str(std::string_view key, std::string_view v) {
    pack_str(key);
    pack_str(v);
    return *this;
  }
  /// Optional fields are omitted when absent (the caller counted them in `fields`, see count()).
  MapWriter& opt_str(std::string_view key, const std::optional<std::string>& v) { return v ? str(key, *v) : *this; }
  MapWriter& bin(std::string_view key, std::string_view v) {
    pack_str(key);
    pk_.pack_bin(static_cast<std::uint32_t>(v.size())).pack_bin_body(v.data(), v.size());
    return *this;
  }
  MapWriter& uint(std::string_view key, std::uint64_t v) {
    pack_str(key);
    pk_.pack_uint64(v);
    return *this;
  }
  MapWriter& boolean(std::string_view key, bool v) {
    pack_str(key);
    v ? pk_.pack_true() : pk_.pack_false();
    return *this;
  }
  MapWriter& strings(std::string_view key, const std::vector<std::string>& v) {
    pack_str(key);
    pack_strings(v);
    return *this;
  }
  /// chunk_index, total_chunks, chunk_data (bin): the chunked uploads and downloads of both lines.
  template <typename Chunked>
  MapWriter& chunk(const Chunked& m) {
    return uint("chunk_index", m.chunk_index).uint("total_chunks", m.total_chunks).bin("chunk_data", m.chunk_data);
  }
  /// The key, then the packer for a value the calls above do not cover (nested maps, arrays).
  msgpack::packer<StringSink>& raw_key(std::string_view key) {
    pack_str(key);
    return pk_;
  }
  void pack_strings(const std::vector<std::string>& v) {
    pk_.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) pack_str(s);
  }
  void pack_str(std::string_view s) { pk_.pack_str(static_cast<std::uint32_t>(s.size())).pack_str_body(s.data(), s.size()); }
  std::string take() { return std::move(sink_.out); }

 private:
  StringSink sink_;
  msgpack::packer<StringSink> pk_;
};

/// How many entries an optional field adds to a map.
inline std::uint32_t count(const std::optional<std::string>& o) { return o ? 1 : 0; }

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// ---- decoding ---------------------------------------------------------------------------

/// Typed access to the fields of one decoded map. The first failure is kept (later ones are
/// ignored) and every accessor returns an empty value once failed, so a message can be read
/// field by field and checked once with finish().
class Fields {
 public:
  /// `map` must be a msgpack map; `type` names it in errors and must outlive the reader.
  Fields(const msgpack::object& map, std::string_view type) : map_(map.via.map), type_(type) {}

  const msgpack::object* find(std::string_view key) const;
  /// The field, or a nil object after failing "is missing".
  const msgpack::object& need(std::string_view key);

  std::string str(std::string_view key);
  std::string str_or(std::string_view key, std::string dflt) { return find(key) ? str(key) : dflt; }
  /// Absent or nil: nullopt; otherwise a string.
  std::optional<std::string> opt_str(std::string_view key);
  /// msgpack bin, or a str (its bytes); anything else fails with `wrong_type`.
  std::string bytes(std::string_view key, std::string_view wrong_type = "must be bytes");
  std::uint64_t uint(std::string_view key, std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
  std::uint64_t uint_or(std::string_view key, std::uint64_t dflt,
                        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    return find(key) ? uint(key, max) : dflt;
  }
  std::uint32_t u32(std::string_view key) {
    return static_cast<std::uint32_t>(uint(key, std::numeric_limits<std::uint32_t>::max()));
  }
  bool boolean(std::string_view key);
  std::vector<std::string> strings(std::string_view key);
  /// `o` as an array of strings (`key` names it in the error).
  std::vector<std::string> strings_of(const msgpack::object& o, std::string_view key);

  /// Fails with "<type>: field '<key>' <what>" unless already failed.
  void fail(std::string_view key, std::string_view what);
  /// Fails with `msg` as it is unless already failed (a nested reader's error).
  void fail_msg(std::string msg);
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  const msgpack::object_map& map_;
  std::string_view type_;
  bool ok_ = true;
  std::string error_;
  msgpack::object nil_;
};

/// `value`, or the reader's first failure.
template <typename T>
Result<T> finish(Fields& f, T value) {
  if (!f.ok()) return make_error(f.error());
  return value;
}

/// Unpacks one frame within `limits` (the frame's size is the codec's to check first): a
/// msgpack map with a string field "type", which is stored in `type`. Nothing may follow it.
Result<msgpack::object_handle> unpack_map(std::string_view bytes, const msgpack::unpack_limit& limits,
                                          std::string& type);

}  // namespace pg::pie::msgpack_map
