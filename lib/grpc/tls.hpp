// TLS on the gRPC listener: server credentials whose certificate, key and client CAs can be
// replaced while serving (SIGHUP: new handshakes use the new ones, open connections keep
// theirs), and the verified client certificate's subject CN of a call.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace grpc {
class ServerCredentials;
class ServerContextBase;
}  // namespace grpc
namespace pg::tls {
struct Material;
}

namespace pg::grpc_api {

class RotatingTls {
 public:
  /// Client certificates are asked for when the material has a client CA bundle (and required
  /// with require_client_cert); one that does not verify fails the handshake. TLS 1.2 at least
  /// (gRPC core's floor), gRPC's own AEAD cipher list.
  explicit RotatingTls(std::shared_ptr<const tls::Material> material);
  ~RotatingTls();
  RotatingTls(const RotatingTls&) = delete;
  RotatingTls& operator=(const RotatingTls&) = delete;

  /// For one listening port (gRPC asks for the material on each new handshake).
  std::shared_ptr<grpc::ServerCredentials> credentials();
  /// New handshakes from now on use `material`. Whether client certificates are asked for or
  /// required cannot change here (an error says so; the old material stays).
  Result<bool> replace(std::shared_ptr<const tls::Material> material);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// The subject CN of the client certificate the call's TLS handshake verified; "" when the
/// call came without one (or over plaintext).
std::string verified_peer_cn(const grpc::ServerContextBase& ctx);

}  // namespace pg::grpc_api
