// Query strings and request bodies as web-like endpoints read them (lib/tarp/query.cpp,
// lib/tarp/body.cpp): the first byte picks the Content-Type, the rest is the body; the whole
// input is also read as a query string and as a path.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tarp/body.hpp"
#include "tarp/query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::tarp;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_query(in);
  (void)decode_path(in);
  if (in.empty()) return 0;
  static constexpr std::string_view kTypes[] = {"application/json", "application/x-www-form-urlencoded",
                                                "Application/JSON; charset=utf-8", "text/plain", ""};
  auto type = kTypes[static_cast<unsigned char>(in[0]) % std::size(kTypes)];
  (void)body_params(type, in.substr(1));
  return 0;
}
