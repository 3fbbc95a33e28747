#include "http/hosts.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace pg::http {

namespace {

/// RFC 3986 reg-name characters we accept (unreserved; no percent-encoding, no sub-delims).
bool name_char(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// "[v6]" for an IPv6 literal, the address itself otherwise.
std::string host_form(const std::string& address) {
  return address.find(':') == std::string::npos ? address : "[" + address + "]";
}

void add(std::vector<HostPort>& out, const std::string& text) {
  auto h = parse_host(text);
  if (!h) return;
  bool seen = std::any_of(out.begin(), out.end(), [&](const HostPort& e) { return e.host == h->host && e.port == h->port; });
  if (!seen) out.push_back(std::move(*h));
}

/// Every address of this machine's interfaces (for a listener on 0.0.0.0 or ::).
void add_interface_addresses(std::vector<HostPort>& out) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr)) continue;  // would need a zone id in the Host
      ::inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    } else {
      continue;
    }
    add(out, host_form(text));
  }
  ::freeifaddrs(list);
}

/// gethostname() and, when it is a short name, its canonical name (from the resolver, once).
void add_machine_names(std::vector<HostPort>& out) {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return;
  add(out, name);
  if (std::string_view(name).find('.') != std::string_view::npos) return;
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(name, nullptr, &hints, &res) != 0) return;
  if (res && res->ai_canonname) add(out, res->ai_canonname);
  ::freeaddrinfo(res);
}

}  // namespace

Result<HostPort> parse_host(std::string_view text) {
  auto bad = [&](const std::string& why) { return make_error("Host '" + std::string(text.substr(0, 200)) + "' " + why); };
  if (text.empty()) return bad("is empty");
  HostPort out;
  std::string_view rest;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad("has no closing ']'");
    std::string inner(text.substr(1, close - 1));
    in6_addr a6{};
    if (::inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return bad("is not a valid [IPv6] address");
    char norm[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, &a6, norm, sizeof norm);
    out.host = "[" + std::string(norm) + "]";
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    auto name = text.substr(0, colon);
    if (name.empty()) return bad("has no host name");
    if (!std::all_of(name.begin(), name.end(), [](char c) { return name_char(static_cast<unsigned char>(c)); }))
      return bad("has characters a host name cannot have");
    out.host = lower(name);
    if (out.host.size() > 1 && out.host.back() == '.') out.host.pop_back();  // "localhost." is "localhost"
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (rest.empty()) return out;
  if (rest.front() != ':') return bad("has text after the address");
  auto digits = rest.substr(1);
  if (digits.empty()) return out;  // "host:" (RFC 3986 allows an empty port)
  if (digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("has a port that is not a number from 0 to 65535");
  unsigned long port = std::stoul(std::string(digits));
  if (port > 65535) return bad("has a port that is not a number from 0 to 65535");
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

Result<AllowedHosts> AllowedHosts::from_list(const std::vector<std::string>& entries) {
  AllowedHosts a;
  a.any_ = false;
  for (const auto& e : entries) {
    if (e == "*") {
      a.any_ = true;
      continue;
    }
    auto h = parse_host(e);
    if (!h) return make_error(h.error());
    a.entries_.push_back(std::move(*h));
  }
  return a;
}

AllowedHosts AllowedHosts::defaults(const std::string& listen_host) {
  AllowedHosts a;
  a.any_ = false;
  for (const char* h : {"localhost", "127.0.0.1", "[::1]"}) add(a.entries_, h);
  if (listen_host == "0.0.0.0" || listen_host == "::") add_interface_addresses(a.entries_);
  else add(a.entries_, host_form(listen_host));
  add_machine_names(a.entries_);
  return a;
}

bool AllowedHosts::allows(const HostPort& h, std::uint16_t default_port) const {
  if (any_) return true;
  const std::uint16_t port = h.port.value_or(default_port);
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const HostPort& e) { return e.host == h.host && (!e.port || *e.port == port); });
}

std::string AllowedHosts::describe() const {
  if (any_) return "*";
  std::string out;
  for (const auto& e : entries_) {
    if (!out.empty()) out += ", ";
    out += e.host + (e.port ? ":" + std::to_string(*e.port) : "");
  }
  return out;
}

}  // namespace pg::http
