#include "conversation.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <random>
#include <variant>

#include "programs.hpp"

namespace pie_sim {

namespace v02 = pg::pie::v02;

namespace {

constexpr std::size_t kMaxBlobUploadsInFlight = 64;

bool same_secret(std::string_view given, std::string_view expected) {
  if (expected.empty() || given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

}  // namespace

Conversation::Conversation(World& world, Link& link) : world_(world), link_(link), delay_timer_(world.ex) {}

void Conversation::reply(std::uint32_t corr_id, bool ok, std::string result) {
  link_.send(v02::Response{corr_id, ok, std::move(result)});
}

void Conversation::closed() {
  closed_ = true;
  delay_timer_.cancel();
  world_.instances.detach_all(&link_);
  program_upload_.reset();
  blob_uploads_.clear();
}

void Conversation::handle(Msg msg) {
  if (stage_ != Stage::Ready) return handle_auth(msg);
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, v02::Identification> || std::is_same_v<T, v02::Signature> ||
                      std::is_same_v<T, v02::InternalAuthenticate>) {
          reply(m.corr_id, true, "Already authenticated");
        } else if constexpr (std::is_same_v<T, v02::Ping>) {
          reply(m.corr_id, true, "Pong");
        } else if constexpr (std::is_same_v<T, v02::Query>) {
          on_query(m);
        } else if constexpr (std::is_same_v<T, v02::UploadProgram>) {
          on_upload_program(m);
        } else if constexpr (std::is_same_v<T, v02::LaunchInstance>) {
          on_launch(m, false);
        } else if constexpr (std::is_same_v<T, v02::LaunchInstanceFromRegistry>) {
          on_launch(m, true);
        } else if constexpr (std::is_same_v<T, v02::AttachInstance>) {
          world_.instances.attach(m.corr_id, m.instance_id, link_.self());
        } else if constexpr (std::is_same_v<T, v02::LaunchServerInstance>) {
          on_launch_server(m);
        } else if constexpr (std::is_same_v<T, v02::SignalInstance>) {
          world_.instances.signal(m.instance_id, &link_, std::move(m.message));
        } else if constexpr (std::is_same_v<T, v02::UploadBlob>) {
          on_upload_blob(m);
        } else if constexpr (std::is_same_v<T, v02::TerminateInstance>) {
          on_terminate(m);
        } else if constexpr (std::is_same_v<T, v02::ListInstances>) {
          link_.send(v02::LiveInstances{m.corr_id, world_.instances.list(username_, internal_)});
        } else {
          static_assert(sizeof(T) == 0, "unhandled client message");
        }
      },
      msg);
  link_.resume();
}

// ---- authentication -----------------------------------------------------------------------

void Conversation::handle_auth(Msg& msg) {
  if (stage_ == Stage::Start) {
    if (auto* id = std::get_if<v02::Identification>(&msg)) return on_identification(*id);
    if (auto* in = std::get_if<v02::InternalAuthenticate>(&msg)) return on_internal(*in);
    spdlog::warn("session must start with identification or internal_authenticate, got {}", v02::type_name(msg));
    return link_.end();
  }
  if (auto* sig = std::get_if<v02::Signature>(&msg)) return on_signature(*sig);
  spdlog::warn("expected a signature, got {}", v02::type_name(msg));
  link_.end();
}

void Conversation::on_identification(const v02::Identification& m) {
  if (world_.config.auth == AuthMode::None) {
    username_ = m.username;
    stage_ = Stage::Ready;
    reply(m.corr_id, true, "Authenticated (Engine disabled authentication)");
    return link_.resume();
  }
  if (!world_.users.has_user(m.username)) {
    reply(m.corr_id, false, "User '" + m.username + "' is not authorized");
    return link_.end();
  }
  username_ = m.username;
  challenge_ = auth::random_bytes(48);
  stage_ = Stage::AwaitSignature;
  reply(m.corr_id, true, auth::base64_encode(challenge_));
  link_.resume();
}

void Conversation::on_signature(const v02::Signature& m) {
  auto sig = auth::base64_decode(m.signature);
  if (!sig) {
    reply(m.corr_id, false, "Invalid signature encoding");
    return link_.end();
  }
  if (!world_.users.verify(username_, challenge_, *sig)) {
    reply(m.corr_id, false, "Signature verification failed");
    return link_.end();
  }
  stage_ = Stage::Ready;
  reply(m.corr_id, true, "Authenticated");
  link_.resume();
}

void Conversation::on_internal(const v02::InternalAuthenticate& m) {
  const auto& cfg = world_.config;
  const bool ok = (cfg.auth == AuthMode::None && cfg.token.empty()) || same_secret(m.token, cfg.token);
  if (ok) {
    username_ = "internal";
    internal_ = true;
    stage_ = Stage::Ready;
    reply(m.corr_id, true, "Authenticated");
    return link_.resume();
  }
  // Timing-attack damping, as Pie does: answer a wrong token after a random delay.
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<std::uint32_t> dist(cfg.bad_token_delay_min_ms, cfg.bad_token_delay_max_ms);
  delay_timer_.expires_after(std::chrono::milliseconds(dist(rng)));
  delay_timer_.async_wait([this, keep = link_.self(), corr_id = m.corr_id](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    reply(corr_id, false, "Invalid token");
    link_.end();
  });
}

// ---- queries ------------------------------------------------------------------------------

