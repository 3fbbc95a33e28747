// The gateway's configuration as plain data, after validation (see loader.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pg::pie::auth {
class SshKey;  // pie/auth/ssh_key.hpp
}
namespace pg::tls {
struct Material;  // tls/material.hpp
}
namespace pg::pie::transport {
class TlsClientContext;  // pie/transport/tls_client.hpp
}

namespace pg::config {

using Duration = std::chrono::milliseconds;

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = pick a free port (tests)
};

struct Limits {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  Duration read_timeout{30000};  // a request (headers + body) must arrive within this
  Duration idle_timeout{60000};  // keep-alive connections close after this much silence
  std::size_t max_connections = 10000;
};

/// The gRPC API's message size limits (`grpc:`); larger messages fail RESOURCE_EXHAUSTED.
struct GrpcLimits {
  std::size_t max_recv_bytes = 4 << 20;   // a request
  std::size_t max_send_bytes = 64 << 20;  // a response or stream message (a job's output is capped at 16 MiB)
};

struct PieAuth {
  enum class Kind { None, Token, Username, Key };  // same order as pie::AuthConfig::Kind
  Kind kind = Kind::None;
  std::string username;  // Username and Key
  std::string token;  // resolved from token_file / token_env at load time; never logged
  std::string key_file;  // Key: the private key file (resolved path), for logs and comparisons
  /// Key: loaded and checked at config load (mode, type, passphrase from passphrase_file /
  /// passphrase_env); the passphrase itself is not kept.
  std::shared_ptr<const pie::auth::SshKey> key;
};

struct PieServer {
  enum class Protocol { V02, V05 };  // same order as pie::Protocol
  std::string name;
  Protocol protocol = Protocol::V02;       // `protocol: "0.2"` (default) or `"0.5"`
  std::string identity = "default/pie-gateway";  // 0.5: the x-pie-identity header (tenant/user)
  std::string uri;   // ws://host:port/path or wss://... as written
  std::string host;  // parsed from uri
  std::uint16_t port = 0;
  std::string path = "/";  // 0.5: "/v1/ws" when the uri has no path or just "/"
  bool tls = false;        // wss://
  std::string ca_file;     // wss://: the PEM CA certificates trusted (resolved path); "" = the system store
  /// wss://: made at config load from ca_file (or the system store); sessions connect with it.
  std::shared_ptr<pie::transport::TlsClientContext> tls_context;
  static constexpr unsigned kDefaultMaxInstancesV05 = 240;  // the 0.5 edge refuses admission at 256 per worker
  PieAuth auth;
  unsigned sessions = 2;
  Duration connect_timeout{5000};
  Duration request_timeout{10000};
  unsigned weight = 1;          // share of launches relative to other servers (balancing)
  unsigned max_instances = 0;   // concurrent instances at most (launching + running); 0 = no cap (0.5 default: 240)
  std::map<std::string, std::string> labels;  // for group selectors and gateway/servers
  /// The largest message sent to it (the server's incoming frame limit, like pie-sim's 4 MiB): a
  /// larger launch is refused 413 before it is written. At least 512 KiB, so that the 256 KiB
  /// chunks of blob, file and program uploads always fit.
  static constexpr std::size_t kDefaultMaxMessageBytes = 4u << 20, kMinMaxMessageBytes = 512u << 10;
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

/// A named set of servers that endpoints target: listed by name, or every server whose labels
/// include all of `selector`.
struct ServerGroup {
  std::string name;
  std::vector<std::string> servers;
  std::map<std::string, std::string> selector;
  int line = 0;
};

/// Cluster-wide knobs (`cluster:`): backpressure, liveness, outlier ejection, failover.
struct ClusterSettings {
  std::size_t queue_size = 1000;   // launches waiting for a free server; beyond it 503 + Retry-After
  Duration queue_wait{30000};      // longest wait in that queue (never past the job's own deadline)
  Duration ping_interval{5000};    // a session on which nothing arrived this long is pinged
  Duration ping_timeout{30000};    // nothing at all received this long after a ping: closed, reconnected
  unsigned eject_after = 5;        // consecutive failed launches/pings eject a server ...
  Duration eject_time{10000};      // ... for this long (doubling on each re-ejection) ...
  Duration max_eject_time{300000};  // ... up to this; then it is probed with a ping
  unsigned retry_budget = 2;       // other servers a launch may try when it failed before Pie accepted it
  Duration server_lost_after{15000};  // detached instances of a server unreachable this long fail
};


enum class ParamType { String, Int, Float, Bool };
const char* to_string(ParamType t);

struct Param {
  std::string name;
  std::string description;
  ParamType type = ParamType::String;
  std::optional<std::string> default_value;  // no default = required
};

enum class EndpointKind { Get, Post, Rpc, AsyncRpc, Session };
const char* to_string(EndpointKind k);

// Blob: the last blob the instance sent; Messages: all its Message events as a JSON list;
// LastMessage: the text of its last Message event.
enum class ResultSource { Return, Stdout, Blob, Messages, LastMessage };
const char* to_string(ResultSource r);

/// How the result text is handed back: as text, or parsed as JSON into values.
enum class ResultFormat { Text, Json };

/// What a launched instance is sent before anything else (`input:`), in declared order.
struct EndpointInput {
  enum class Send { Message, Blob };  // signal_instance text, or upload_blob bytes
  Send send = Send::Message;
  std::string param;  // "" = the request body; else this parameter's value
};

/// A conversation endpoint's knobs (`session:`, kind session only; conversations/conversations.hpp).
struct SessionSettings {
  Duration idle_timeout{300000};    // a conversation without a message this long is closed
  std::size_t max_open = 100;       // open conversations of the endpoint at most
  Duration max_duration{86400000};  // the instance's longest life, however busy
};

/// A server ("daemon") inferlet kept running on a Pie server (`daemons:`).
struct DaemonSpec {
  std::string server;
  std::uint32_t port = 0;
  std::string inferlet;
  std::vector<std::string> arguments;
};

/// One member of an endpoint's 0.5 launch input (`launch_input:`), in declared order.
struct LaunchInputMember {
  enum class Kind { Json, Template };
  std::string name;  // the JSON member name (unescaped)
  Kind kind = Kind::Json;
  /// Json: the member's JSON text (null, true, 42, 1.5, "text" already escaped);
  /// Template: an argument template ("{param}" keeps the param's type; "{*args}" may appear inside).
  std::string value;
};

struct Endpoint {
  std::string name;
  EndpointKind kind = EndpointKind::Get;
  std::string description;
  std::string inferlet;
  std::vector<Param> params;
  std::vector<std::string> arguments;  // templates with {param} placeholders
  /// The 0.5 process input; absent = the bound parameters as a JSON object (README: launch_input).
  std::optional<std::vector<LaunchInputMember>> launch_input;
  /// Set by the loader: some server this endpoint targets (its group, or all) speaks Pie 0.5, so
  /// calls build the 0.5 input (endpoints/registry.hpp); otherwise the input stays "{}".
  bool runs_on_v05 = false;
  ResultSource result = ResultSource::Return;
  ResultFormat format = ResultFormat::Text;
  Duration timeout{30000};
  bool async = false;             // always true for AsyncRpc; optional for Get/Post
  Duration suggested_wait{1000};  // what async handles suggest between polls
  std::string group;              // server group it runs on; "" = every server
  bool idempotent = false;        // may run again elsewhere if its server is lost mid-run
  /// Fan-out: 0 = one run (normal); N = the call runs on N healthy servers of `group`,
  /// kFanoutAll = on every one; the result is the list of per-server results (jobs/fanout.hpp).
  unsigned fanout = 0;
  static constexpr unsigned kFanoutAll = 0xFFFFFFFFu;
  int line = 0;                   // where it was declared, for later error messages

