// Pie 0.5-line client session, the connect sequence (pie-v0.5.md, "Three ways a 0.5-line server
// is reached"): one sequence for the 0.5 edge, the 0.5 direct server and the 0.4.0 runtime.
//   auth_identify{username} -> ok "Already authenticated" (0.5) or "Authenticated (Engine
//                              disabled authentication)" (0.4.0, auth off): open
//                           -> any other ok result is a base64 challenge (0.4.0, auth on):
//                              Key: auth_prove{base64(sign(decoded challenge))}
//                              Token: auth_by_token{token}
//                           -> ok:false (0.4.0, unknown user): Token: auth_by_token, else fail
// auth_by_token is sent only after a 0.4.0 answer: a 0.5 server never sees a type it lacks.
// The username is AuthConfig::username (Username, Key) or "pie-gateway".
#include <utility>

#include <spdlog/spdlog.h>

#include "pie/auth/challenge.hpp"
#include "pie/v05/connection.hpp"

namespace pg::pie::v05 {

void Connection::begin_auth() {
  const auto& a = opts_.auth;
  if (a.kind == AuthConfig::Kind::Key && !a.key) return fail_start("public-key authentication needs a key");
  auto on_reply = [w = weak()](Result<std::string> r) {
    if (auto self = w.lock()) self->on_identify_reply(std::move(r));
  };
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.auth_timeout);
  const bool named = a.kind == AuthConfig::Kind::Username || a.kind == AuthConfig::Kind::Key;
  send(AuthIdentify{id, named ? a.username : std::string("pie-gateway")});
}

void Connection::on_identify_reply(Result<std::string> r) {
  if (state_ != State::Authenticating) return;
  const auto kind = opts_.auth.kind;
  if (r && auth::accepted_at_once(*r)) return open_session(*r);
  if (kind == AuthConfig::Kind::Token) return send_token();
  if (!r) return fail_start("authentication failed: " + r.error());
  // Any other reply is a challenge to sign: a 0.4.0 server with authentication enabled.
  if (kind != AuthConfig::Kind::Key) return fail_start("server requires public-key authentication");
  answer_challenge(*r);
}

void Connection::answer_challenge(const std::string& challenge_b64) {
  auto sig = auth::answer_challenge(*opts_.auth.key, challenge_b64);
  if (!sig) return fail_start(sig.error());
  auto on_reply = [w = weak()](Result<std::string> r) {
    if (auto self = w.lock()) self->on_final_auth_reply("auth_prove", std::move(r));
  };
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.auth_timeout);
  send(AuthProve{id, std::move(sig).value()});
}

void Connection::send_token() {
  auto on_reply = [w = weak()](Result<std::string> r) {
    if (auto self = w.lock()) self->on_final_auth_reply("auth_by_token", std::move(r));
  };
  // A wrong token is answered after 1-3 s: auth_timeout allows for it.
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.auth_timeout);
  send(AuthByToken{id, opts_.auth.token});
}

void Connection::on_final_auth_reply(const char* step, Result<std::string> r) {
  if (state_ != State::Authenticating) return;
  if (r) return open_session(*r);
  if (std::string_view(step) == "auth_prove")
    return fail_start(auth::refused_key(*opts_.auth.key, opts_.auth.username, r.error()));
  fail_start("authentication failed: the server refused the token: " + r.error());
}

}  // namespace pg::pie::v05
