// The subject CN of a client certificate the gRPC listener verified (TLS with client_ca_file),
// for access/ to name a client by. Internal to lib/grpc.
#pragma once

#include <string>

namespace grpc {
class ServerContextBase;
}

namespace pg::grpc_api {

/// The peer's `x509_common_name` when gRPC authenticated the peer (a verified client
/// certificate); "" otherwise (plaintext, TLS without a client certificate). Call it on the
/// call's gRPC thread, before the reactor goes to the io thread (auth_context() is lazy).
std::string verified_peer_cn(const grpc::ServerContextBase& ctx);

}  // namespace pg::grpc_api
