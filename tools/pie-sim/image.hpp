// std/image: a registry program that sends back a small PNG as a blob (no input needed), so
// that the gateway's binary results can be tried and tested.
#pragma once

#include <memory>
#include <string>

#include "programs.hpp"

namespace pie_sim {

/// A `size` x `size` RGB PNG (stored, uncompressed deflate): a checkerboard of 4-pixel squares.
std::string checkerboard_png(unsigned size);

/// Its result is "png NxN, <n> bytes" (0.2) or "png <n> bytes" (0.5).
std::shared_ptr<Program> make_image_program(boost::asio::any_io_executor ex, Emitter& out, Dialect dialect);

}  // namespace pie_sim
