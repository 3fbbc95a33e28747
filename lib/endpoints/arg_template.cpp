#include "endpoints/arg_template.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "value/utf8.hpp"

namespace pg::endpoints {

bool valid_param_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

Result<ArgTemplate> ArgTemplate::parse(std::string_view text, bool embedded_args) {
  ArgTemplate t;
  if (text == "{*args}" || text == "{**kwargs}") {
    t.spread_ = text == "{*args}" ? Spread::Args : Spread::Kwargs;
    return t;
  }
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.segs_.push_back({false, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
    } else if (c == '{') {
      auto close = text.find('}', i + 1);
      if (close == std::string_view::npos)
        return make_error("unclosed '{' at position " + std::to_string(i) + " in \"" + std::string(text) + "\"");
      auto name = text.substr(i + 1, close - i - 1);
      if (!valid_param_name(name) && !(embedded_args && name == kArgsName))
        return make_error("'{" + std::string(name) +
                          "}' is not a valid placeholder (use {name}, or a whole argument {*args} or {**kwargs}; "
                          "{{ and }} for braces)");
      flush();
      t.segs_.push_back({true, std::string(name)});
      i = close;
    } else if (c == '}') {
      return make_error("unmatched '}' at position " + std::to_string(i) + " in \"" + std::string(text) +
                        "\" (write }} for a literal brace)");
    } else {
      literal.push_back(c);
    }
  }
  flush();
  return t;
}

std::vector<std::string> ArgTemplate::names() const {
  std::vector<std::string> out;
  for (const auto& s : segs_)
    if (s.placeholder) out.push_back(s.text);
  return out;
}

std::string ArgTemplate::render(const std::function<const std::string&(const std::string&)>& lookup) const {
  std::string out;
  for (const auto& s : segs_) out += s.placeholder ? lookup(s.text) : s.text;
  return out;
}

std::size_t ArgTemplate::rendered_size(const std::function<const std::string&(const std::string&)>& lookup) const {
  std::size_t n = 0;
  for (const auto& s : segs_) n += s.placeholder ? lookup(s.text).size() : s.text.size();
  return n;
}

namespace {

void append_escaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  if (value::utf8_valid(s)) append_escaped(out, s);
  else append_escaped(out, value::utf8_sanitize(s));
  out += '"';
}

bool append_json_int(std::string& out, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || errno || end != text.c_str() + text.size()) return false;
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
  return true;
}

bool append_json_float(std::string& out, const std::string& text) {
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d)) return false;
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  const std::string_view num(buf, static_cast<std::size_t>(r.ptr - buf));
  out += num;
  if (num.find_first_of(".eE") == std::string_view::npos) out += ".0";
  return true;
}

std::optional<bool> parse_bool_text(std::string_view text) {
  if (text.size() > 5) return std::nullopt;
  std::string v(text);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

}  // namespace pg::endpoints
