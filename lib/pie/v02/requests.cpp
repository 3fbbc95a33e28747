// Pie v0.2 client session, protocol half: requests with their corr_ids, replies, and routing of
// per-instance frames. The session's life is the shared core, authentication in auth.cpp,
// program uploads in program_upload.cpp.
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "hash/blake3.hpp"
#include "pie/v02/codec.hpp"
#include "pie/v02/connection.hpp"

namespace pg::pie::v02 {

namespace net = boost::asio;

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;
}  // namespace

void Connection::handle_binary(std::string_view bytes) {
  auto msg = decode_server(bytes);
  if (!msg) {
    spdlog::warn("{}: dropping undecodable message ({} bytes): {}", name_, bytes.size(), msg.error());
    return;
  }
  std::visit(Overloaded{
                 [&](Response& m) { on_reply(m.corr_id, "response", m.successful, std::move(m.result)); },
                 [&](InstanceLaunchResult& m) {
                   on_reply(m.corr_id, "instance_launch_result", m.successful, std::move(m.message));
                 },
                 [&](InstanceAttachResult& m) {
                   on_reply(m.corr_id, "instance_attach_result", m.successful, std::move(m.message));
                 },
                 [&](InstanceEvent& m) { on_event(m); },
                 [&](StreamingOutput& m) {
                   if (m.stream == Stream::Stdout) router_.on_stdout(m.instance_id, m.text);
                   else router_.on_stderr(m.instance_id, m.text);
                 },
                 [&](DownloadBlob& m) {
                   router_.on_chunk(m.instance_id, m.blob_hash, m.chunk_index, m.total_chunks, m.chunk_data);
                 },
                 [&](LiveInstances& m) {
                   on_reply(m.corr_id, "live_instances", true, std::to_string(m.instances.size()));
                 },
                 [&](ServerEvent& m) { spdlog::info("{}: server event: {}", name_, m.message); },
             },
             *msg);
}

void Connection::on_event(const InstanceEvent& m) {
  if (m.event == static_cast<std::uint32_t>(EventCode::Message)) return router_.on_message(m.instance_id, m.message);
  if (!is_terminal(m.event)) {
    spdlog::warn("{}: dropping event with unknown code {} for instance {}", name_, m.event, m.instance_id);
    return;
  }
  router_.on_end(m.instance_id, static_cast<InstanceEnd>(m.event - 1), m.message);
}

void Connection::on_reply(std::uint32_t corr_id, const char* type, bool successful, std::string text) {
  auto p = take_reply(corr_id);
  if (!p) {
    if (successful && std::string_view(type) == "instance_launch_result") {
      terminate_orphan(text);
    } else if (successful && std::string_view(type) == "instance_attach_result") {
      spdlog::warn("{}: late attach reply (corr_id {}): the instance is attached with no listener", name_, corr_id);
    } else {
      spdlog::debug("{}: dropping {} for unknown or timed-out corr_id {}", name_, type, corr_id);
    }
    return;
  }
  Session::Done done = std::move(p->done);
  if (!successful) {
    if (done) done(make_error(text.empty() ? std::string(type) + " reported failure" : text));
    return;
  }
  if (std::string_view(type) != p->expect) {
    if (done) done(make_error(std::string("unexpected ") + type + " reply (expected " + p->expect + ")"));
    return;
  }
  if (p->sink) {
    std::string id = p->instance_id.empty() ? text : p->instance_id;
    if (id.empty()) {
      if (done) done(make_error(std::string(type) + " succeeded without an instance id"));
      return;
    }
    // Registered before `done` runs: output may follow in the very next frame.
    router_.add(id, std::move(*p->sink));
    if (p->instance_id.empty()) text = id;
  }
  if (done) done(std::move(text));
}

// ---- requests ---------------------------------------------------------------------------

void Connection::terminate_orphan(const std::string& instance_id) {
  if (state_ != State::Open || instance_id.empty()) return;
  spdlog::warn("{}: launch of instance {} succeeded after its request timed out: terminating it", name_,
               instance_id);
  auto on_reply = [name = name_, instance_id](Result<std::string> r) {
    if (!r) spdlog::warn("{}: terminating orphan {} failed: {}", name, instance_id, r.error());
  };
  const auto id = expect_reply(pending("response", std::move(on_reply), /*internal=*/true), opts_.request_timeout);
  send(TerminateInstance{id, instance_id});
}

void Connection::launch(LaunchRequest req, InstanceSink sink, Session::Done done) {
  if (!check_open(done)) return;
  auto p = pending("instance_launch_result", std::move(done));
  if (!req.detached) p.sink = std::move(sink);  // detached output stays on the server
  const auto id = expect_reply(std::move(p), opts_.request_timeout);
  // Arguments come from callers: too large a launch fails here, not the whole session at the server.
  if (req.from_registry)
    send_bounded(encode(LaunchInstanceFromRegistry{id, std::move(req.inferlet), std::move(req.arguments), req.detached}), id,
                 "launch");
  else
    send_bounded(encode(LaunchInstance{id, std::move(req.inferlet), std::move(req.arguments), req.detached}), id, "launch");
}

void Connection::attach(std::string instance_id, InstanceSink sink, Session::Done done) {
  if (!check_open(done)) return;
  auto p = pending("instance_attach_result", std::move(done));
  p.sink = std::move(sink);
  p.instance_id = instance_id;
  const auto id = expect_reply(std::move(p), opts_.request_timeout);
  send(AttachInstance{id, std::move(instance_id)});
}

void Connection::terminate(std::string instance_id, Session::Done done) {
  if (!check_open(done)) return;
  const auto id = expect_reply(pending("response", std::move(done)), opts_.request_timeout);
  send(TerminateInstance{id, std::move(instance_id)});
}

void Connection::signal(std::string instance_id, std::string message) {
  if (state_ != State::Open) {
    spdlog::debug("{}: dropping signal for {}: session is not open", name_, instance_id);
    return;
  }
  send(SignalInstance{std::move(instance_id), std::move(message)});
}

void Connection::ping(Session::Done done) {
  if (!check_open(done)) return;
  send(Ping{expect_reply(pending("response", std::move(done)), opts_.request_timeout)});
}

void Connection::query(std::string subject, std::string record, Session::Done done) {
  if (!check_open(done)) return;
  const auto id = expect_reply(pending("response", std::move(done)), opts_.request_timeout);
  send(Query{id, std::move(subject), std::move(record)});
}

void Connection::launch_server(std::uint32_t port, std::string inferlet, std::vector<std::string> arguments,
                               Session::Done done) {
  if (!check_open(done)) return;
  const auto id = expect_reply(pending("response", std::move(done)), opts_.request_timeout);
  send(LaunchServerInstance{id, port, std::move(inferlet), std::move(arguments)});
}

void Connection::upload_blob(std::string instance_id, std::string bytes, Session::Done done) {
  if (!check_open(done)) return;
  const auto hash = hash::blake3_hex(bytes);
  const std::uint64_t total = std::max<std::uint64_t>(1, (bytes.size() + kChunkSize - 1) / kChunkSize);
  // One corr_id for every chunk; the server answers once, after the last.
  const auto id = expect_reply(pending("response", std::move(done)), opts_.request_timeout);
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto off = static_cast<std::size_t>(i) * kChunkSize;
    send(UploadBlob{id, instance_id, hash, i, total, bytes.substr(off, kChunkSize)});
  }
}

}  // namespace pg::pie::v02
