// JSON text -> Value through nlohmann's SAX interface, so that an integer literal too large for
// 64 bits arrives as its digits and becomes an exact BigInt.
#include <nlohmann/json.hpp>

#include "value/bigint.hpp"
#include "value/value.hpp"

namespace pg::value {

namespace {

class Builder {
 public:
  using json = nlohmann::json;
  explicit Builder(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return put(Value::none()); }
  bool boolean(bool b) { return put(Value::boolean(b)); }
  bool number_integer(json::number_integer_t i) { return put(Value::integer(i)); }
  bool number_unsigned(json::number_unsigned_t u) { return put(Value::big(BigInt::from_uint64(u))); }
  bool number_float(json::number_float_t d, const std::string& text) {
    if (text.find_first_of(".eE") == std::string::npos) {
      auto b = BigInt::from_decimal(text);
      if (!b) return fail("integer " + text.substr(0, 40) + ": " + b.error());
      return put(Value::big(std::move(*b)));
    }
    return put(Value::real(d));
  }
  bool string(std::string& s) { return put(Value::str(std::move(s))); }
  bool binary(json::binary_t& b) { return put(Value::bytes(std::string(b.begin(), b.end()))); }
  bool start_object(std::size_t) { return open(true); }
  bool key(std::string& k) {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(false); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    std::string what = e.what();
    auto colon = what.rfind(": ");
    return fail("invalid JSON at byte " + std::to_string(position) + ": " +
                (colon == std::string::npos ? what : what.substr(colon + 2)));
  }

  Result<Value> result() {
    if (!error_.empty()) return make_error(error_);
    return std::move(root_);
  }

 private:
  struct Frame {
    bool object;
    Items items;
    DictItems dict;
    std::string key;
  };
  bool open(bool object) {
    if (stack_.size() >= max_depth_) return fail("JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    stack_.push_back(Frame{object, {}, {}, {}});
    return true;
  }
  bool close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    return put(f.object ? Value::dict(std::move(f.dict)) : Value::list(std::move(f.items)));
  }
  bool put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    auto& top = stack_.back();
    if (top.object) top.dict.emplace_back(Value::str(std::move(top.key)), std::move(v));
    else top.items.push_back(std::move(v));
    return true;
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  std::size_t max_depth_;
  std::vector<Frame> stack_;
  Value root_;
  std::string error_;
};

}  // namespace

Result<Value> parse_json(std::string_view text, std::size_t max_depth) {
  Builder b(max_depth);
  bool ok = nlohmann::json::sax_parse(text, &b, nlohmann::json::input_format_t::json, /*strict=*/true);
  auto r = b.result();
  if (ok || !r.ok()) return r;
  return make_error("invalid JSON");
}

}  // namespace pg::value
