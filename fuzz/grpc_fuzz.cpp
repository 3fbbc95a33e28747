// The gRPC API's request conversion (lib/grpc/convert.cpp): bytes parsed as the CallRequest that
// Call, CallStream and SubmitJob receive, then converted into the endpoint binder's arguments;
// accepted values go back out as result Values.
#include <cstddef>
#include <cstdint>

#include "grpc/convert.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::grpc_api;
  if (size > (4u << 20)) return 0;  // grpc.max_recv_bytes: larger messages never reach the code
  pb::CallRequest req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)call_args(req);
  for (const auto& a : req.args())
    if (auto v = from_proto(a, "args")) {
      pb::Value back;
      to_proto(*v, &back);
    }
  return 0;
}