void Conversation::on_query(const v02::Query& m) {
  if (m.subject == "program_exists") {
    const auto hash_at = m.record.find('#');
    const auto name = parse_program_name(std::string_view(m.record).substr(0, hash_at));
    const auto* p = world_.programs.find(name.full());
    bool exists = p != nullptr;
    if (p && hash_at != std::string::npos) {
      const std::string_view h = std::string_view(m.record).substr(hash_at + 1);
      const auto plus = h.find('+');
      exists = plus == std::string_view::npos
                   ? h == p->hash
                   : (h.substr(0, plus) == p->hash && h.substr(plus + 1) == p->manifest_hash);
    }
    return reply(m.corr_id, true, exists ? "true" : "false");
  }
  if (m.subject == "model_status") {
    nlohmann::json j = {{"model", "pie-sim"},
                        {"status", "ready"},
                        {"instances", world_.instances.size()},
                        {"running_instances", world_.instances.running()},
                        {"sessions", world_.sessions.size()},
                        {"uploaded_programs", world_.programs.size()}};
    return reply(m.corr_id, true, j.dump());
  }
  if (m.subject == "backend_stats") {
    std::string text;
    auto line = [&](std::string_view k, auto v) { text += fmt::format("{:<40} | {}\n", k, v); };
    line("backend", "pie-sim");
    line("instances.live", world_.instances.size());
    line("instances.running", world_.instances.running());
    line("sessions.live", world_.sessions.size());
    line("sessions.total", world_.sessions_total);
    line("programs.uploaded", world_.programs.size());
    return reply(m.corr_id, true, text);
  }
  spdlog::warn("unknown query subject '{}' (no reply)", m.subject);
}

// ---- program uploads ----------------------------------------------------------------------

void Conversation::on_upload_program(v02::UploadProgram& m) {
  auto done = feed_program_chunk(program_upload_, m.program_hash, m.chunk_index, m.total_chunks, m.chunk_data,
                                 v02::kChunkSize);
  if (!done) return reply(m.corr_id, false, done.error());
  if (!*done) return;  // more chunks are due
  auto name = parse_manifest(m.manifest);
  if (!name) return reply(m.corr_id, false, name.error());
  const auto hash = (*done)->hash();
  world_.programs.add(UploadedProgram{*name, hash, pg::hash::blake3_hex(m.manifest)});
  spdlog::info("program {} uploaded ({})", name->full(), hash);
  reply(m.corr_id, true, hash);
}

// ---- launches -----------------------------------------------------------------------------

std::optional<std::string> Conversation::resolve(std::string_view inferlet, bool registry_only) const {
  auto name = parse_program_name(inferlet);
  if (!registry_only && world_.programs.find(name.full())) return "uploaded:" + name.full();
  if (name.version == "latest") name.version = std::string(kRegistryLatest);
  if (registry_has(name.full())) return name.full();
  return std::nullopt;
}

template <typename Launch>
void Conversation::on_launch(const Launch& m, bool registry_only) {
  if (world_.config.refuse_launches)
    return link_.send(v02::InstanceLaunchResult{m.corr_id, false, "launch refused (fault injection)"});
  auto program = resolve(m.inferlet, registry_only);
  if (!program) {
    const auto name = parse_program_name(m.inferlet).full();
    return link_.send(v02::InstanceLaunchResult{
        m.corr_id, false,
        registry_only ? "Inferlet '" + name + "' not found in the registry"
                      : "Inferlet '" + name + "' not found (neither uploaded nor in the registry)"});
  }
  auto id = world_.instances.create(*program, m.arguments, username_, m.detached ? nullptr : link_.self());
  if (!id) return link_.send(v02::InstanceLaunchResult{m.corr_id, false, "Too many instances"});
  link_.send(v02::InstanceLaunchResult{m.corr_id, true, *id});  // the id precedes any output
  world_.instances.start(*id);
}

void Conversation::on_launch_server(const v02::LaunchServerInstance& m) {
  if (world_.config.refuse_launches) return reply(m.corr_id, false, "launch refused (fault injection)");
  if (m.port == 0 || m.port > 65535) return reply(m.corr_id, false, "Invalid port " + std::to_string(m.port));
  if (!resolve(m.inferlet, false)) return reply(m.corr_id, false, "Program not found");
  reply(m.corr_id, true, "Server instance launched on port " + std::to_string(m.port));
}

// ---- blobs and termination ----------------------------------------------------------------

void Conversation::on_upload_blob(v02::UploadBlob& m) {
  auto id = normalize_uuid(m.instance_id);
  if (!id) return reply(m.corr_id, false, "Invalid instance_id: " + m.instance_id);
  if (!world_.instances.attached_to(*id, &link_))
    return reply(m.corr_id, false, "Instance not owned by client: " + m.instance_id);
  auto it = blob_uploads_.find(m.blob_hash);
  if (it == blob_uploads_.end()) {
    if (blob_uploads_.size() >= kMaxBlobUploadsInFlight) return reply(m.corr_id, false, "Too many blob uploads in flight");
    auto up = ChunkedUpload::begin(m.blob_hash, m.chunk_index, m.total_chunks);
    if (!up) return reply(m.corr_id, false, up.error());
    it = blob_uploads_.emplace(m.blob_hash, std::move(up).value()).first;
  }
  if (auto err = it->second.add(m.chunk_index, m.total_chunks, m.chunk_data)) {
    blob_uploads_.erase(it);
    return reply(m.corr_id, false, *err);
  }
  if (!it->second.complete()) return;
  auto err = it->second.verify();
  std::string bytes = it->second.take();
  blob_uploads_.erase(it);
  if (err) return reply(m.corr_id, false, *err);
  reply(m.corr_id, true, "Blob sent to instance");
  world_.instances.deliver_blob(*id, &link_, std::move(bytes));
}

void Conversation::on_terminate(const v02::TerminateInstance& m) {
  if (!normalize_uuid(m.instance_id)) return reply(m.corr_id, false, "Malformed instance ID");
  reply(m.corr_id, true, "Instance terminated");  // precedes the Aborted event
  world_.instances.terminate(m.instance_id);
}

}  // namespace pie_sim
