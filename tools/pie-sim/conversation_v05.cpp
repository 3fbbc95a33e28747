#include "conversation_v05.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <variant>

#include "inputs_v05.hpp"
#include "pie/v05/codec.hpp"
#include "pie/v05/names.hpp"
#include "util.hpp"

namespace pie_sim {

namespace v05 = pg::pie::v05;

namespace {

constexpr std::size_t kMaxFileUploadsInFlight = 64;

}  // namespace

Conversation05::Conversation05(World& world, Link05& link) : world_(world), link_(link) {}

void Conversation05::reply(std::uint32_t corr_id, bool ok, std::string result) {
  link_.send(v05::Response{corr_id, ok, std::move(result)});
}

void Conversation05::closed(bool detach) {
  if (closed_) return;
  closed_ = true;
  world_.processes.socket_closed(&link_, detach);
  program_upload_.reset();
  file_uploads_.clear();
}

bool Conversation05::admit() {
  const auto live = world_.processes.size();
  if (live < world_.config.max_processes) return true;
  spdlog::info("admission refused: {} live processes (--max-processes {})", live, world_.config.max_processes);
  link_.send_text(v05::encode_text_error("server at capacity: " + std::to_string(live) + " live processes"));
  link_.end();
  return false;
}

void Conversation05::undecodable(const std::string& error) {
  if (!admit()) return;
  link_.send_text(v05::encode_text_error("invalid message: " + error));
  link_.resume();
}

void Conversation05::handle(v05::ClientMessage msg) {
  if (!admit()) return;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, v05::AuthIdentify>) {
          reply(m.corr_id, true, "Already authenticated");
        } else if constexpr (std::is_same_v<T, v05::AuthProve>) {
          reply(m.corr_id, false, "Already authenticated");
        } else if constexpr (std::is_same_v<T, v05::AuthByToken>) {
          // 0.4.0 only: the 0.5 edge answers an unknown type with a text error (and no turn).
          link_.send_text(v05::encode_text_error("unknown message type 'auth_by_token'"));
          return;
        } else if constexpr (std::is_same_v<T, v05::Ping>) {
          reply(m.corr_id, true, "Pong");
        } else if constexpr (std::is_same_v<T, v05::Query>) {
          on_query(m);
        } else if constexpr (std::is_same_v<T, v05::CheckProgram>) {
          on_check(m);
        } else if constexpr (std::is_same_v<T, v05::AddProgram>) {
          on_add_program(m);
        } else if constexpr (std::is_same_v<T, v05::LaunchProcess>) {
          on_launch(m);
        } else if constexpr (std::is_same_v<T, v05::AttachProcess>) {
          world_.processes.attach(m.corr_id, m.process_id, link_.self05());
        } else if constexpr (std::is_same_v<T, v05::TerminateProcess>) {
          on_terminate(m);
        } else if constexpr (std::is_same_v<T, v05::SignalProcess>) {
          world_.processes.signal(m.process_id, std::move(m.message));
        } else if constexpr (std::is_same_v<T, v05::TransferFile>) {
          on_transfer_file(m);
        } else if constexpr (std::is_same_v<T, v05::ListProcesses>) {
          reply(m.corr_id, true, world_.processes.list_json());
        } else {
          static_assert(sizeof(T) == 0, "unhandled client message");
        }
        link_.send_text(v05::encode_turn_done());
      },
      msg);
  link_.resume();
}

void Conversation05::on_query(const v05::Query& m) {
  if (m.subject != "model_status") {
    spdlog::warn("unknown query subject '{}' (no reply)", m.subject);
    return;
  }
  nlohmann::json j = {{"pie-sim.kv_pages_used", 0},
                      {"pie-sim.kv_pages_total", 4096},
                      {"pie-sim.processes", world_.processes.size()},
                      {"pie-sim.sessions", world_.sessions.size()},
                      {"pie-sim.programs", world_.programs.size()}};
  reply(m.corr_id, true, j.dump());
}

void Conversation05::on_check(const v05::CheckProgram& m) {
  // 0.5 looks at name@version only (the hashes are ignored).
  const auto full = m.name + "@" + m.version;
  reply(m.corr_id, true, registry_v05_has(full) || world_.programs.find(full) ? "true" : "false");
}

