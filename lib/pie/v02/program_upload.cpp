// Pie v0.2 client session, program uploads: `upload_program` messages in 256 KiB chunks under
// one corr_id, answered once after the last chunk. Pie keeps one program upload per session, so
// uploads wait here for the one in flight to be answered (or to fail) before they start.
#include <utility>

#include <algorithm>

#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

void Connection::upload_program(std::string program_hash, std::string manifest,
                                std::shared_ptr<const std::string> bytes, Session::Done done) {
  if (!check_open(done)) return;
  if (!bytes) bytes = std::make_shared<const std::string>();
  ProgramUpload u{std::move(program_hash), std::move(manifest), std::move(bytes), std::move(done)};
  if (program_in_flight_) {
    program_queue_.push_back(std::move(u));
    return;
  }
  send_program(std::move(u));
}

void Connection::send_program(ProgramUpload u) {
  program_in_flight_ = true;
  const std::string& bytes = *u.bytes;
  const std::uint64_t total = std::max<std::uint64_t>(1, (bytes.size() + kChunkSize - 1) / kChunkSize);
  // The server answers after the last chunk: give large programs time to travel (1 s per MiB).
  const auto timeout = opts_.request_timeout + std::chrono::milliseconds(bytes.size() >> 10);
  auto on_reply = [w = weak_from_this(), done = std::move(u.done)](Result<std::string> r) {
    if (done) done(std::move(r));
    if (auto self = w.lock()) self->on_program_done();
  };
  const auto id = expect_reply(pending("response", std::move(on_reply)), timeout);
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto off = static_cast<std::size_t>(i) * kChunkSize;
    send(UploadProgram{id, u.hash, u.manifest, i, total, bytes.substr(off, kChunkSize)});
  }
}

void Connection::on_program_done() {
  program_in_flight_ = false;
  if (state_ != State::Open || program_queue_.empty()) return;
  auto next = std::move(program_queue_.front());
  program_queue_.pop_front();
  send_program(std::move(next));
}

}  // namespace pg::pie::v02
