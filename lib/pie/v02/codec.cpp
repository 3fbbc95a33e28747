#include "pie/v02/codec.hpp"

#include <msgpack.hpp>

#include <limits>
#include <optional>

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

// ---- encoding ---------------------------------------------------------------------------

struct StringSink {
  std::string out;
  void write(const char* data, std::size_t n) { out.append(data, n); }
};

class MapWriter {
 public:
  MapWriter(std::string_view type, std::uint32_t fields) : pk_(sink_) {
    pk_.pack_map(fields + 1);
    str("type", type);
  }
  MapWriter& str(std::string_view key, std::string_view v) {
    pk_.pack_str(static_cast<std::uint32_t>(key.size())).pack_str_body(key.data(), key.size());
    pk_.pack_str(static_cast<std::uint32_t>(v.size())).pack_str_body(v.data(), v.size());
    return *this;
  }
  MapWriter& bin(std::string_view key, std::string_view v) {
    k(key);
    pk_.pack_bin(static_cast<std::uint32_t>(v.size())).pack_bin_body(v.data(), v.size());
    return *this;
  }
  MapWriter& uint(std::string_view key, std::uint64_t v) {
    k(key);
    pk_.pack_uint64(v);
    return *this;
  }
  MapWriter& boolean(std::string_view key, bool v) {
    k(key);
    v ? pk_.pack_true() : pk_.pack_false();
    return *this;
  }
  MapWriter& strings(std::string_view key, const std::vector<std::string>& v) {
    k(key);
    pack_strings(v);
    return *this;
  }
  msgpack::packer<StringSink>& raw_key(std::string_view key) {
    k(key);
    return pk_;
  }
  void pack_strings(const std::vector<std::string>& v) {
    pk_.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) pk_.pack_str(static_cast<std::uint32_t>(s.size())).pack_str_body(s.data(), s.size());
  }
  void pack_str(std::string_view s) {
    pk_.pack_str(static_cast<std::uint32_t>(s.size())).pack_str_body(s.data(), s.size());
  }
  std::string take() { return std::move(sink_.out); }

 private:
  void k(std::string_view key) { pk_.pack_str(static_cast<std::uint32_t>(key.size())).pack_str_body(key.data(), key.size()); }
  StringSink sink_;
  msgpack::packer<StringSink> pk_;
};

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

template <typename Launch>
std::string encode_launch(std::string_view type, const Launch& m) {
  return MapWriter(type, 4)
      .uint("corr_id", m.corr_id)
      .str("inferlet", m.inferlet)
      .strings("arguments", m.arguments)
      .boolean("detached", m.detached)
      .take();
}

template <typename Chunked>
MapWriter& chunk_fields(MapWriter& w, const Chunked& m) {
  return w.uint("chunk_index", m.chunk_index).uint("total_chunks", m.total_chunks).bin("chunk_data", m.chunk_data);
}

// ---- decoding ---------------------------------------------------------------------------

class Fields {
 public:
  Fields(const msgpack::object& map, std::string_view type) : map_(map.via.map), type_(type) {}

