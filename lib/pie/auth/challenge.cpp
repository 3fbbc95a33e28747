#include "pie/auth/challenge.hpp"

#include "pie/auth/ssh_key.hpp"
#include "value/base64.hpp"

namespace pg::pie::auth {

bool accepted_at_once(std::string_view reply) {
  return reply.starts_with("Authenticated") || reply == "Already authenticated";
}

Result<std::string> answer_challenge(const SshKey& key, std::string_view challenge_b64) {
  auto challenge = base64_decode(challenge_b64);
  if (!challenge) return make_error("authentication failed: the server's challenge is not base64: " + challenge.error());
  auto sig = key.sign(*challenge);
  if (!sig) return make_error("authentication failed: " + sig.error());
  return base64_encode(*sig);
}

std::string refused_key(const SshKey& key, const std::string& username, const std::string& why) {
  return "authentication failed: the server refused user '" + username + "' with " + key.type() + " key " +
         key.fingerprint() + ": " + why;
}

}  // namespace pg::pie::auth
