#include "pie/common/msgpack_map.hpp"

#include <exception>
#include <utility>

namespace pg::pie::msgpack_map {

const msgpack::object* Fields::find(std::string_view key) const {
  for (std::uint32_t i = 0; i < map_.size; ++i) {
    const auto& k = map_.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key) return &map_.ptr[i].val;
  }
  return nullptr;
}

const msgpack::object& Fields::need(std::string_view key) {
  const auto* o = find(key);
  if (!o) fail(key, "is missing");
  return o ? *o : nil_;
}

std::string Fields::str(std::string_view key) {
  const auto& o = need(key);
  if (!ok_) return {};
  if (o.type != msgpack::type::STR) return fail(key, "must be a string"), std::string{};
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::optional<std::string> Fields::opt_str(std::string_view key) {
  const auto* o = find(key);
  if (!ok_ || !o || o->type == msgpack::type::NIL) return std::nullopt;
  if (o->type != msgpack::type::STR) return fail(key, "must be a string or nil"), std::nullopt;
  return std::string(o->via.str.ptr, o->via.str.size);
}

std::string Fields::bytes(std::string_view key, std::string_view wrong_type) {
  const auto& o = need(key);
  if (!ok_) return {};
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  return fail(key, wrong_type), std::string{};
}

std::uint64_t Fields::uint(std::string_view key, std::uint64_t max) {
  const auto& o = need(key);
  if (!ok_) return 0;
  if (o.type != msgpack::type::POSITIVE_INTEGER) return fail(key, "must be an unsigned integer"), 0;
  if (o.via.u64 > max) return fail(key, "is out of range"), 0;
  return o.via.u64;
}

bool Fields::boolean(std::string_view key) {
  const auto& o = need(key);
  if (!ok_) return false;
  if (o.type != msgpack::type::BOOLEAN) return fail(key, "must be a boolean"), false;
  return o.via.boolean;
}

std::vector<std::string> Fields::strings(std::string_view key) {
  const auto& o = need(key);
  if (!ok_) return {};
  return strings_of(o, key);
}

std::vector<std::string> Fields::strings_of(const msgpack::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (o.type != msgpack::type::ARRAY) return fail(key, "must be an array of strings"), out;
  out.reserve(o.via.array.size);
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    const auto& e = o.via.array.ptr[i];
    if (e.type != msgpack::type::STR) return fail(key, "must be an array of strings"), out;
    out.emplace_back(e.via.str.ptr, e.via.str.size);
  }
  return out;
}

void Fields::fail(std::string_view key, std::string_view what) {
  if (ok_) error_ = std::string(type_) + ": field '" + std::string(key) + "' " + std::string(what);
  ok_ = false;
}

void Fields::fail_msg(std::string msg) {
  if (ok_) error_ = std::move(msg);
  ok_ = false;
}

Result<msgpack::object_handle> unpack_map(std::string_view bytes, const msgpack::unpack_limit& limits,
                                          std::string& type) {
  msgpack::object_handle oh;
  try {
    std::size_t off = 0;
    oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limits);
    if (off != bytes.size()) return make_error("trailing bytes after the msgpack value");
  } catch (const std::exception& e) {
    return make_error(std::string("not valid msgpack: ") + e.what());
  }
  const auto& o = oh.get();
  if (o.type != msgpack::type::MAP) return make_error("message is not a msgpack map");
  Fields f(o, "message");
  const auto* t = f.find("type");
  if (!t || t->type != msgpack::type::STR) return make_error("message has no string field 'type'");
  type.assign(t->via.str.ptr, t->via.str.size);
  return oh;
}

}  // namespace pg::pie::msgpack_map
