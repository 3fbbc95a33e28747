// Pie v0.2 codec: the messages of the v0.2 line, on the shared map machinery (pie/common/msgpack_map).
#include "pie/v02/codec.hpp"

#include <limits>

#include "pie/common/msgpack_map.hpp"

namespace pg::pie::v02 {

std::string event_name(std::uint32_t code) {
  switch (code) {
    case 0: return "Message";
    case 1: return "Completed";
    case 2: return "Aborted";
    case 3: return "Exception";
    case 4: return "ServerError";
    case 5: return "OutOfResources";
    default: return "Unknown(" + std::to_string(code) + ")";
  }
}

namespace {

using msgpack_map::Fields;
using msgpack_map::finish;
using msgpack_map::MapWriter;
using msgpack_map::Overloaded;

template <typename Launch>
std::string encode_launch(std::string_view type, const Launch& m) {
  return MapWriter(type, 4)
      .uint("corr_id", m.corr_id)
      .str("inferlet", m.inferlet)
      .strings("arguments", m.arguments)
      .boolean("detached", m.detached)
      .take();
}

// upload_blob and download_blob carry the same fields.
template <typename Blob>
std::string encode_blob_chunk(std::string_view type, const Blob& m) {
  return MapWriter(type, 6)
      .uint("corr_id", m.corr_id)
      .str("instance_id", m.instance_id)
      .str("blob_hash", m.blob_hash)
      .chunk(m)
      .take();
}

template <typename Blob>
Blob read_blob_chunk(Fields& f) {
  Blob m;
  m.corr_id = f.u32("corr_id");
  m.instance_id = f.str("instance_id");
  m.blob_hash = f.str("blob_hash");
  m.chunk_index = f.uint("chunk_index");
  m.total_chunks = f.uint("total_chunks");
  m.chunk_data = f.bytes("chunk_data");
  return m;
}

// Bounds for hostile frames: a message holds at most a few dozen fields and arrays of
// arguments/instances; depth beyond 6 is never legitimate.
msgpack::unpack_limit frame_limits() {
  return msgpack::unpack_limit(/*array*/ 65536, /*map*/ 1024, /*str*/ kMaxFrameBytes, /*bin*/ kMaxFrameBytes,
                               /*ext*/ 0, /*depth*/ 8);
}

Result<msgpack::object_handle> unpack_frame(std::string_view bytes, std::string& type) {
  if (bytes.size() > kMaxFrameBytes) return make_error("frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit");
  return msgpack_map::unpack_map(bytes, frame_limits(), type);
}

}  // namespace

const char* type_name(const ClientMessage& m) {
  static constexpr const char* kNames[] = {
      "identification",     "signature",       "internal_authenticate", "ping",
      "query",              "upload_program",  "launch_instance",       "launch_instance_from_registry",
      "attach_instance",    "launch_server_instance", "signal_instance", "upload_blob",
      "terminate_instance", "list_instances"};
  static_assert(std::size(kNames) == std::variant_size_v<ClientMessage>);
  return kNames[m.index()];
}

const char* type_name(const ServerMessage& m) {
  static constexpr const char* kNames[] = {"response",        "instance_launch_result", "instance_attach_result",
                                           "instance_event",  "streaming_output",       "download_blob",
                                           "live_instances",  "server_event"};
  static_assert(std::size(kNames) == std::variant_size_v<ServerMessage>);
  return kNames[m.index()];
}

std::string encode(const ClientMessage& msg) {
  const char* type = type_name(msg);
  return std::visit(
      Overloaded{
          [&](const Identification& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("username", m.username).take(); },
          [&](const Signature& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("signature", m.signature).take(); },
          [&](const InternalAuthenticate& m) { return MapWriter(type, 2).uint("corr_id", m.corr_id).str("token", m.token).take(); },
          [&](const Ping& m) { return MapWriter(type, 1).uint("corr_id", m.corr_id).take(); },
          [&](const Query& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).str("subject", m.subject).str("record", m.record).take();
          },
          [&](const UploadProgram& m) {
            return MapWriter(type, 6)
                .uint("corr_id", m.corr_id)
                .str("program_hash", m.program_hash)
                .str("manifest", m.manifest)
                .chunk(m)
                .take();
          },
          [&](const LaunchInstance& m) { return encode_launch(type, m); },
          [&](const LaunchInstanceFromRegistry& m) { return encode_launch(type, m); },
          [&](const AttachInstance& m) {
            return MapWriter(type, 2).uint("corr_id", m.corr_id).str("instance_id", m.instance_id).take();
          },
          [&](const LaunchServerInstance& m) {
            return MapWriter(type, 4)
                .uint("corr_id", m.corr_id)
                .uint("port", m.port)
                .str("inferlet", m.inferlet)
                .strings("arguments", m.arguments)
                .take();
          },
          [&](const SignalInstance& m) {
            return MapWriter(type, 2).str("instance_id", m.instance_id).str("message", m.message).take();
          },
          [&](const UploadBlob& m) { return encode_blob_chunk(type, m); },
          [&](const TerminateInstance& m) {
            return MapWriter(type, 2).uint("corr_id", m.corr_id).str("instance_id", m.instance_id).take();
          },
          [&](const ListInstances& m) { return MapWriter(type, 1).uint("corr_id", m.corr_id).take(); },
      },
      msg);
}