  /// A sync caller that goes away (HTTP client disconnects, gRPC call cancelled) gets its Pie
  /// instance terminated; false lets the run finish (its job stays visible in gateway/jobs).
  bool cancel_on_disconnect = true;
  /// get/post: answer a successful call with the raw result bytes and this Content-Type instead
  /// of the JSON envelope (`result: blob` defaults it to application/octet-stream).
  std::string content_type;
  std::vector<EndpointInput> inputs;  // config/inputs_section.cpp
  SessionSettings session;            // kind session only
  /// Who may call it (`allow:`, role or client names; admin always may); empty = any
  /// authenticated client. Only with `access:`.
  std::vector<std::string> allow;


  bool is_rpc() const { return kind == EndpointKind::Rpc || kind == EndpointKind::AsyncRpc; }
  bool is_session() const { return kind == EndpointKind::Session; }
};

struct Jobs {
  Duration retention{600000};
  std::size_t max_live = 10000;
  std::size_t max_finished = 100000;      // finished async jobs
  std::size_t max_finished_sync = 1000;  // finished sync calls (for gateway/jobs only)
  std::size_t max_output_bytes = 16 << 20;
};

struct Shutdown {
  Duration drain_timeout{10000};  // in-flight sync calls may finish within this on SIGTERM
  bool terminate_async_jobs = true;  // else their Pie instances are left running, detached
};

/// A local inferlet to provision onto every Pie server (`programs:`), checked at load time.
struct ProgramSpec {
  std::string wasm;      // path of the .wasm (relative paths resolved against the config's directory)
  std::string manifest;  // path of its Pie.toml
  std::string name;      // [package] name, "namespace/name"
  std::string version;   // [package] version
  int line = 0;
};

/// Cross-origin requests from browsers (`cors:`); off while allowed_origins is empty.
struct Cors {
  std::vector<std::string> allowed_origins;  // exact origins ("http://host:port"), or "*"
  std::vector<std::string> allowed_methods{"GET", "POST"};
  std::vector<std::string> allowed_headers{"Content-Type", "Last-Event-ID", "X-Request-Id", "Authorization"};  // "*" = any
  std::vector<std::string> exposed_headers{"X-Request-Id", "Retry-After", "X-Pie-Output-Truncated",
                                           "X-Pie-Output-Incomplete"};
  Duration max_age{600000};  // how long browsers may cache a preflight answer
  bool enabled() const { return !allowed_origins.empty(); }
};

/// A caller's quota (`rate:` of a client): a token bucket of calls. 0 per_second = no limit.
struct AccessRate {
  double per_second = 0;
  double burst = 0;  // calls allowed at once; at least 1 when per_second is set
  bool limited() const { return per_second > 0; }
};

/// One caller of the gateway (an entry of access.clients_file).
struct AccessClient {
  std::string name;  // [A-Za-z0-9._@-], 1..64 characters; shown in logs, metrics and gateway/jobs
  std::string token_sha256;  // 32 raw bytes: SHA-256 of its token ("" = certificate only)
  std::vector<std::string> roles;  // "admin" sees and cancels every job; others are free names
  AccessRate rate;
  std::size_t max_live_jobs = 0;  // queued + running at most; 0 = only the gateway's own cap
  int line = 0;
};

/// Who may call (`access:`); off when `enabled` is false (the gateway is open, as without it).
struct Access {
  bool enabled = false;
  std::string clients_file;  // resolved path
  std::vector<AccessClient> clients;
  /// Roles granted to callers without a credential (none: they get 401), with their shared quota.
  std::vector<std::string> anonymous_roles;
  AccessRate anonymous_rate;
  std::size_t anonymous_max_live_jobs = 0;
  /// Failed credentials from one address beyond `free_failures` (within a minute) are answered
  /// only after a delay that doubles per failure, up to `max_delay`.
  unsigned free_failures = 5;
  Duration max_delay{2000};
};

struct Logging {
  std::string level = "info";
  enum class Format { Text, Json };
  Format format = Format::Text;  // json: one JSON object per line
};

/// `tls:` HTTPS on listen.http and TLS on listen.grpc (listen.admin stays plain HTTP). The files
/// are read and checked at load time (config/tls_section.cpp); a reload reads them again.
struct Tls {
  std::string cert_file, key_file;  // resolved paths
  std::string key_password_file;    // "" = the key is not encrypted
  std::string client_ca_file;       // "" = client certificates are not asked for
  bool require_client_cert = false;  // with client_ca_file: a handshake without one fails
  std::shared_ptr<const tls::Material> material;
};

/// What the Pie cluster needs from the configuration (also what a reload hands it).
struct ClusterConfig {
  std::vector<PieServer> servers;
  std::vector<ServerGroup> groups;
  ClusterSettings settings;
  std::vector<ProgramSpec> programs;  // provisioned on every session (re)connection
};

struct Config {
  std::string source;  // file name, or "<embedded default>"
  ListenAddress http;
  std::optional<ListenAddress> grpc;   // listen.grpc: the gRPC API (absent = off)
  std::optional<ListenAddress> admin;  // listen.admin: /metrics, /healthz, /readyz only (absent = on http)
  /// listen.allowed_hosts: the Host values both HTTP listeners answer ("*" or host[:port]); others
  /// get 421. Absent: the listen address, localhost, 127.0.0.1, [::1] and the machine's names.
  std::optional<std::vector<std::string>> allowed_hosts;
  GrpcLimits grpc_limits;              // grpc: message size limits
  Limits limits;
  std::vector<PieServer> servers;
  std::vector<ServerGroup> groups;
  ClusterSettings cluster;
  std::vector<Endpoint> endpoints;
  std::vector<ProgramSpec> programs;  // uploaded to each server on every (re)connection
  Jobs jobs;
  Shutdown shutdown;
  Logging logging;
  Cors cors;
  std::vector<DaemonSpec> daemons;   // launched when their server's first session opens
  Duration models_cache{2000};       // how long gateway/models answers are reused
  Access access;                     // access: identities, roles, quotas (off = open)
  std::optional<Tls> tls;            // absent = plain HTTP and gRPC

  ClusterConfig cluster_config() const { return {servers, groups, cluster, programs}; }
};

}  // namespace pg::config
