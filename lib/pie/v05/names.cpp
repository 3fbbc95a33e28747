#include "pie/v05/names.hpp"

#include <algorithm>

namespace pg::pie::v05 {

namespace {

bool is_version(std::string_view v) {
  int parts = 0;
  while (true) {
    const auto dot = v.find('.');
    const auto part = v.substr(0, dot);
    if (part.empty() || part.size() > 9 || !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    v.remove_prefix(dot + 1);
  }
  return parts == 3;
}

bool is_name(std::string_view n) {
  return !n.empty() && n.size() <= 128 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

Result<std::string> inferlet_name(std::string_view name) {
  std::string_view rest = name;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(0, slash) != "std")
      return make_error("'" + std::string(name) +
                        "' cannot be named on a Pie 0.5 server: 0.5 names have no namespace (only std/ maps)");
    rest.remove_prefix(slash + 1);
  }
  const auto at = rest.find('@');
  if (at == std::string_view::npos || rest.substr(at + 1) == "latest")
    return make_error("'" + std::string(name) +
                      "' cannot be named on a Pie 0.5 server: it needs an exact version (name@MAJOR.MINOR.PATCH)");
  const auto base = rest.substr(0, at), version = rest.substr(at + 1);
  if (!is_name(base)) return make_error("'" + std::string(name) + "' is not a valid Pie 0.5 inferlet name");
  if (!is_version(version))
    return make_error("'" + std::string(name) + "' cannot be named on a Pie 0.5 server: version '" +
                      std::string(version) + "' is not MAJOR.MINOR.PATCH");
  return std::string(base) + "@" + std::string(version);
}

}  // namespace pg::pie::v05
