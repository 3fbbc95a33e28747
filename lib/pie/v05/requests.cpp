// Pie 0.5-line client session, protocol half: requests with their corr_ids, replies (all of
// them `response`), the routing of process events and files, and the 0.5 edge's text frames.
// The session's life is the shared core; the connect sequence is in auth.cpp.
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "hash/blake3.hpp"
#include "pie/v05/codec.hpp"
#include "pie/v05/connection.hpp"
#include "pie/v05/names.hpp"

namespace pg::pie::v05 {

namespace net = boost::asio;

namespace {
constexpr std::size_t kMaxLateLaunches = 256;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::uint64_t chunk_count(std::size_t bytes) {
  return std::max<std::uint64_t>(1, (bytes + kChunkSize - 1) / kChunkSize);
}
}  // namespace

// ---- frames in --------------------------------------------------------------------------

void Connection::handle_binary(std::string_view bytes) {
  auto msg = decode_server(bytes);
  if (!msg) {
    spdlog::warn("{}: dropping undecodable message ({} bytes): {}", name_, bytes.size(), msg.error());
    return;
  }
  last_error_text_.clear();
  std::visit(Overloaded{
                 [&](Response& m) { on_reply(m); },
                 [&](ProcessEvent& m) { on_event(m); },
                 [&](File& m) {
                   router_.on_chunk(m.process_id, m.file_hash, m.chunk_index, m.total_chunks, m.chunk_data);
                 },
             },
             *msg);
}

void Connection::handle_text(std::string_view frame) {
  auto t = decode_text(frame);
  switch (t.kind) {
    case TextFrame::Kind::TurnDone: return;
    case TextFrame::Kind::Error:
      spdlog::warn("{}: the server says: {}", name_, t.message);
      last_error_text_ = t.message.substr(0, 512);
      return;
    case TextFrame::Kind::Other:
      spdlog::debug("{}: ignoring a text frame ({})", name_, t.message.empty() ? "unreadable" : t.message);
      return;
  }
}

void Connection::on_transport_lost(std::string why) {
  // The edge refuses admission (and loses workers) with a text error, then closes the socket.
  if (!last_error_text_.empty())
    why = std::string(kAdmissionRefused) + " (\"" + last_error_text_ + "\") and closed the session: " + why;
  finish(std::move(why), /*by_client=*/false);
}

void Connection::on_reply(Response& m) {
  auto p = take_reply(m.corr_id);
  if (!p) {
    auto late = std::find(late_launches_.begin(), late_launches_.end(), m.corr_id);
    if (late != late_launches_.end()) {
      late_launches_.erase(late);
      if (m.ok) terminate_orphan(m.result);
    } else {
      spdlog::debug("{}: dropping a response for unknown or timed-out corr_id {}", name_, m.corr_id);
    }
    return;
  }
  Session::Done done = std::move(p->done);
  if (!m.ok) {
    if (done) done(make_error(m.result.empty() ? std::string(p->expect) + ": the server reported failure" : m.result));
    return;
  }
  if (p->sink) {
    std::string id = p->instance_id.empty() ? m.result : p->instance_id;
    if (id.empty()) {
      if (done) done(make_error(std::string(p->expect) + " succeeded without a process id"));
      return;
    }
    // Registered before `done` runs: events may follow in the very next frame.
    router_.add(id, std::move(*p->sink));
    if (p->instance_id.empty()) m.result = id;
  }
  if (done) done(std::move(m.result));
}

void Connection::on_event(ProcessEvent& m) {
  const auto& e = m.event;
  if (e == "stdout") return router_.on_stdout(m.process_id, m.value);
  if (e == "stderr") return router_.on_stderr(m.process_id, m.value);
  if (e == "message") return router_.on_message(m.process_id, m.value);
  if (e == "return") return router_.on_end(m.process_id, InstanceEnd::Completed, m.value);
  if (e == "error")
    return router_.on_end(m.process_id, m.value == "Signal" ? InstanceEnd::Aborted : InstanceEnd::Exception, m.value);
  spdlog::debug("{}: dropping unknown event '{}' of process {}", name_, e.substr(0, 64), m.process_id);
}

void Connection::on_request_timed_out(std::uint32_t corr_id, const PendingRequest& p) {
  if (!p.sink || !p.instance_id.empty()) return;  // only launches leave something behind
  late_launches_.push_back(corr_id);
  if (late_launches_.size() > kMaxLateLaunches) late_launches_.pop_front();
}

void Connection::terminate_orphan(const std::string& process_id) {
  if (state_ != State::Open || process_id.empty()) return;
  spdlog::warn("{}: launch of process {} succeeded after its request timed out: terminating it", name_, process_id);
  auto on_reply = [name = name_, process_id](Result<std::string> r) {
    if (!r) spdlog::warn("{}: terminating orphan {} failed: {}", name, process_id, r.error());
  };
  const auto id = expect_reply(pending("terminate_process reply", std::move(on_reply), /*internal=*/true),
                               opts_.request_timeout);
  send(TerminateProcess{id, process_id});
}

// ---- requests ---------------------------------------------------------------------------

void Connection::launch(LaunchRequest req, InstanceSink sink, Session::Done done) {
  if (!check_open(done)) return;
  auto name = inferlet_name(req.inferlet);
  std::string refused = !name ? name.error() : req.detached ? "Pie 0.5 has no detached launches" : "";
  if (!refused.empty()) {
    if (done) net::post(ex_, [done = std::move(done), refused = std::move(refused)] { done(make_error(refused)); });
    return;
  }
  auto p = pending("launch_process reply", std::move(done));
  p.sink = std::move(sink);
  const auto id = expect_reply(std::move(p), opts_.request_timeout);
  // The input comes from callers: too large a launch fails here, not the whole session at the server.
  send_bounded(encode(LaunchProcess{id, std::move(name).value(), std::move(req.input), /*capture_outputs=*/true}), id,
               "launch");
}

void Connection::attach(std::string process_id, InstanceSink sink, Session::Done done) {
  if (!check_open(done)) return;
  auto p = pending("attach_process reply", std::move(done));
  p.sink = std::move(sink);
  p.instance_id = process_id;
  const auto id = expect_reply(std::move(p), opts_.request_timeout);
  send(AttachProcess{id, std::move(process_id)});
}

void Connection::terminate(std::string process_id, Session::Done done) {
  if (!check_open(done)) return;
  const auto id = expect_reply(pending("terminate_process reply", std::move(done)), opts_.request_timeout);
  send(TerminateProcess{id, std::move(process_id)});
}

void Connection::signal(std::string process_id, std::string message) {
  if (state_ != State::Open) {
    spdlog::debug("{}: dropping signal for {}: session is not open", name_, process_id);
    return;
  }
  send(SignalProcess{std::move(process_id), std::move(message)});
}

void Connection::ping(Session::Done done) {
  if (!check_open(done)) return;
  send(Ping{expect_reply(pending("ping reply", std::move(done)), opts_.request_timeout)});
}

void Connection::query(std::string subject, std::string record, Session::Done done) {
  if (!check_open(done)) return;
  auto refuse = [&](std::string why) {
    if (done) net::post(ex_, [done = std::move(done), why = std::move(why)] { done(make_error(why)); });
  };
  if (subject == "program_exists") {
    // "ns/name@version#hash" (hash optional; "#wasm+manifest" keeps the wasm part).
    std::string hash;
    if (const auto h = record.find('#'); h != std::string::npos) {
      hash = record.substr(h + 1, record.find('+', h) == std::string::npos ? std::string::npos
                                                                           : record.find('+', h) - h - 1);
      record.resize(h);
    }
    auto name = inferlet_name(record);
    if (!name) return refuse(name.error());
    const auto at = name->find('@');
    CheckProgram m;
    m.corr_id = expect_reply(pending("check_program reply", std::move(done)), opts_.request_timeout);
    m.name = name->substr(0, at);
    m.version = name->substr(at + 1);
    if (!hash.empty()) m.wasm_hash = std::move(hash);
    return send(m);
  }
  if (subject != "model_status")
    return refuse("a Pie 0.5 server answers no '" + subject + "' query (only model_status)");
  const auto id = expect_reply(pending("query reply", std::move(done)), opts_.request_timeout);
  send(Query{id, std::move(subject), std::move(record)});
}

void Connection::launch_server(std::uint32_t, std::string, std::vector<std::string>, Session::Done done) {
  if (done)
    net::post(ex_, [done = std::move(done)] { done(make_error("Pie 0.5 servers have no daemons (launch_server_instance)")); });
}

void Connection::upload_blob(std::string process_id, std::string bytes, Session::Done done) {
  if (!check_open(done)) return;
  const auto hash = hash::blake3_hex(bytes);
  const auto total = chunk_count(bytes.size());
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto off = static_cast<std::size_t>(i) * kChunkSize;
    send(TransferFile{process_id, hash, i, total, bytes.substr(off, kChunkSize)});
  }
  std::string sent = "file of " + std::to_string(bytes.size()) + " bytes sent (Pie 0.5 does not acknowledge files)";
  if (done) net::post(ex_, [done = std::move(done), sent = std::move(sent)] { done(sent); });
}

void Connection::send_program(ProgramUpload u) {
  const std::string& bytes = *u.bytes;
  const auto total = chunk_count(bytes.size());
  // The server answers after the last chunk: give large programs time to travel (1 s per MiB).
  const auto timeout = opts_.request_timeout + std::chrono::milliseconds(bytes.size() >> 10);
  auto on_reply = [w = weak(), done = std::move(u.done)](Result<std::string> r) {
    if (done) done(std::move(r));
    if (auto self = w.lock()) self->on_program_done();
  };
  const auto id = expect_reply(pending("add_program reply", std::move(on_reply)), timeout);
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto off = static_cast<std::size_t>(i) * kChunkSize;
    send(AddProgram{id, u.hash, u.manifest, /*force_overwrite=*/false, i, total, bytes.substr(off, kChunkSize)});
  }
}

}  // namespace pg::pie::v05
