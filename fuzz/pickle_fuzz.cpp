// The safe pickle reader (lib/tarp/pickle_reader.cpp and friends): any bytes as a pickle. What
// it accepts is then written out again (repr, JSON, pickle) the way results are, and what the
// writer makes must read back as the same value.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/expansion.hpp"
#include "tarp/pickle.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pg;
  // As a request body is read: under the default expansion limit (common/expansion.hpp).
  auto v = tarp::unpickle(std::string_view(reinterpret_cast<const char*>(data), size),
                          tarp::PickleLimits::for_budget(kDefaultExpansionLimit));
  if (!v) return 0;
  (void)v->repr();
  (void)value::to_json(*v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (int protocol : {2, 5}) {
    // The writer spells memo-shared values out in full, so its pickle may be larger than the
    // input (never than the value's expanded size allows): the re-read is bounded by that.
    const std::string written = tarp::pickle(*v, protocol);
    tarp::PickleLimits again_limits;
    again_limits.max_input_bytes = std::max(again_limits.max_input_bytes, written.size());
    auto again = tarp::unpickle(written, again_limits);
    if (!again) std::abort();  // the writer made a pickle its own reader refuses
  }
  return 0;
}
