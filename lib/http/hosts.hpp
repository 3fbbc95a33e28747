// Host header values (RFC 9110 §7.2) and `listen.allowed_hosts`: the Host values a listener
// answers. Others get 421, which stops DNS rebinding (a page on an attacker's name that
// resolves to this machine can reach the gateway, but its requests carry the attacker's name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pg::http {

struct HostPort {
  std::string host;  // lower case, without a trailing dot; an IPv6 address in brackets ("[::1]")
  std::optional<std::uint16_t> port;
};

/// A Host value or an absolute-form target's authority: a name, an IPv4 address or a bracketed
/// IPv6 address, then an optional ":port". No user info, no spaces.
Result<HostPort> parse_host(std::string_view text);

class AllowedHosts {
 public:
  /// Allows every Host (what `"*"` in the list means).
  AllowedHosts() = default;
  /// The configured list: "*" or host[:port] entries (an entry without a port allows any port).
  static Result<AllowedHosts> from_list(const std::vector<std::string>& entries);
  /// The default for a listener on `listen_host`: that address, localhost, 127.0.0.1, [::1] and
  /// this machine's names (gethostname and its canonical name), read once; a wildcard address
  /// (0.0.0.0, ::) adds the addresses of the machine's interfaces instead.
  static AllowedHosts defaults(const std::string& listen_host);

  /// Whether a request whose Host is `h` is answered (a Host without a port means
  /// `default_port`: 80, or 443 on HTTPS).
  bool allows(const HostPort& h, std::uint16_t default_port = 80) const;
  /// "host, host:port, ..." for logs and error messages.
  std::string describe() const;

 private:
  bool any_ = true;
  std::vector<HostPort> entries_;
};

}  // namespace pg::http
