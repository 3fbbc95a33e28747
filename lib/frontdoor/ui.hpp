// The built-in page at /ui: its files (lib/frontdoor/ui/) are compiled into the binary, so
// the daemon serves it with no external assets.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "http/message.hpp"

namespace pg::frontdoor {

struct UiFile {
  std::string_view name;  // "index.html", "ui.js", ...
  std::string_view data;
};
/// Generated at build time (lib/frontdoor/ui/embed.cmake).
std::span<const UiFile> ui_files();

/// GET /ui (the page) and /ui/<file>; nullopt when `path` is not under /ui. Answers 304 to a
/// matching If-None-Match, and sends a strict Content-Security-Policy (no outside sources).
std::optional<http::Response> ui_answer(std::string_view path, const http::Request& req);

}  // namespace pg::frontdoor
