// TLS towards Pie servers (wss://): the client context every connection to one server is made
// with, and the per-connection steps around the handshake. Verification is always on: the
// server's certificate must chain to `ca_file` (or to the system store) and name the host of the
// URI (a DNS name, or an IP address literal). TLS 1.2 at least. OpenSSL lives in tls_client.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <boost/system/error_code.hpp>

#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;  // OpenSSL's SSL

namespace pg::pie::transport {

struct TlsSettings {
  std::string ca_file;  // PEM certificates to trust; "" = the system store
};

/// A CA bundle is read up to this (Debian's whole system bundle is about 220 KiB).
inline constexpr std::size_t kMaxCaFileBytes = 1 << 20;

class TlsClientContext {
 public:
  /// Reads and checks ca_file (a regular file of at most kMaxCaFileBytes, PEM certificates that
  /// OpenSSL accepts) or loads the system store. Errors are sentences naming the file.
  static Result<std::shared_ptr<TlsClientContext>> make(const TlsSettings& settings);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  boost::asio::ssl::context& native() { return *ctx_; }
  const TlsSettings& settings() const { return settings_; }
  /// What the peer is verified against, for errors: "ca_file /etc/x.pem" or "the system store".
  std::string trust() const;

 private:
  TlsClientContext(TlsSettings settings, std::unique_ptr<boost::asio::ssl::context> ctx);
  TlsSettings settings_;
  std::unique_ptr<boost::asio::ssl::context> ctx_;
};

/// Before the handshake of one connection: SNI (for a host name, not an IP literal) and the name
/// the certificate must carry. "" on success, else why not.
std::string prepare_tls_connection(ssl_st* ssl, const std::string& host);

/// Why a client handshake failed: the certificate verification result when that was the cause
/// (e.g. "certificate verification failed: unable to get local issuer certificate (trusting the
/// system store)"), else OpenSSL's reason.
std::string describe_tls_failure(ssl_st* ssl, const boost::system::error_code& ec, const TlsClientContext& ctx);

}  // namespace pg::pie::transport
