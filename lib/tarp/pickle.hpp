// A safe subset of Python's pickle, as TARP RPC bodies carry it: only plain data (None, bool, int, float,
// str, bytes, bytearray, tuple, list, dict, set, frozenset) in protocols 0-5. Anything that names or
// calls code is refused (except the few builtins CPython itself uses to pickle those types under old
// protocols: _codecs.encode, bytes, bytearray, set and frozenset, each accepted only applied to literal
// arguments of the shape CPython writes). Every input is bounded; errors come back as Result errors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "value/value.hpp"

namespace pg::tarp {

struct PickleLimits {
  std::size_t max_input_bytes = 16u << 20;    // the whole pickle
  std::size_t max_depth = 512;                // open MARKs, and nesting of the result
  std::size_t max_elements = 1'000'000;       // values created while reading, values on the stack,
                                              // and values in the result (shared references count each time)
  std::size_t max_memo = 100'000;             // memo entries
  std::size_t max_bigint_bytes = 4096;        // LONG1/LONG4 payload; INT/LONG text: 2.5 digits per byte
  std::size_t max_output_bytes = 64u << 20;   // str/bytes/int payload bytes in the result (shared references
                                              // count each time, so [s]*n via the memo cannot blow up)
  /// How errors name max_output_bytes and max_elements ("" = by those field names).
  std::string limit_name;

  /// The limits for a request body under the expansion limit `budget` (common/expansion.hpp): at
  /// most `budget` payload bytes and budget / kExpansionFactor values (about one per body byte, what
  /// a pickle without memo references can hold), each counted as often as it is referenced. The
  /// result's size is measured on the object graph, before any of it is copied into a Value.
  static PickleLimits for_budget(std::size_t budget);
};

/// Reads one pickle (protocols 0-5) that must end exactly at its STOP.
/// Errors start with "pickle refused:" (code references, out-of-band buffers, limits) or "invalid pickle:"
/// (malformed input) and name the opcode and its byte offset.
Result<value::Value> unpickle(std::string_view data, const PickleLimits& limits = {});

/// Pickles `v` the way CPython's pickle.dumps does (no memo, no frames), so that every CPython 3 reads
/// it with plain pickle.loads. `protocol` is clamped to 2..5. Under protocols < 4 sets and frozensets
/// (and under < 5 bytearrays, under 2 bytes) use the builtins CPython itself uses. Ill-formed UTF-8 in
/// a str is written with U+FFFD replacements (Python would refuse to load it).
std::string pickle(const value::Value& v, int protocol = 4);

}  // namespace pg::tarp
