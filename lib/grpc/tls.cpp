#include "grpc/tls.hpp"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_context.h>

#include <mutex>
#include <stdexcept>

#include "tls/material.hpp"

namespace pg::grpc_api {

struct RotatingTls::State {
  std::mutex mu;
  std::shared_ptr<const tls::Material> current;
  std::uint64_t generation = 1;  // of `current`
  std::uint64_t handed_out = 0;  // the generation gRPC has
};

namespace {

grpc_ssl_client_certificate_request_type request_type(const tls::Material& m) {
  if (m.client_ca_pem.empty()) return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  return m.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                               : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
}

/// gRPC core calls this (on its threads) before every new handshake; it keeps what it had
/// unless we hand it something new.
grpc_ssl_certificate_config_reload_status fetch(void* user_data, grpc_ssl_server_certificate_config** config) {
  auto* st = static_cast<RotatingTls::State*>(user_data);
  std::lock_guard lock(st->mu);
  if (st->handed_out == st->generation) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  const auto& m = *st->current;
  grpc_ssl_pem_key_cert_pair pair{m.key_pem.c_str(), m.cert_chain_pem.c_str()};
  // gRPC core insists on root certificates here even when it asks for no client certificate
  // (an assertion, not an error): then its own chain stands in, used for nothing.
  const std::string& roots = m.client_ca_pem.empty() ? m.cert_chain_pem : m.client_ca_pem;
  *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);  // copies the strings
  st->handed_out = st->generation;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

/// grpc::ServerCredentials over gRPC core's SSL server credentials with a certificate fetcher
/// (grpcpp offers no C++ form of it).
class FetchingCredentials final : public grpc::ServerCredentials {
 public:
  explicit FetchingCredentials(grpc_server_credentials* c) : creds_(c) {}
  ~FetchingCredentials() override { grpc_server_credentials_release(creds_); }
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    throw std::logic_error("pie-gateway's gRPC TLS credentials take no auth metadata processor");
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }
  grpc_server_credentials* creds_;
};

}  // namespace

RotatingTls::RotatingTls(std::shared_ptr<const tls::Material> material) : state_(std::make_shared<State>()) {
  state_->current = std::move(material);
}

RotatingTls::~RotatingTls() = default;

std::shared_ptr<grpc::ServerCredentials> RotatingTls::credentials() {
  auto* options = grpc_ssl_server_credentials_create_options_using_config_fetcher(request_type(*state_->current),
                                                                                   &fetch, state_.get());
  return std::make_shared<FetchingCredentials>(grpc_ssl_server_credentials_create_with_options(options));  // takes `options`
}

Result<bool> RotatingTls::replace(std::shared_ptr<const tls::Material> material) {
  std::lock_guard lock(state_->mu);
  if (request_type(*material) != request_type(*state_->current))
    return make_error("tls.client_ca_file and tls.require_client_cert cannot be turned on or off while running: "
                      "restart the service");
  state_->current = std::move(material);
  ++state_->generation;
  return true;
}

std::string verified_peer_cn(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  if (!auth) return {};
  auto type = auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (type.size() != 1 || std::string_view(type[0].data(), type[0].size()) != GRPC_SSL_TRANSPORT_SECURITY_TYPE)
    return {};
  // Only the VERIFY request types are used (request_type()): a certificate here was verified.
  auto pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.size() != 1) return {};
  return tls::subject_cn_of_pem(std::string_view(pem[0].data(), pem[0].size()));
}

}  // namespace pg::grpc_api
