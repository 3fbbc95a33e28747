#include "frontdoor/ui.hpp"

#include <cstdio>

#include "tarp/envelope.hpp"

namespace pg::frontdoor {

namespace {

std::string_view content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

/// A strong validator from the bytes (FNV-1a 64): the files change only with the binary.
std::string etag(std::string_view data) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::optional<http::Response> ui_answer(std::string_view path, const http::Request& req) {
  if (path != "/ui" && path.substr(0, 4) != "/ui/") return std::nullopt;
  if (req.method != "GET") {
    auto r = tarp::error(405, "MethodNotAllowed", "/ui answers GET only");
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  if (path == "/ui/") {  // relative links in the page expect /ui
    http::Response r;
    r.status = 301;
    r.headers.emplace_back("Location", "../ui");
    return r;
  }
  std::string_view name = path == "/ui" ? "index.html" : path.substr(4);
  for (const auto& f : ui_files()) {
    if (f.name != name) continue;
    http::Response r;
    auto tag = etag(f.data);
    r.headers.emplace_back("ETag", tag);
    r.headers.emplace_back("Cache-Control", "no-cache");  // revalidate: a new binary may bring new files
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    if (req.header("If-None-Match") == tag) {
      r.status = 304;
      return r;
    }
    r.content_type = std::string(content_type(f.name));
    r.body = std::string(f.data);
    if (name == "index.html") {
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                             "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
    }
    return r;
  }
  return tarp::error(404, "NotFound", "no file '" + std::string(name) + "' in /ui");
}

}  // namespace pg::frontdoor
