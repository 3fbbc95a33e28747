#include "config/access_section.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include "common/bounded_file.hpp"
#include "config/pie_client_sections.hpp"
#include "config/yaml_document.hpp"

namespace pg::config {

using namespace std::chrono_literals;

bool valid_access_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

namespace {

/// A scalar or a list of scalars, each a valid name.
std::vector<std::string> name_list(const YAML::Node& n, const std::string& path, Fields& f, const char* what) {
  std::vector<std::string> out;
  auto one = [&](const YAML::Node& item, const std::string& at) {
    std::string v = f.str(item, at);
    if (!item.IsScalar()) return;
    if (!valid_access_name(v)) f.error(item, at, std::string("'") + v + "' is not a " + what + " name ([A-Za-z0-9._@-], 1 to 64 characters)");
    else if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  if (n.IsScalar()) one(n, path);
  else if (n.IsSequence())
    for (std::size_t i = 0; i < n.size(); ++i) one(n[i], path + "[" + std::to_string(i) + "]");
  else f.error(n, path, std::string("must be a list of ") + what + " names");
  return out;
}

double number(const YAML::Node& map, const char* key, const std::string& path, Fields& f, double max) {
  auto n = map[key];
  if (!n) return 0;
  std::string text = f.str(n, path + "." + key);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0 || v > max) {
    if (n.IsScalar()) f.error(n, path + "." + key, "must be a number above 0 and at most " + std::to_string(static_cast<long long>(max)) + " (got '" + text + "')");
    return 0;
  }
  return v;
}

/// `rate: {per_second, burst}` (burst defaults to per_second, at least 1).
AccessRate load_rate(const YAML::Node& map, const std::string& path, Fields& f) {
  AccessRate r;
  auto n = map["rate"];
  if (!n || !f.expect_map(n, path + ".rate", {"per_second", "burst"})) return r;
  if (!n["per_second"]) f.error(n, path + ".rate.per_second", "is required");
  r.per_second = number(n, "per_second", path + ".rate", f, 1e6);
  r.burst = n["burst"] ? number(n, "burst", path + ".rate", f, 1e6) : std::max(1.0, r.per_second);
  if (r.burst > 0 && r.burst < 1) f.error(n["burst"], path + ".rate.burst", "must be at least 1 (calls allowed at once)");
  return r;
}

std::string unhex(const std::string& hex) {
  std::string out;
  auto val = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(val(hex[i]) * 16 + val(hex[i + 1])));
  return out;
}

void load_client(const YAML::Node& n, const std::string& path, Fields& f, std::vector<AccessClient>& out) {
  if (!f.expect_map(n, path, {"name", "token_sha256", "roles", "rate", "max_live_jobs"})) return;
  AccessClient c;
  c.line = n.Mark().line + 1;
  c.name = f.required_str(n, "name", path);
  if (!c.name.empty() && !valid_access_name(c.name))
    f.error(n["name"], path + ".name", "'" + c.name + "' is not a client name ([A-Za-z0-9._@-], 1 to 64 characters)");
  for (const auto& other : out)
    if (!c.name.empty() && other.name == c.name)
      f.error(n["name"], path + ".name", "client '" + c.name + "' is already declared on line " + std::to_string(other.line));
  if (auto t = n["token_sha256"]) {
    std::string hex = f.str(t, path + ".token_sha256");
    const bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](unsigned char ch) { return std::isxdigit(ch); });
    if (!ok && t.IsScalar())
      f.error(t, path + ".token_sha256",
              "must be the 64 hex digits of the SHA-256 of the client's token (`pie-gateway token` prints one); "
              "never the token itself");
    else c.token_sha256 = unhex(hex);
  }
  if (auto r = n["roles"]) c.roles = name_list(r, path + ".roles", f, "role");
  c.rate = load_rate(n, path, f);
  c.max_live_jobs = static_cast<std::size_t>(f.integer(n, "max_live_jobs", path, 0, 0, 10000000));
  out.push_back(std::move(c));
}

}  // namespace

