// Pie v0.2 client session, program uploads: `upload_program` messages in 256 KiB chunks under
// one corr_id, answered once after the last chunk. The core keeps them one at a time per session.
#include <utility>

#include <algorithm>

#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

void Connection::send_program(ProgramUpload u) {
  const std::string& bytes = *u.bytes;
  const std::uint64_t total = std::max<std::uint64_t>(1, (bytes.size() + kChunkSize - 1) / kChunkSize);
  // The server answers after the last chunk: give large programs time to travel (1 s per MiB).
  const auto timeout = opts_.request_timeout + std::chrono::milliseconds(bytes.size() >> 10);
  auto on_reply = [w = weak(), done = std::move(u.done)](Result<std::string> r) {
    if (done) done(std::move(r));
    if (auto self = w.lock()) self->on_program_done();
  };
  const auto id = expect_reply(pending("response", std::move(on_reply)), timeout);
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto off = static_cast<std::size_t>(i) * kChunkSize;
    send(UploadProgram{id, u.hash, u.manifest, i, total, bytes.substr(off, kChunkSize)});
  }
}

}  // namespace pg::pie::v02
