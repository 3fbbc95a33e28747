// Pie 0.5-line frames (lib/pie/v05/codec.cpp): any bytes as a binary frame from a server and from
// a client, and as a text frame of the edge. A decoded message encodes to a frame that decodes again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pie/v05/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::pie::v05;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = decode_server(in))
    if (!decode_server(encode(*m))) std::abort();
  if (auto m = decode_client(in))
    if (!decode_client(encode(*m))) std::abort();
  (void)decode_text(in);
  return 0;
}
