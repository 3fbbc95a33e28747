// Small helpers both protocol modes share: UTF-8-safe cuts and process/instance UUIDs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pie_sim {

/// Largest text put in one outgoing message (streamed output, flushed buffers, event values):
/// keeps every frame within 1 MiB plus framing.
inline constexpr std::size_t kMaxTextBytes = 1024 * 1024;

/// Longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::size_t utf8_prefix(std::string_view s, std::size_t max);
std::string new_uuid_v4();
/// Lowercase hyphenated form of a UUID (hyphenated or 32 hex digits), or nullopt if malformed.
std::optional<std::string> normalize_uuid(std::string_view text);

}  // namespace pie_sim
