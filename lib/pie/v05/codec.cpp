// Pie 0.5-line codec: the messages of the 0.5 line, on the map machinery it shares with the
// v0.2 codec (pie/common/msgpack_map), and the edge's JSON text frames.
#include "pie/v05/codec.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>

#include "pie/common/msgpack_map.hpp"

namespace pg::pie::v05 {

namespace {

using msgpack_map::count;
using msgpack_map::Fields;
using msgpack_map::finish;
using msgpack_map::MapWriter;
using msgpack_map::Overloaded;

/// msgpack bin; a str is accepted too (its bytes), as the v0.2 codec does. An ext (what the npm
/// client makes of a Uint8Array) is refused with a hint.
std::string chunk_bytes(Fields& f, std::string_view key) {
  const auto* o = f.find(key);
  if (f.ok() && o && o->type == msgpack::type::EXT)
    return f.fail(key, "must be bytes (msgpack bin), got an ext (a Uint8Array? send a Buffer)"), std::string{};
  return f.bytes(key, "must be bytes (msgpack bin)");
}

template <typename Chunked>
void read_chunk(Fields& f, Chunked& m) {
  m.chunk_index = f.uint("chunk_index");
  m.total_chunks = f.uint("total_chunks");
  m.chunk_data = chunk_bytes(f, "chunk_data");
}

// A message has a handful of fields and no arrays; depth beyond 4 is never legitimate.
msgpack::unpack_limit frame_limits() {
  return msgpack::unpack_limit(/*array*/ 1024, /*map*/ 1024, /*str*/ kMaxFrameBytes, /*bin*/ kMaxFrameBytes,
                               /*ext*/ kMaxFrameBytes, /*depth*/ 8);
}

Result<msgpack::object_handle> unpack_frame(std::string_view bytes, std::string& type) {
  if (bytes.size() > kMaxFrameBytes)
    return make_error("frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                      std::to_string(kMaxFrameBytes));
  return msgpack_map::unpack_map(bytes, frame_limits(), type);
}

/// Deepest nesting of JSON arrays/objects in `text` (strings skipped), stopping past `limit`.
int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

const char* type_name(const ClientMessage& m) {
  static constexpr const char* kNames[] = {"auth_identify",  "auth_prove",        "auth_by_token",  "ping",
                                           "query",          "check_program",     "add_program",    "launch_process",
                                           "attach_process", "terminate_process", "signal_process", "transfer_file",
                                           "list_processes"};
  static_assert(std::size(kNames) == std::variant_size_v<ClientMessage>);
  return kNames[m.index()];
}

const char* type_name(const ServerMessage& m) {
  static constexpr const char* kNames[] = {"response", "process_event", "file"};
  static_assert(std::size(kNames) == std::variant_size_v<ServerMessage>);
  return kNames[m.index()];
}

std::string encode(const ClientMessage& msg) {
  const char* type = type_name(msg);
  return std::visit(
      Overloaded{
          [&](const AuthIdentify& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("username", m.username).take(); },
          [&](const AuthProve& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("signature", m.signature).take(); },
          [&](const AuthByToken& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("token", m.token).take(); },
          [&](const Ping& m) { return MapWriter(type, 1).uint("corr_id", m.corr_id).take(); },
          [&](const Query& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).str("subject", m.subject).str("record", m.record).take();
          },
          [&](const CheckProgram& m) {
            return MapWriter(type, 3 + count(m.wasm_hash) + count(m.manifest_hash))
                .uint("corr_id", m.corr_id)
                .str("name", m.name)
                .str("version", m.version)
                .opt_str("wasm_hash", m.wasm_hash)
                .opt_str("manifest_hash", m.manifest_hash)
                .take();
          },
          [&](const AddProgram& m) {
            return MapWriter(type, 7)
                .uint("corr_id", m.corr_id)
                .str("program_hash", m.program_hash)
                .str("manifest", m.manifest)
                .boolean("force_overwrite", m.force_overwrite)
                .chunk(m)
                .take();
          },
          [&](const LaunchProcess& m) {
            return MapWriter(type, 4)
                .uint("corr_id", m.corr_id)
                .str("inferlet", m.inferlet)
                .str("input", m.input)
                .boolean("capture_outputs", m.capture_outputs)
                .take();
          },
          [&](const AttachProcess& m) {
            return MapWriter(type, 2).uint("corr_id", m.corr_id).str("process_id", m.process_id).take();
          },
          [&](const TerminateProcess& m) {
            return MapWriter(type, 2).uint("corr_id", m.corr_id).str("process_id", m.process_id).take();
          },
          [&](const SignalProcess& m) {
            return MapWriter(type, 2).str("process_id", m.process_id).str("message", m.message).take();
          },
          [&](const TransferFile& m) {
            return MapWriter(type, 5).str("process_id", m.process_id).str("file_hash", m.file_hash).chunk(m).take();
          },
          [&](const ListProcesses& m) { return MapWriter(type, 1).uint("corr_id", m.corr_id).take(); },
      },
      msg);
}

std::string encode(const ServerMessage& msg) {
  const char* type = type_name(msg);
  return std::visit(
      Overloaded{
          [&](const Response& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).boolean("ok", m.ok).str("result", m.result).take();
          },
          [&](const ProcessEvent& m) {
            return MapWriter(type, 3).str("process_id", m.process_id).str("event", m.event).str("value", m.value).take();
          },
          [&](const File& m) {
            return MapWriter(type, 5 + count(m.name))
                .str("process_id", m.process_id)
                .str("file_hash", m.file_hash)
                .chunk(m)
                .opt_str("name", m.name)
                .take();
          },
      },
      msg);
}

Result<ClientMessage> decode_client(std::string_view bytes) {
  std::string type;
  auto oh = unpack_frame(bytes, type);
  if (!oh) return make_error(oh.error());
  Fields f(oh->get(), type);
  if (type == "auth_identify") return finish<ClientMessage>(f, AuthIdentify{f.u32("corr_id"), f.str("username")});
  if (type == "auth_prove") return finish<ClientMessage>(f, AuthProve{f.u32("corr_id"), f.str("signature")});
  if (type == "auth_by_token") return finish<ClientMessage>(f, AuthByToken{f.u32("corr_id"), f.str("token")});
  if (type == "ping") return finish<ClientMessage>(f, Ping{f.u32("corr_id")});
  if (type == "query") {
    Query m;
    m.corr_id = f.u32("corr_id");
    m.subject = f.str("subject");
    m.record = f.str("record");
    return finish<ClientMessage>(f, m);
  }
  if (type == "check_program") {
    CheckProgram m;
    m.corr_id = f.u32("corr_id");
    m.name = f.str("name");
    m.version = f.str("version");
    m.wasm_hash = f.opt_str("wasm_hash");
    m.manifest_hash = f.opt_str("manifest_hash");
    return finish<ClientMessage>(f, m);
  }
  if (type == "add_program") {
    AddProgram m;
    m.corr_id = f.u32("corr_id");
    m.program_hash = f.str("program_hash");
    m.manifest = f.str("manifest");
    m.force_overwrite = f.boolean("force_overwrite");
    read_chunk(f, m);
    return finish<ClientMessage>(f, m);
  }
  if (type == "launch_process") {
    LaunchProcess m;
    m.corr_id = f.u32("corr_id");
    m.inferlet = f.str("inferlet");
    m.input = f.str("input");
    m.capture_outputs = f.boolean("capture_outputs");
    return finish<ClientMessage>(f, m);
  }
  if (type == "attach_process") return finish<ClientMessage>(f, AttachProcess{f.u32("corr_id"), f.str("process_id")});
  if (type == "terminate_process")
    return finish<ClientMessage>(f, TerminateProcess{f.u32("corr_id"), f.str("process_id")});
  if (type == "signal_process") {
    SignalProcess m;
    m.process_id = f.str("process_id");
    m.message = f.str("message");
    return finish<ClientMessage>(f, m);
  }
  if (type == "transfer_file") {
    TransferFile m;
    m.process_id = f.str("process_id");
    m.file_hash = f.str("file_hash");
    read_chunk(f, m);
    return finish<ClientMessage>(f, m);
  }
  if (type == "list_processes") return finish<ClientMessage>(f, ListProcesses{f.u32("corr_id")});
  return make_error("unknown client message type '" + type + "'");
}

Result<ServerMessage> decode_server(std::string_view bytes) {
  std::string type;
  auto oh = unpack_frame(bytes, type);
  if (!oh) return make_error(oh.error());
  Fields f(oh->get(), type);
  if (type == "response") {
    Response m;
    m.corr_id = f.u32("corr_id");
    m.ok = f.boolean("ok");
    m.result = f.str("result");
    return finish<ServerMessage>(f, m);
  }
  if (type == "process_event") {
    ProcessEvent m;
    m.process_id = f.str("process_id");
    m.event = f.str("event");
    m.value = f.str("value");
    return finish<ServerMessage>(f, m);
  }
  if (type == "file") {
    File m;
    m.process_id = f.str("process_id");
    m.file_hash = f.str("file_hash");
    read_chunk(f, m);
    m.name = f.opt_str("name");
    return finish<ServerMessage>(f, m);
  }
  return make_error("unknown server message type '" + type + "'");
}

TextFrame decode_text(std::string_view text) {
  TextFrame out;
  // Bounded: a frame of the edge is small; refuse anything huge or deep before parsing it.
  if (text.size() > kMaxFrameBytes || json_depth(text, 32) > 32) return out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return out;
  const auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return out;
  const auto& type = t->get_ref<const std::string&>();
  if (type == "turn_done") {
    out.kind = TextFrame::Kind::TurnDone;
  } else if (type == "error") {
    out.kind = TextFrame::Kind::Error;
    const auto m = j.find("message");
    if (m != j.end()) out.message = m->is_string() ? m->get<std::string>() : m->dump();
  } else {
    out.message = type;
  }
  return out;
}

std::string encode_turn_done() { return R"({"type":"turn_done"})"; }

std::string encode_text_error(std::string_view message) {
  // dump() with replacement: a message that is not valid UTF-8 still makes valid JSON.
  return nlohmann::ordered_json{{"type", "error"}, {"message", std::string(message)}}.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace pg::pie::v05
