// The 0.5 mode's registry: its names (`echo@0.1.0`, no namespace) and JSON inputs, mapped onto the
// shared programs (programs.hpp) and their argument lists. Pure functions, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pie_sim {

/// The 0.5 registry: echo, text-completion, sleep, fail, chat, file-echo, image, all @0.1.0.
const std::vector<std::string>& registry_v05();
bool registry_v05_has(std::string_view name);

/// What a 0.5 launch runs: the shared program's name (for make_program) and its arguments.
struct Launch05 {
  std::string program;
  std::vector<std::string> args;
};

/// Maps a 0.5 registry name (an uploaded program passes "echo@0.1.0": it behaves like echo) and
/// its input to a program. The error is the process's `error` text: "invalid input: ...".
/// Programs that ignore their input (fail, chat, file-echo) accept any text, even non-JSON.
pg::Result<Launch05> launch_v05(std::string_view name, std::string_view input);

}  // namespace pie_sim
