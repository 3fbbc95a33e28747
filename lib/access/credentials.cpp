#include "access/credentials.hpp"

#include <cctype>

#include "value/base64.hpp"

namespace pg::access {

namespace {

constexpr std::size_t kMaxHeader = 4096;

bool starts_with_scheme(std::string_view h, std::string_view scheme) {
  if (h.size() <= scheme.size() || h[scheme.size()] != ' ') return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i]) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

Credential malformed(std::string why) { return {Credential::Kind::Malformed, {}, std::move(why)}; }

}  // namespace

Credential parse_authorization(std::string_view header) {
  header = trim(header);
  if (header.empty()) return {};
  if (header.size() > kMaxHeader) return malformed("the Authorization header is longer than 4 KiB");
  if (starts_with_scheme(header, "bearer")) {
    auto token = trim(header.substr(7));
    if (token.empty() || !printable(token)) return malformed("the Bearer token is empty or not printable ASCII");
    return {Credential::Kind::Token, std::string(token), {}};
  }
  if (starts_with_scheme(header, "basic")) {
    auto decoded = base64_decode(trim(header.substr(6)));
    if (!decoded) return malformed("the Basic credentials are not base64");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return malformed("the Basic credentials have no ':' before the password");
    std::string token = decoded->substr(colon + 1);
    if (token.empty() || !printable(token)) return malformed("the Basic password (the token) is empty or not printable ASCII");
    return {Credential::Kind::Token, std::move(token), {}};
  }
  return malformed("the Authorization scheme is neither Bearer nor Basic");
}

}  // namespace pg::access
