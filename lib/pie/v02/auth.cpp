// Pie v0.2 client session, authentication (pie-v0.2.md, "Session start"): the first message
// after the WebSocket handshake, and the replies up to an open session.
//   Token:    internal_authenticate{token} -> response
//   None:     identification{"pie-gateway"} -> response (servers with authentication disabled)
//   Username: identification{username} -> response (likewise)
//   Key:      identification{username} -> challenge = base64(48 random bytes)
//             -> signature{base64(sign(decoded challenge))} -> response "Authenticated"
// A server with authentication disabled accepts identification at once, whatever the kind.
#include <utility>

#include <spdlog/spdlog.h>

#include "pie/auth/challenge.hpp"
#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

void Connection::begin_auth() {
  const auto& a = opts_.auth;
  if (a.kind == AuthConfig::Kind::Key && !a.key) return fail_start("public-key authentication needs a key");
  auto on_reply = [w = weak()](Result<std::string> r) {
    if (auto self = w.lock()) self->on_auth_reply(std::move(r));
  };
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.auth_timeout);
  switch (a.kind) {
    case AuthConfig::Kind::Token: send(InternalAuthenticate{id, a.token}); break;
    case AuthConfig::Kind::Username:
    case AuthConfig::Kind::Key: send(Identification{id, a.username}); break;
    case AuthConfig::Kind::None: send(Identification{id, "pie-gateway"}); break;
  }
}

void Connection::on_auth_reply(Result<std::string> r) {
  if (state_ != State::Authenticating) return;
  if (!r) return fail_start("authentication failed: " + r.error());
  if (opts_.auth.kind == AuthConfig::Kind::Token || auth::accepted_at_once(*r)) return open_session(*r);
  // Any other reply is a challenge to sign: this server has authentication enabled.
  if (opts_.auth.kind != AuthConfig::Kind::Key) return fail_start("server requires public-key authentication");
  answer_challenge(*r);
}

void Connection::answer_challenge(const std::string& challenge_b64) {
  auto sig = auth::answer_challenge(*opts_.auth.key, challenge_b64);
  if (!sig) return fail_start(sig.error());
  auto on_reply = [w = weak()](Result<std::string> r) {
    if (auto self = w.lock()) self->on_signature_reply(std::move(r));
  };
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.auth_timeout);
  send(Signature{id, std::move(sig).value()});
}

void Connection::on_signature_reply(Result<std::string> r) {
  if (state_ != State::Authenticating) return;
  if (!r) return fail_start(auth::refused_key(*opts_.auth.key, opts_.auth.username, r.error()));
  open_session(*r);
}

}  // namespace pg::pie::v02
