#include "tarp/query.hpp"

#include <unordered_map>

namespace pg::tarp {

namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}
}  // namespace

std::string url_decode(std::string_view in) { return decode(in, true); }
std::string decode_path(std::string_view path) { return decode(path, false); }

QueryParams parse_query(std::string_view query) {
  QueryParams out;
  std::unordered_map<std::string, std::size_t> index;  // key -> its place in `out`: linear in the pairs
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    auto pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string key = url_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    auto [it, added] = index.try_emplace(key, out.size());
    if (added) out.push_back({std::move(key), {std::move(value)}});
    else out[it->second].second.push_back(std::move(value));
  }
  return out;
}

}  // namespace pg::tarp
