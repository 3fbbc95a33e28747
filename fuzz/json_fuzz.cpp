// JSON text into a Value (lib/value/json_parse.cpp: exact big integers, bounded depth), and the
// Value back to JSON and to the argument text an inferlet gets.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "value/value.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg::value;
  auto v = parse_json(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!v) return 0;
  auto text = to_text(*v);
  auto j = to_json(*v);
  (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!from_json(j)) std::abort();  // a value read from JSON has a JSON form that reads back
  (void)v->repr();
  (void)text;
  return 0;
}