  const msgpack::object* find(std::string_view key) const {
    for (std::uint32_t i = 0; i < map_.size; ++i) {
      const auto& k = map_.ptr[i].key;
      if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
        return &map_.ptr[i].val;
    }
    return nullptr;
  }
  const msgpack::object& need(std::string_view key) {
    const auto* o = find(key);
    if (!o) fail(key, "is missing");
    return o ? *o : nil_;
  }
  std::string str(std::string_view key) {
    const auto& o = need(key);
    if (!ok_) return {};
    if (o.type != msgpack::type::STR) return fail(key, "must be a string"), std::string{};
    return std::string(o.via.str.ptr, o.via.str.size);
  }
  std::string bytes(std::string_view key) {
    const auto& o = need(key);
    if (!ok_) return {};
    if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
    if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
    return fail(key, "must be bytes"), std::string{};
  }
  std::uint64_t uint(std::string_view key, std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    const auto& o = need(key);
    if (!ok_) return 0;
    if (o.type != msgpack::type::POSITIVE_INTEGER) return fail(key, "must be an unsigned integer"), 0;
    if (o.via.u64 > max) return fail(key, "is out of range"), 0;
    return o.via.u64;
  }
  std::uint32_t u32(std::string_view key) {
    return static_cast<std::uint32_t>(uint(key, std::numeric_limits<std::uint32_t>::max()));
  }
  std::uint64_t uint_or(std::string_view key, std::uint64_t dflt,
                        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    return find(key) ? uint(key, max) : dflt;
  }
  std::string str_or(std::string_view key, std::string dflt) { return find(key) ? str(key) : dflt; }
  bool boolean(std::string_view key) {
    const auto& o = need(key);
    if (!ok_) return false;
    if (o.type != msgpack::type::BOOLEAN) return fail(key, "must be a boolean"), false;
    return o.via.boolean;
  }
  std::vector<std::string> strings(std::string_view key) {
    const auto& o = need(key);
    if (!ok_) return {};
    return strings_of(o, key);
  }
  std::vector<std::string> strings_of(const msgpack::object& o, std::string_view key) {
    std::vector<std::string> out;
    if (o.type != msgpack::type::ARRAY) return fail(key, "must be an array of strings"), out;
    out.reserve(o.via.array.size);
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
      const auto& e = o.via.array.ptr[i];
      if (e.type != msgpack::type::STR) return fail(key, "must be an array of strings"), out;
      out.emplace_back(e.via.str.ptr, e.via.str.size);
    }
    return out;
  }
  void fail(std::string_view key, std::string_view what) {
    if (ok_) error_ = std::string(type_) + ": field '" + std::string(key) + "' " + std::string(what);
    ok_ = false;
  }
  void fail_msg(std::string msg) {
    if (ok_) error_ = std::move(msg);
    ok_ = false;
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  const msgpack::object_map& map_;
  std::string_view type_;
  bool ok_ = true;
  std::string error_;
  msgpack::object nil_;
};

template <typename T>
Result<T> finish(Fields& f, T value) {
  if (!f.ok()) return make_error(f.error());
  return value;
}

// upload_blob and download_blob carry the same fields.
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

Result<msgpack::object_handle> unpack_map(std::string_view bytes, std::string& type) {
  if (bytes.size() > kMaxFrameBytes) return make_error("frame of " + std::to_string(bytes.size()) + " bytes exceeds the limit");
  msgpack::object_handle oh;
  try {
    std::size_t off = 0;
    oh = msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, frame_limits());
    if (off != bytes.size()) return make_error("trailing bytes after the msgpack value");
  } catch (const std::exception& e) {
    return make_error(std::string("not valid msgpack: ") + e.what());
  }
  const auto& o = oh.get();
  if (o.type != msgpack::type::MAP) return make_error("message is not a msgpack map");
  Fields f(o, "message");
  const auto* t = f.find("type");
  if (!t || t->type != msgpack::type::STR) return make_error("message has no string field 'type'");
  type.assign(t->via.str.ptr, t->via.str.size);
  return oh;
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
            MapWriter w(type, 6);
            w.uint("corr_id", m.corr_id).str("program_hash", m.program_hash).str("manifest", m.manifest);
            return chunk_fields(w, m).take();
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
          [&](const UploadBlob& m) {
            MapWriter w(type, 6);
            w.uint("corr_id", m.corr_id).str("instance_id", m.instance_id).str("blob_hash", m.blob_hash);
            return chunk_fields(w, m).take();
          },
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
          [&](const DownloadBlob& m) {
            MapWriter w(type, 6);
            w.uint("corr_id", m.corr_id).str("instance_id", m.instance_id).str("blob_hash", m.blob_hash);
            return chunk_fields(w, m).take();
          },
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
  auto oh = unpack_map(bytes, type);
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
  auto oh = unpack_map(bytes, type);
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
