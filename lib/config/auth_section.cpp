// servers[i].auth. Secrets (token, key passphrase) come from files or environment variables,
// never from the YAML; they are read once, here (regular files of at most 64 KiB), never logged.
// And servers[i].ca_file, the trust of a wss:// server.
#include <cstdlib>

#include "common/bounded_file.hpp"
#include "config/pie_client_sections.hpp"
#include "pie/auth/ssh_key.hpp"
#include "pie/transport/tls_client.hpp"

namespace pg::config {

namespace {

/// `<what>_file` or `<what>_env`; refuses `<what>` itself. nullopt when neither is given.
std::optional<std::string> read_secret(const YAML::Node& auth, const std::string& what, Fields& f,
                                       const std::string& path, const std::string& dir, bool trim_spaces) {
  if (auth[what])
    f.error(auth[what], path + "." + what,
            "secrets must not be written in the config: use " + what + "_file or " + what + "_env");
  if (auto file = auth[what + "_file"]) {
    const std::string field = path + "." + what + "_file";
    const std::string name = resolve_path(dir, f.str(file, field));
    auto read = read_bounded_file(name, kMaxSecretFileBytes);
    if (!read) {
      f.error(file, field, read.error());
      return std::string{};
    }
    std::string v = std::move(read).value();
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || (trim_spaces && v.back() == ' '))) v.pop_back();
    if (v.empty()) f.error(file, field, "'" + name + "' is empty");
    return v;
  }
  if (auto env = auth[what + "_env"]) {
    const std::string field = path + "." + what + "_env";
    const std::string name = f.str(env, field);
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) f.error(env, field, "environment variable '" + name + "' is not set");
    return std::string(v ? v : "");
  }
  return std::nullopt;
}

void load_key(const YAML::Node& a, const std::string& path, Fields& f, const std::string& dir, PieAuth& out) {
  out.username = f.required_str(a, "username", path);
  auto file = a["key_file"];
  if (!file) return f.error(a, path + ".key_file", "is required for kind 'key' (an SSH private key file)");
  out.key_file = resolve_path(dir, f.str(file, path + ".key_file"));
  if (out.key_file.empty()) return;
  const auto passphrase = read_secret(a, "passphrase", f, path, dir, /*trim_spaces=*/false).value_or("");
  auto key = pie::auth::SshKey::load_file(out.key_file, passphrase);
  if (!key) {
    std::string why = key.error();
    if (why.ends_with("no passphrase was given")) why += " (set passphrase_file or passphrase_env)";
    return f.error(file, path + ".key_file", why);
  }
  out.key = *key;
}

}  // namespace

void load_server_auth(const YAML::Node& a, const std::string& path, Fields& f, const std::string& dir, PieAuth& out) {
  if (!f.expect_map(a, path, {"kind", "username", "token", "token_file", "token_env", "key_file", "passphrase",
                              "passphrase_file", "passphrase_env"}))
    return;
  // Without `kind`, a key_file means public-key authentication.
  const std::string kind = a["kind"] ? f.str(a["kind"], path + ".kind") : a["key_file"] ? "key" : "none";
  if (kind != "key")
    for (const char* k : {"key_file", "passphrase", "passphrase_file", "passphrase_env"})
      if (a[k]) f.error(a[k], path + "." + k, "only kind 'key' takes " + std::string(k) + " (kind is '" + kind + "')");
  if (kind == "none") {
    out.kind = PieAuth::Kind::None;
  } else if (kind == "username") {
    out.kind = PieAuth::Kind::Username;
    out.username = f.required_str(a, "username", path);
  } else if (kind == "token") {
    out.kind = PieAuth::Kind::Token;
    auto t = read_secret(a, "token", f, path, dir, /*trim_spaces=*/true);
    if (!t) f.error(a, path, "kind 'token' needs token_file or token_env");
    else out.token = *t;
  } else if (kind == "key") {
    out.kind = PieAuth::Kind::Key;
    load_key(a, path, f, dir, out);
  } else {
    f.error(a["kind"], path + ".kind", "must be one of none, token, username, key (got '" + kind + "')");
  }
}

void load_server_tls(const YAML::Node& n, const std::string& path, Fields& f, const std::string& dir, PieServer& s) {
  if (s.host.empty()) return;  // the uri is missing or wrong (reported)
  const auto ca = n["ca_file"];
  const std::string field = path + ".ca_file";
  if (ca && !s.tls) return f.error(ca, field, "only for wss:// servers (the uri is '" + s.uri + "')");
  if (!s.tls) return;
  pie::transport::TlsSettings t;
  if (ca) {
    t.ca_file = resolve_path(dir, f.str(ca, field));
    if (t.ca_file.empty()) return f.error(ca, field, "must name a PEM file of CA certificates");
  }
  auto ctx = pie::transport::TlsClientContext::make(t);
  if (!ctx) return f.error(ca ? ca : n["uri"], ca ? field : path + ".uri", ctx.error());
  s.ca_file = t.ca_file;
  s.tls_context = *ctx;
}

}  // namespace pg::config
