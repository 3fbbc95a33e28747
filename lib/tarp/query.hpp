// Query strings and form bodies as TARP reads them (Python's parse_qs, then "flattened":
// a key given once is a string, several times a list). Tolerant: raw spaces and bad
// %-escapes are kept as they are rather than rejected.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg::tarp {

/// Keys in order of first appearance, each with all its values.
using QueryParams = std::vector<std::pair<std::string, std::vector<std::string>>>;

/// Decode %XX and '+' (as space). Invalid escapes are kept literally.
std::string url_decode(std::string_view in);
/// Split "a=1&b=2&a=3" into {a:[1,3], b:[2]}. Empty pairs are skipped; "a" alone is a="".
QueryParams parse_query(std::string_view query);
/// Decode a path component ("/gateway%2Fjobs" stays one name after decoding).
std::string decode_path(std::string_view path);

}  // namespace pg::tarp
