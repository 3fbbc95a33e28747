// `programs:`: local inferlets the gateway provisions onto every Pie server. Checked here (files
// readable, manifest valid); cluster/provisioning.hpp reads and hashes the .wasm files.
#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/bounded_file.hpp"
#include "config/pie_client_sections.hpp"
#include "pie/v05/names.hpp"

namespace pg::config {

namespace fs = std::filesystem;

std::string config_dir(const std::string& source) {
  if (source.empty() || source.front() == '<') return {};  // "<embedded ...>": no file
  return fs::path(source).parent_path().string();
}

std::string resolve_path(const std::string& dir, const std::string& path) {
  if (path.empty() || dir.empty() || path.front() == '/') return path;
  return (fs::path(dir) / path).string();
}

namespace {

constexpr std::size_t kMaxManifestBytes = 1024 * 1024;  // a Pie.toml is a few hundred bytes

/// Empty if `path` is a readable regular file, else why not.
std::string unreadable(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return "'" + path + "' does not exist";
  if (!fs::is_regular_file(st)) return "'" + path + "' is not a regular file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "'" + path + "' cannot be read";
  return {};
}

bool valid_part(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '/' || c == '@' || c == '#' || c == '+' || static_cast<unsigned char>(c) <= ' ') return false;
  return true;
}

/// Reads Pie.toml: [package] name = "namespace/name", version = "x.y.z". Error: "<where>: <what>".
std::string read_manifest(const std::string& path, ProgramSpec& p) {
  auto text = read_bounded_file(path, kMaxManifestBytes);
  if (!text) return text.error();
  toml::table root;
  try {
    root = toml::parse(*text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": invalid TOML: " +
           std::string(e.description());
  }
  const auto* package = root["package"].as_table();
  if (!package) return path + ": has no [package] table";
  const auto* name = (*package)["name"].as_string();
  if (!name) return path + ": package.name is missing or not a string";
  const std::string& n = name->get();
  const auto slash = n.find('/');
  if (slash == std::string::npos || !valid_part(std::string_view(n).substr(0, slash)) ||
      !valid_part(std::string_view(n).substr(slash + 1)))
    return path + ": package.name '" + n + "' must be \"namespace/name\" (no '@', '#', '+' or spaces)";
  const auto* version = (*package)["version"].as_string();
  if (!version) return path + ": package.version is missing or not a string";
  if (!valid_part(version->get()))
    return path + ": package.version '" + version->get() + "' must be a version such as \"0.1.0\"";
  p.name = n;
  p.version = version->get();
  return {};
}

}  // namespace

void load_programs_section(const YAML::Node& list, Fields& f, const std::string& dir, Config& cfg) {
  if (!list.IsSequence()) return f.error(list, "programs", "must be a list of {wasm, manifest}");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    const std::string path = "programs[" + std::to_string(i) + "]";
    if (!f.expect_map(n, path, {"wasm", "manifest"})) continue;
    ProgramSpec p;
    p.line = n.Mark().line + 1;
    p.wasm = resolve_path(dir, f.required_str(n, "wasm", path));
    p.manifest = resolve_path(dir, f.required_str(n, "manifest", path));
    if (!p.wasm.empty())
      if (auto why = unreadable(p.wasm); !why.empty()) f.error(n["wasm"], path + ".wasm", why);
    if (p.manifest.empty()) continue;
    if (auto why = unreadable(p.manifest); !why.empty()) {
      f.error(n["manifest"], path + ".manifest", why);
      continue;
    }
    if (auto why = read_manifest(p.manifest, p); !why.empty()) {
      f.error(n["manifest"], path + ".manifest", why);
      continue;
    }
    // A 0.5 server names programs name@version only: the namespace must be std (names.hpp).
    std::string v05;
    for (const auto& s : cfg.servers)
      if (s.protocol == PieServer::Protocol::V05) v05 += (v05.empty() ? "" : ", ") + s.name;
    if (!v05.empty())
      if (auto mapped = pie::v05::inferlet_name(p.name + "@" + p.version); !mapped)
        f.error(n["manifest"], path + ".manifest",
                "program " + p.name + "@" + p.version + " cannot be provisioned on Pie 0.5 server(s) " + v05 + ": " +
                    mapped.error());
    for (const auto& other : cfg.programs)
      if (other.name == p.name && other.version == p.version)
        f.error(n, path, "program " + p.name + "@" + p.version + " is already listed on line " +
                             std::to_string(other.line));
    cfg.programs.push_back(std::move(p));
  }
}

}  // namespace pg::config

namespace pg::config {

void load_endpoint_fanout(const YAML::Node& n, const std::string& path, Fields& f, Endpoint& ep) {
  auto node = n["fanout"];
  if (!node) return;
  const std::string field = path + ".fanout";
  const std::string v = f.str(node, field);
  if (v == "all") {
    ep.fanout = Endpoint::kFanoutAll;
  } else {
    char* end = nullptr;
    const long k = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || end != v.c_str() + v.size() || k < 1 || k > 1000)
      return f.error(node, field, "must be all or a number of servers from 1 to 1000 (got '" + v + "')");
    ep.fanout = static_cast<unsigned>(k);
  }
  // The answer is a list of per-server results, so it is JSON, never raw bytes (blobs: base64).
  if (n["content_type"])
    f.error(node, field, "a fan-out endpoint answers a JSON list: it cannot also have content_type");
  ep.content_type.clear();
}

}  // namespace pg::config
