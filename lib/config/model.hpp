// The gateway's configuration as plain data, after validation (see loader.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

struct PieAuth {
  enum class Kind { None, Token, Username };
  Kind kind = Kind::None;
  std::string username;
  std::string token;  // resolved from token_file / token_env at load time; never logged
};

struct PieServer {
  std::string name;
  std::string uri;   // ws://host:port/path as written
  std::string host;  // parsed from uri
  std::uint16_t port = 0;
  std::string path = "/";
  PieAuth auth;
  unsigned sessions = 2;
  Duration connect_timeout{5000};
  Duration request_timeout{10000};
};

enum class ParamType { String, Int, Float, Bool };
const char* to_string(ParamType t);

struct Param {
  std::string name;
  std::string description;
  ParamType type = ParamType::String;
  std::optional<std::string> default_value;  // no default = required
};

enum class EndpointKind { Get, Post, Rpc, AsyncRpc };
const char* to_string(EndpointKind k);

enum class ResultSource { Return, Stdout };
const char* to_string(ResultSource r);

/// How the result text is handed back: as text, or parsed as JSON into values.
enum class ResultFormat { Text, Json };

struct Endpoint {
  std::string name;
  EndpointKind kind = EndpointKind::Get;
  std::string description;
  std::string inferlet;
  std::vector<Param> params;
  std::vector<std::string> arguments;  // templates with {param} placeholders
  ResultSource result = ResultSource::Return;
  ResultFormat format = ResultFormat::Text;
  Duration timeout{30000};
  bool async = false;             // always true for AsyncRpc; optional for Get/Post
  Duration suggested_wait{1000};  // what async handles suggest between polls
  int line = 0;                   // where it was declared, for later error messages

  bool is_rpc() const { return kind == EndpointKind::Rpc || kind == EndpointKind::AsyncRpc; }
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

struct Logging {
  std::string level = "info";
};

struct Config {
  std::string source;  // file name, or "<embedded default>"
  ListenAddress http;
  Limits limits;
  std::vector<PieServer> servers;
  std::vector<Endpoint> endpoints;
  Jobs jobs;
  Shutdown shutdown;
  Logging logging;
};

}  // namespace pg::config
