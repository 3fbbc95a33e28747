// Pie 0.2 frames (lib/pie/v02/codec.cpp): any bytes as a frame from a server (what the gateway
// reads) and from a client (what pie-sim reads). A decoded message encodes to a frame that
// decodes again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pie/v02/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::pie::v02;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = decode_server(in))
    if (!decode_server(encode(*m))) std::abort();
  if (auto m = decode_client(in))
    if (!decode_client(encode(*m))) std::abort();
  return 0;
}
