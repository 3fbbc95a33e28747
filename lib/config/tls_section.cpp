#include "config/tls_section.hpp"

#include "config/pie_client_sections.hpp"
#include "tls/material.hpp"

namespace pg::config {

void load_tls_section(const YAML::Node& node, Fields& f, const std::string& dir, Config& cfg) {
  if (!f.expect_map(node, "tls", {"cert_file", "key_file", "key_password_file", "client_ca_file", "require_client_cert"}))
    return;
  const auto errors_before = f.errors().size();
  Tls t;
  auto path_of = [&](const char* key, bool required) {
    if (!node[key] && !required) return std::string{};
    const std::string v = f.required_str(node, key, "tls");
    return v.empty() ? v : resolve_path(dir, v);
  };
  t.cert_file = path_of("cert_file", true);
  t.key_file = path_of("key_file", true);
  t.key_password_file = path_of("key_password_file", false);
  t.client_ca_file = path_of("client_ca_file", false);
  t.require_client_cert = f.boolean(node, "require_client_cert", "tls", false);
  if (t.require_client_cert && !node["client_ca_file"])
    f.error(node["require_client_cert"], "tls.require_client_cert",
            "needs tls.client_ca_file (the CAs client certificates must chain to)");
  if (f.errors().size() != errors_before) return;
  auto loaded = tls::load({t.cert_file, t.key_file, t.key_password_file, t.client_ca_file, t.require_client_cert});
  if (auto* err = std::get_if<tls::LoadError>(&loaded)) {
    static constexpr const char* kField[] = {"cert_file", "key_file", "key_password_file", "client_ca_file"};
    const char* key = kField[static_cast<int>(err->field)];
    f.error(node[key] ? node[key] : node, std::string("tls.") + key, err->message);
    return;
  }
  t.material = std::get<std::shared_ptr<const tls::Material>>(std::move(loaded));
  cfg.tls = std::move(t);
}

}  // namespace pg::config
