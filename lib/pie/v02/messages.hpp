// Pie client protocol, 0.2 line: every message as a plain struct.
// Wire facts: ../shared/protocols/pie-v0.2.md. Encoding lives in codec.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace pg::pie::v02 {

/// Largest chunk of a program or blob upload.
inline constexpr std::size_t kChunkSize = 262144;

enum class EventCode : std::uint32_t {
  Message = 0,
  Completed = 1,
  Aborted = 2,
  Exception = 3,
  ServerError = 4,
  OutOfResources = 5,
};
/// "Message", "Completed", ...; "Unknown(<n>)" for codes outside the protocol.
std::string event_name(std::uint32_t code);
/// Codes 1-5 end an instance: no event follows them.
inline bool is_terminal(std::uint32_t code) { return code >= 1 && code <= 5; }

// ---- client -> server -------------------------------------------------------------------
struct Identification { std::uint32_t corr_id{}; std::string username; };
struct Signature { std::uint32_t corr_id{}; std::string signature; };
struct InternalAuthenticate { std::uint32_t corr_id{}; std::string token; };
struct Ping { std::uint32_t corr_id{}; };
struct Query { std::uint32_t corr_id{}; std::string subject; std::string record; };
struct UploadProgram {
  std::uint32_t corr_id{};
  std::string program_hash;
  std::string manifest;
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
};
struct LaunchInstance {
  std::uint32_t corr_id{};
  std::string inferlet;
  std::vector<std::string> arguments;
  bool detached{};
};
struct LaunchInstanceFromRegistry {
  std::uint32_t corr_id{};
  std::string inferlet;
  std::vector<std::string> arguments;
  bool detached{};
};
struct AttachInstance { std::uint32_t corr_id{}; std::string instance_id; };
struct LaunchServerInstance {
  std::uint32_t corr_id{};
  std::uint32_t port{};
  std::string inferlet;
  std::vector<std::string> arguments;
};
struct SignalInstance { std::string instance_id; std::string message; };
struct UploadBlob {
  std::uint32_t corr_id{};
  std::string instance_id;
  std::string blob_hash;
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
};
struct TerminateInstance { std::uint32_t corr_id{}; std::string instance_id; };
struct ListInstances { std::uint32_t corr_id{}; };

using ClientMessage =
    std::variant<Identification, Signature, InternalAuthenticate, Ping, Query, UploadProgram, LaunchInstance,
                 LaunchInstanceFromRegistry, AttachInstance, LaunchServerInstance, SignalInstance, UploadBlob,
                 TerminateInstance, ListInstances>;

// ---- server -> client -------------------------------------------------------------------
struct Response { std::uint32_t corr_id{}; bool successful{}; std::string result; };
struct InstanceLaunchResult { std::uint32_t corr_id{}; bool successful{}; std::string message; };
struct InstanceAttachResult { std::uint32_t corr_id{}; bool successful{}; std::string message; };
struct InstanceEvent { std::string instance_id; std::uint32_t event{}; std::string message; };
enum class Stream { Stdout, Stderr };
struct StreamingOutput { std::string instance_id; Stream stream{Stream::Stdout}; std::string text; };
struct DownloadBlob {
  std::uint32_t corr_id{};
  std::string instance_id;
  std::string blob_hash;
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
};
struct InstanceInfo {
  std::string id;
  std::vector<std::string> arguments;
  std::string status;  // "Attached" | "Detached" | "Finished"
  std::string username;
  std::uint64_t elapsed_secs{};
  std::uint32_t kv_pages_used{};
};
struct LiveInstances { std::uint32_t corr_id{}; std::vector<InstanceInfo> instances; };
struct ServerEvent { std::string message; };

using ServerMessage = std::variant<Response, InstanceLaunchResult, InstanceAttachResult, InstanceEvent,
                                   StreamingOutput, DownloadBlob, LiveInstances, ServerEvent>;

/// The wire name of a message ("launch_instance", "response", ...).
const char* type_name(const ClientMessage& m);
const char* type_name(const ServerMessage& m);

}  // namespace pg::pie::v02