std::string encode(const ServerMessage& msg) {
  const char* type = type_name(msg);
  return std::visit(
      Overloaded{
          [&](const Response& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).boolean("successful", m.successful).str("result", m.result).take();
          },
          [&](const InstanceLaunchResult& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).boolean("successful", m.successful).str("message", m.message).take();
          },
          [&](const InstanceAttachResult& m) {
            return MapWriter(type, 3).uint("corr_id", m.corr_id).boolean("successful", m.successful).str("message", m.message).take();
          },
          [&](const InstanceEvent& m) {
            return MapWriter(type, 3).str("instance_id", m.instance_id).uint("event", m.event).str("message", m.message).take();
          },
          [&](const StreamingOutput& m) {
            MapWriter w(type, 2);
            w.str("instance_id", m.instance_id);
            w.raw_key("output").pack_map(1);
            w.pack_str(m.stream == Stream::Stdout ? "Stdout" : "Stderr");
            w.pack_str(m.text);
            return w.take();
          },
          [&](const DownloadBlob& m) { return encode_blob_chunk(type, m); },
          [&](const LiveInstances& m) {
            MapWriter w(type, 2);
            w.uint("corr_id", m.corr_id);
            auto& pk = w.raw_key("instances");
            pk.pack_array(static_cast<std::uint32_t>(m.instances.size()));
            for (const auto& i : m.instances) {
              pk.pack_map(6);
              w.pack_str("id"), w.pack_str(i.id);
              w.pack_str("arguments"), w.pack_strings(i.arguments);
              w.pack_str("status"), w.pack_str(i.status);
              w.pack_str("username"), w.pack_str(i.username);
              w.pack_str("elapsed_secs"), pk.pack_uint64(i.elapsed_secs);
              w.pack_str("kv_pages_used"), pk.pack_uint32(i.kv_pages_used);
            }
            return w.take();
          },
          [&](const ServerEvent& m) { return MapWriter(type, 1).str("message", m.message).take(); },
      },
      msg);
}

Result<ClientMessage> decode_client(std::string_view bytes) {
  std::string type;
  auto oh = unpack_frame(bytes, type);
  if (!oh) return make_error(oh.error());
  Fields f(oh->get(), type);
  auto launch = [&](auto m) -> Result<ClientMessage> {
    m.corr_id = f.u32("corr_id");
    m.inferlet = f.str("inferlet");
    m.arguments = f.strings("arguments");
    m.detached = f.boolean("detached");
    return finish<ClientMessage>(f, m);
  };
  if (type == "identification") return finish<ClientMessage>(f, Identification{f.u32("corr_id"), f.str("username")});
  if (type == "signature") return finish<ClientMessage>(f, Signature{f.u32("corr_id"), f.str("signature")});
  if (type == "internal_authenticate")
    return finish<ClientMessage>(f, InternalAuthenticate{f.u32("corr_id"), f.str("token")});
  if (type == "ping") return finish<ClientMessage>(f, Ping{f.u32("corr_id")});
  if (type == "query") {
    Query q;
    q.corr_id = f.u32("corr_id");
    q.subject = f.str("subject");
    q.record = f.str("record");
    return finish<ClientMessage>(f, q);
  }
  if (type == "upload_program") {
    UploadProgram m;
    m.corr_id = f.u32("corr_id");
    m.program_hash = f.str("program_hash");
    m.manifest = f.str("manifest");
    m.chunk_index = f.uint("chunk_index");
    m.total_chunks = f.uint("total_chunks");
    m.chunk_data = f.bytes("chunk_data");
    return finish<ClientMessage>(f, m);
  }
  if (type == "launch_instance") return launch(LaunchInstance{});
  if (type == "launch_instance_from_registry") return launch(LaunchInstanceFromRegistry{});
  if (type == "attach_instance") return finish<ClientMessage>(f, AttachInstance{f.u32("corr_id"), f.str("instance_id")});
  if (type == "launch_server_instance") {
    LaunchServerInstance m;
    m.corr_id = f.u32("corr_id");
    m.port = f.u32("port");
    m.inferlet = f.str("inferlet");
    m.arguments = f.strings("arguments");
    return finish<ClientMessage>(f, m);
  }
  if (type == "signal_instance") {
    SignalInstance m;
    m.instance_id = f.str("instance_id");
    m.message = f.str("message");
    return finish<ClientMessage>(f, m);
  }
  if (type == "upload_blob") return finish<ClientMessage>(f, read_blob_chunk<UploadBlob>(f));
  if (type == "terminate_instance")
    return finish<ClientMessage>(f, TerminateInstance{f.u32("corr_id"), f.str("instance_id")});
  if (type == "list_instances") return finish<ClientMessage>(f, ListInstances{f.u32("corr_id")});
  return make_error("unknown client message type '" + type + "'");
}

