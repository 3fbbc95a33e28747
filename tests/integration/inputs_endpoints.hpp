// Endpoints with `input:` over pie-sim's std/chat and std/blob-echo, and random test bytes:
// shared by the HTTP (inputs_test.cpp) and gRPC (grpc_engine_test.cpp) tests of issue 8.
#pragma once

#include <cstddef>
#include <random>
#include <string>

namespace pg::test {

inline const char* kInputEndpoints =
    "endpoints:\n"
    // The body as one chat message, then "bye" (a defaulted parameter) ends the chat.
    "  - name: chat_body\n    kind: post\n    inferlet: std/chat@0.1.0\n    result: messages\n"
    "    params: [{name: end, default: bye}]\n"
    "    input: [{send: message, from: body}, {send: message, from: 'param:end'}]\n"
    "  - name: chat_last\n    kind: get\n    inferlet: std/chat@0.1.0\n    result: last_message\n"
    "    params: [{name: a}, {name: b}, {name: end, default: bye}]\n"
    "    input: [{send: message, from: 'param:a'}, {send: message, from: 'param:b'}, {send: message, from: 'param:end'}]\n"
    "  - {name: blob_echo, kind: post, inferlet: std/blob-echo@0.1.0, result: blob, input: {send: blob, from: body}}\n"
    "  - {name: blob_count, kind: post, inferlet: std/blob-echo@0.1.0, input: {send: blob}}\n";

/// `n` pseudo-random bytes (every value 0-255), the same for the same seed.
inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

}  // namespace pg::test
