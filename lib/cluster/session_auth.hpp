// A configured server's auth (config::PieAuth) as the session options it needs, and whether two
// configs authenticate the same way (a reload that changes it reconnects the server).
#pragma once

#include "config/model.hpp"
#include "pie/auth/ssh_key.hpp"
#include "pie/session.hpp"

namespace pg::cluster {

inline pie::AuthConfig session_auth(const config::PieAuth& a) {
  pie::AuthConfig o;
  switch (a.kind) {
    case config::PieAuth::Kind::None: o.kind = pie::AuthConfig::Kind::None; break;
    case config::PieAuth::Kind::Token: o.kind = pie::AuthConfig::Kind::Token; break;
    case config::PieAuth::Kind::Username: o.kind = pie::AuthConfig::Kind::Username; break;
    case config::PieAuth::Kind::Key: o.kind = pie::AuthConfig::Kind::Key; break;
  }
  o.username = a.username;
  o.token = a.token;
  o.key = a.key;
  return o;
}

inline bool same_auth(const config::PieAuth& a, const config::PieAuth& b) {
  const auto fp = [](const config::PieAuth& x) { return x.key ? x.key->fingerprint() : std::string(); };
  return a.kind == b.kind && a.username == b.username && a.token == b.token && a.key_file == b.key_file &&
         fp(a) == fp(b);
}

}  // namespace pg::cluster