Result<std::vector<AccessClient>> load_clients_file(const std::string& path) {
  auto text = read_bounded_file(path, kMaxClientsFileBytes);
  if (!text) return make_error(path + ": cannot read the clients file: " + text.error());
  auto doc = parse_yaml_document(*text, path);
  if (!doc) return make_error(doc.error());
  const YAML::Node root = *doc;
  Fields f(path);
  std::vector<AccessClient> clients;
  try {
    if (f.expect_map(root, "(top level)", {"clients"})) {
      auto list = root["clients"];
      if (!list) f.error(root, "clients", "is missing: a list of {name, token_sha256, roles, rate, max_live_jobs}");
      else if (!list.IsSequence()) f.error(list, "clients", "must be a list of clients");
      else if (list.size() > kMaxClients) f.error(list, "clients", "has more than " + std::to_string(kMaxClients) + " clients");
      else
        for (std::size_t i = 0; i < list.size(); ++i) load_client(list[i], "clients[" + std::to_string(i) + "]", f, clients);
    }
  } catch (const YAML::Exception& e) {
    f.error(root, "(document)", e.what());
  }
  if (!f.ok()) return make_error(f.errors());
  return clients;
}

void load_access_section(const YAML::Node& node, Fields& f, const std::string& dir, Access& out) {
  if (!f.expect_map(node, "access", {"clients_file", "anonymous", "failures"})) return;
  out.enabled = true;
  auto file = node["clients_file"];
  if (!file) {
    f.error(node, "access.clients_file", "is required: the YAML file of clients (name, token_sha256, roles, ...)");
  } else {
    std::string given = f.str(file, "access.clients_file");
    if (!given.empty()) {
      out.clients_file = resolve_path(dir, given);
      auto clients = load_clients_file(out.clients_file);
      if (!clients) f.append(clients.error());
      else out.clients = std::move(*clients);
    }
  }
  if (auto a = node["anonymous"]) {
    if (a.IsMap()) {
      if (f.expect_map(a, "access.anonymous", {"roles", "rate", "max_live_jobs"})) {
        if (auto r = a["roles"]) out.anonymous_roles = name_list(r, "access.anonymous.roles", f, "role");
        out.anonymous_rate = load_rate(a, "access.anonymous", f);
        out.anonymous_max_live_jobs = static_cast<std::size_t>(f.integer(a, "max_live_jobs", "access.anonymous", 0, 0, 10000000));
      }
    } else {
      out.anonymous_roles = name_list(a, "access.anonymous", f, "role");
    }
    if (std::find(out.anonymous_roles.begin(), out.anonymous_roles.end(), "admin") != out.anonymous_roles.end())
      f.error(a, "access.anonymous", "must not grant admin: anyone who can reach the gateway would see and cancel every job");
  }
  if (auto fl = node["failures"]) {
    if (f.expect_map(fl, "access.failures", {"free", "max_delay"})) {
      out.free_failures = static_cast<unsigned>(f.integer(fl, "free", "access.failures", out.free_failures, 0, 1000));
      out.max_delay = f.duration(fl, "max_delay", "access.failures", out.max_delay, 0ms, 60s);
    }
  }
}

void load_endpoint_allow(const YAML::Node& endpoint, const std::string& path, Fields& f, const Access& access,
                         Endpoint& ep) {
  auto n = endpoint["allow"];
  if (!n) return;
  if (!access.enabled) {
    f.error(n, path + ".allow", "needs an `access:` section (without it the gateway is open to every caller)");
    return;
  }
  ep.allow = name_list(n, path + ".allow", f, "role or client");
  std::set<std::string> known(access.anonymous_roles.begin(), access.anonymous_roles.end());
  known.insert("admin");
  for (const auto& c : access.clients) {
    known.insert(c.name);
    known.insert(c.roles.begin(), c.roles.end());
  }
  for (std::size_t i = 0; i < ep.allow.size(); ++i)
    if (!known.count(ep.allow[i]))
      f.error(n.IsSequence() ? n[i] : n, path + ".allow",
              "'" + ep.allow[i] + "' names no client and no role of " + access.clients_file + " (a typo would lock everyone out)");
}

}  // namespace pg::config
