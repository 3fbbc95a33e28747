// Pie's challenge-response, the same on both protocol lines: the reply that means "you are in",
// the server's base64 challenge answered with a signature, and the words for a refused key.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace pg::pie::auth {

class SshKey;

/// An identification reply that opens the session at once ("Authenticated…", "Already
/// authenticated"); any other successful reply is a challenge.
bool accepted_at_once(std::string_view reply);

/// The base64 signature of the decoded challenge; the error starts "authentication failed: ".
Result<std::string> answer_challenge(const SshKey& key, std::string_view challenge_b64);

/// "authentication failed: the server refused user 'U' with <type> key <fingerprint>: <why>".
std::string refused_key(const SshKey& key, const std::string& username, const std::string& why);

}  // namespace pg::pie::auth
