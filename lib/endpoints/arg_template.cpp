#include "endpoints/arg_template.hpp"

#include <cctype>

namespace pg::endpoints {

bool valid_param_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

Result<ArgTemplate> ArgTemplate::parse(std::string_view text) {
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
      if (!valid_param_name(name))
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

}  // namespace pg::endpoints