Result<ServerMessage> decode_server(std::string_view bytes) {
  std::string type;
  auto oh = unpack_frame(bytes, type);
  if (!oh) return make_error(oh.error());
  Fields f(oh->get(), type);
  auto reply = [&](auto m) -> Result<ServerMessage> {
    m.corr_id = f.u32("corr_id");
    m.successful = f.boolean("successful");
    if constexpr (requires { m.result; }) m.result = f.str("result");
    else m.message = f.str("message");
    return finish<ServerMessage>(f, m);
  };
  if (type == "response") return reply(Response{});
  if (type == "instance_launch_result") return reply(InstanceLaunchResult{});
  if (type == "instance_attach_result") return reply(InstanceAttachResult{});
  if (type == "instance_event") {
    InstanceEvent m;
    m.instance_id = f.str("instance_id");
    m.event = f.u32("event");
    m.message = f.str("message");
    return finish<ServerMessage>(f, m);
  }
  if (type == "streaming_output") {
    StreamingOutput m;
    m.instance_id = f.str("instance_id");
    const auto& out = f.need("output");
    if (f.ok()) {
      if (out.type != msgpack::type::MAP || out.via.map.size != 1 || out.via.map.ptr[0].key.type != msgpack::type::STR ||
          out.via.map.ptr[0].val.type != msgpack::type::STR) {
        f.fail("output", "must be a one-key map {\"Stdout\"|\"Stderr\": text}");
      } else {
        const auto& kv = out.via.map.ptr[0];
        std::string_view k(kv.key.via.str.ptr, kv.key.via.str.size);
        if (k == "Stdout") m.stream = Stream::Stdout;
        else if (k == "Stderr") m.stream = Stream::Stderr;
        else f.fail("output", "must be keyed Stdout or Stderr");
        m.text.assign(kv.val.via.str.ptr, kv.val.via.str.size);
      }
    }
    return finish<ServerMessage>(f, m);
  }
  if (type == "download_blob") return finish<ServerMessage>(f, read_blob_chunk<DownloadBlob>(f));
  if (type == "live_instances") {
    LiveInstances m;
    m.corr_id = f.u32("corr_id");
    const auto& arr = f.need("instances");
    if (f.ok() && arr.type != msgpack::type::ARRAY) f.fail("instances", "must be an array");
    if (f.ok()) {
      for (std::uint32_t i = 0; i < arr.via.array.size && f.ok(); ++i) {
        const auto& e = arr.via.array.ptr[i];
        if (e.type != msgpack::type::MAP) {
          f.fail("instances", "must hold maps");
          break;
        }
        Fields g(e, "live_instances.instances[]");
        InstanceInfo info;
        info.id = g.str("id");
        info.arguments = g.strings("arguments");
        info.status = g.str("status");
        info.username = g.str_or("username", "");
        info.elapsed_secs = g.uint_or("elapsed_secs", 0);
        info.kv_pages_used =
            static_cast<std::uint32_t>(g.uint_or("kv_pages_used", 0, std::numeric_limits<std::uint32_t>::max()));
        if (!g.ok()) f.fail_msg(g.error());
        m.instances.push_back(std::move(info));
      }
    }
    return finish<ServerMessage>(f, m);
  }
  if (type == "server_event") return finish<ServerMessage>(f, ServerEvent{f.str("message")});
  return make_error("unknown server message type '" + type + "'");
}

}  // namespace pg::pie::v02
