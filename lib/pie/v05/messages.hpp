// Pie client protocol, 0.5 line (also what 0.3/0.4.0 speak, minus their extras): every message
// as a plain struct. Wire facts: ../shared/protocols/pie-v0.5.md. Encoding lives in codec.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace pg::pie::v05 {

/// Largest chunk of a program upload or a file transfer (either direction).
inline constexpr std::size_t kChunkSize = 262144;

// ---- client -> server -------------------------------------------------------------------
struct AuthIdentify { std::uint32_t corr_id{}; std::string username; };
struct AuthProve { std::uint32_t corr_id{}; std::string signature; };  // base64
struct AuthByToken { std::uint32_t corr_id{}; std::string token; };    // 0.4.0 only
struct Ping { std::uint32_t corr_id{}; };
struct Query { std::uint32_t corr_id{}; std::string subject; std::string record; };
struct CheckProgram {
  std::uint32_t corr_id{};
  std::string name;
  std::string version;
  std::optional<std::string> wasm_hash;
  std::optional<std::string> manifest_hash;
};
struct AddProgram {
  std::uint32_t corr_id{};
  std::string program_hash;
  std::string manifest;  // TOML text
  bool force_overwrite{};
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
};
struct LaunchProcess {
  std::uint32_t corr_id{};
  std::string inferlet;  // name@MAJOR.MINOR.PATCH
  std::string input;     // a JSON object by convention
  bool capture_outputs{};
};
struct AttachProcess { std::uint32_t corr_id{}; std::string process_id; };
struct TerminateProcess { std::uint32_t corr_id{}; std::string process_id; };
struct SignalProcess { std::string process_id; std::string message; };
struct TransferFile {
  std::string process_id;
  std::string file_hash;
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
};
struct ListProcesses { std::uint32_t corr_id{}; };

using ClientMessage = std::variant<AuthIdentify, AuthProve, AuthByToken, Ping, Query, CheckProgram, AddProgram,
                                   LaunchProcess, AttachProcess, TerminateProcess, SignalProcess, TransferFile,
                                   ListProcesses>;

// ---- server -> client (binary frames) ---------------------------------------------------
struct Response { std::uint32_t corr_id{}; bool ok{}; std::string result; };
/// event: "stdout", "stderr", "message", "return" (terminal), "error" (terminal).
struct ProcessEvent { std::string process_id; std::string event; std::string value; };
struct File {
  std::string process_id;
  std::string file_hash;
  std::uint64_t chunk_index{};
  std::uint64_t total_chunks{};
  std::string chunk_data;  // bytes (msgpack bin)
  std::optional<std::string> name;
};

using ServerMessage = std::variant<Response, ProcessEvent, File>;

/// The wire name of a message ("launch_process", "response", ...).
const char* type_name(const ClientMessage& m);
const char* type_name(const ServerMessage& m);

// ---- server -> client (text frames of the 0.5 edge, JSON) -------------------------------
/// {"type":"turn_done"} (ignored), {"type":"error","message":...}; anything else is Other.
struct TextFrame {
  enum class Kind { TurnDone, Error, Other };
  Kind kind = Kind::Other;
  std::string message;  // Error: the message; Other: the type, if any
};

}  // namespace pg::pie::v05
