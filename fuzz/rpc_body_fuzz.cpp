// A TARP RPC request body (lib/tarp/rpc.cpp): JSON {"args": B64(pickle), "kwargs": B64(pickle)},
// through the JSON parser, base64 decoder and the pickle reader, as POST /<rpc endpoint> reads it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tarp/rpc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto call = pg::tarp::decode_rpc_body("application/json", std::string_view(reinterpret_cast<const char*>(data), size));
  if (call)
    for (const auto& a : call->args) (void)a.repr();
  return 0;
}
