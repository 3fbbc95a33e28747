// Inferlet names on the 0.5 line: `name@MAJOR.MINOR.PATCH`, with no namespace and no `latest`.
// The gateway's endpoints name inferlets as 0.2 does (`std/name@1.2.3`); this maps them.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace pg::pie::v05 {

/// `std/NAME@X.Y.Z` or `NAME@X.Y.Z` -> `NAME@X.Y.Z`. Any other namespace, a missing version,
/// `latest`, or a version that is not three dot-separated numbers is an error saying why.
Result<std::string> inferlet_name(std::string_view name);

}  // namespace pg::pie::v05
