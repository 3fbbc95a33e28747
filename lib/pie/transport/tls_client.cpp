// TLS client contexts and per-connection checks for wss:// (tls_client.hpp), on Asio's OpenSSL wrapper.
#include <utility>  // Asio + C++20 needs it before Asio

#include "pie/transport/tls_client.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/bounded_file.hpp"

namespace pg::pie::transport {

namespace ssl = boost::asio::ssl;

namespace {

/// Forward-secret AEAD suites for TLS 1.2 (TLS 1.3's own suites are all of that kind).
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20";

std::string ssl_reason(const boost::system::error_code& ec) {
  std::string s = ec.message();
  return s.empty() ? "error " + std::to_string(ec.value()) : s;
}

Result<std::unique_ptr<ssl::context>> base_context() {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* h = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION) != 1 || SSL_CTX_set_cipher_list(h, kTls12Ciphers) != 1)
    return make_error("OpenSSL refused the TLS 1.2+ settings");
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

}  // namespace

TlsClientContext::TlsClientContext(TlsSettings settings, std::unique_ptr<ssl::context> ctx)
    : settings_(std::move(settings)), ctx_(std::move(ctx)) {}

TlsClientContext::~TlsClientContext() = default;

std::string TlsClientContext::trust() const {
  return settings_.ca_file.empty() ? "the system store" : "ca_file " + settings_.ca_file;
}

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::make(const TlsSettings& settings) {
  auto ctx = base_context();
  if (!ctx) return make_error(ctx.error());
  boost::system::error_code ec;
  if (settings.ca_file.empty()) {
    (*ctx)->set_default_verify_paths(ec);
    if (ec) return make_error("cannot load the system's trusted certificates: " + ssl_reason(ec));
  } else {
    auto pem = read_bounded_file(settings.ca_file, kMaxCaFileBytes);
    if (!pem) return make_error(pem.error());
    // Every certificate of the file; fails if one is damaged (an empty buffer passes: checked first).
    if (pem->find("CERTIFICATE-----") == std::string::npos)
      return make_error("'" + settings.ca_file + "' is not a PEM file of CA certificates OpenSSL accepts (it holds no " +
                        "-----BEGIN CERTIFICATE----- block)");
    (*ctx)->add_certificate_authority(boost::asio::buffer(*pem), ec);
    if (ec)
      return make_error("'" + settings.ca_file + "' is not a PEM file of CA certificates OpenSSL accepts (" +
                        ssl_reason(ec) + ")");
  }
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(settings, std::move(ctx).value()));
}

std::string prepare_tls_connection(ssl_st* ssl, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {  // an IP literal: no SNI (RFC 6066), the certificate must carry it as an IP SAN
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1)
      return "cannot verify the certificate against IP address " + host;
    return {};
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return "cannot send SNI for host name '" + host + "'";
  if (SSL_set1_host(ssl, host.c_str()) != 1) return "cannot verify the certificate against host name '" + host + "'";
  return {};
}

std::string describe_tls_failure(ssl_st* ssl, const boost::system::error_code& ec, const TlsClientContext& ctx) {
  const long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK)
    return std::string("certificate verification failed: ") + X509_verify_cert_error_string(v) + " (trusting " +
           ctx.trust() + ")";
  if (ec == ssl::error::stream_truncated || ec == boost::asio::error::eof)
    return "the server closed the connection during the TLS handshake";
  std::string why = ssl_reason(ec);
  if (ec.category() == boost::asio::error::get_ssl_category() && ERR_GET_REASON(ec.value()) == SSL_R_WRONG_VERSION_NUMBER)
    why += " (does the server speak plain ws:// rather than wss://?)";
  return why;
}

}  // namespace pg::pie::transport
