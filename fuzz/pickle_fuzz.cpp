// The safe pickle reader (lib/tarp/pickle_reader.cpp and friends): any bytes as a pickle. What
// it accepts is then written out again (repr, JSON, pickle) the way results are, and what the
// writer makes must read back as the same value.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tarp/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg;
  auto v = tarp::unpickle(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!v) return 0;
  (void)v->repr();
  (void)value::to_json(*v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (int protocol : {2, 5}) {
    auto again = tarp::unpickle(tarp::pickle(*v, protocol));
    if (!again) std::abort();  // the writer made a pickle its own reader refuses
  }
  return 0;
}