void Conversation05::on_add_program(v05::AddProgram& m) {
  auto done = feed_program_chunk(program_upload_, m.program_hash, m.chunk_index, m.total_chunks, m.chunk_data,
                                 v05::kChunkSize);
  if (!done) return reply(m.corr_id, false, done.error());
  if (!*done) return;  // more chunks are due
  auto name = parse_manifest(m.manifest);  // "x" and "std/x" both come back as "std/x"
  if (!name) return reply(m.corr_id, false, name.error());
  if (name->name.rfind("std/", 0) != 0)
    return reply(m.corr_id, false,
                 "Failed to parse manifest: package name '" + name->name + "' has a namespace (0.5 names have none)");
  name->name.erase(0, 4);
  const auto hash = (*done)->hash();
  if (const auto* kept = world_.programs.find(name->full()); kept && !m.force_overwrite)
    return reply(m.corr_id, true, kept->hash);  // an existing name@version is kept: still success
  world_.programs.add(UploadedProgram{*name, hash, pg::hash::blake3_hex(m.manifest)});
  spdlog::info("program {} added ({})", name->full(), hash);
  reply(m.corr_id, true, hash);  // the hash of what name@version now runs
}

void Conversation05::on_launch(const v05::LaunchProcess& m) {
  if (world_.config.refuse_launches) return reply(m.corr_id, false, "launch refused (fault injection)");
  auto checked = v05::inferlet_name(m.inferlet);
  if (!checked || *checked != m.inferlet)  // the edge takes no namespace at all, not even std/
    return reply(m.corr_id, false, "Invalid inferlet name '" + m.inferlet + "': expected name@MAJOR.MINOR.PATCH");
  const bool uploaded = world_.programs.find(m.inferlet) != nullptr;
  if (!uploaded && !registry_v05_has(m.inferlet)) return reply(m.corr_id, false, "Inferlet not found: " + m.inferlet);
  auto launch = launch_v05(uploaded ? "echo@0.1.0" : m.inferlet, m.input);
  ProcessSpec spec;
  spec.inferlet = m.inferlet;
  spec.input = m.input;
  if (launch) {
    spec.program = uploaded ? "uploaded:" + m.inferlet : launch->program;
    spec.args = std::move(launch->args);
  } else {
    spec.failure = launch.error();
  }
  const auto id = world_.processes.create(std::move(spec), &link_, m.capture_outputs ? link_.self05() : nullptr);
  reply(m.corr_id, true, m.capture_outputs ? id : std::string());  // the id precedes any event
  world_.processes.start(id);
}

void Conversation05::on_terminate(const v05::TerminateProcess& m) {
  if (!world_.processes.exists(m.process_id)) return reply(m.corr_id, false, "Process not found");
  reply(m.corr_id, true, "Process terminated");  // precedes the `error` "Signal" event
  world_.processes.terminate(m.process_id);
}

void Conversation05::on_transfer_file(v05::TransferFile& m) {
  // Never answered: every problem drops the transfer silently (logged).
  auto drop = [&](const std::string& why) { spdlog::warn("transfer_file {} dropped: {}", m.file_hash, why); };
  if (m.chunk_data.size() > v05::kChunkSize) return drop("chunk above 256 KiB"), (void)file_uploads_.erase(m.file_hash);
  auto it = file_uploads_.find(m.file_hash);
  if (it == file_uploads_.end()) {
    if (file_uploads_.size() >= kMaxFileUploadsInFlight) return drop("too many transfers in flight");
    auto up = ChunkedUpload::begin(m.file_hash, m.chunk_index, m.total_chunks);
    if (!up) return drop(up.error());
    it = file_uploads_.emplace(m.file_hash, std::move(up).value()).first;
  }
  if (auto err = it->second.add(m.chunk_index, m.total_chunks, m.chunk_data)) {
    file_uploads_.erase(it);
    return drop(*err);
  }
  if (!it->second.complete()) return;
  auto err = it->second.verify();
  std::string bytes = it->second.take();
  file_uploads_.erase(it);
  if (err) return drop(*err);
  world_.processes.deliver_file(m.process_id, std::move(bytes));
}

}  // namespace pie_sim
