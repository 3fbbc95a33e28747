// Runs Debian's /usr/bin/python3 (never a pyenv shim from PATH) for tests that compare with CPython.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace pg::test {

inline constexpr const char* kSystemPython = "/usr/bin/python3";

/// Runs `script` with /usr/bin/python3 -I (isolated: no user site, no PYTHON* variables) and returns its
/// stdout; an error (with stderr) when python3 is missing or exits non-zero.
Result<std::string> run_python(const std::string& script);

std::string to_hex(std::string_view bytes);
std::string from_hex(std::string_view hex);

}  // namespace pg::test
