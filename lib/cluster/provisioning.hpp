// Program provisioning (issue 4, item 7): the local inferlets listed under `programs:` are put
// on every Pie server, checked again on every (re)connection, so servers that start empty,
// restart or join later get them too.
//
// Contract for the cluster (the only caller):
// 1. At start and at every reload, turn the config's specs into Programs ONCE:
//      auto programs = load_programs(cfg.programs);   // reads and BLAKE3-hashes the .wasm files
//    It does blocking file I/O (call it where the config is loaded, never per connection). An
//    error means the config cannot be applied: report it like a config error. An empty spec
//    list gives an empty (non-null) Programs.
// 2. After a session's start() succeeded and BEFORE it takes launches, call
//      provision(session, programs, done, server_name);
//    For each program it asks `program_exists("ns/name@version#hash")` and uploads the missing
//    ones (one at a time, 256 KiB chunks). `done` runs exactly once, on the session's executor:
//    with the number of programs uploaded, or with the first error (a message naming the
//    program). On error the session is still open; treat it like a failed connect (close it,
//    retry with backoff) - a server without the programs would fail launches of them.
//    With no programs `done(0)` runs before provision() returns. Every step has the session's
//    request timeout (uploads: plus 1 s per MiB), so `done` always comes; closing the session
//    ends it at once with "session closed: ...". provision() holds the session until then.
// 3. Launches of these programs use their "ns/name@version" (Pie looks at uploaded programs
//    first, then its registry).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/model.hpp"
#include "pie/session.hpp"

namespace pg::cluster {

struct Program {
  std::string name;      // "namespace/name"
  std::string version;   // "0.1.0"
  std::string hash;      // lowercase hex BLAKE3 of the .wasm
  std::string manifest;  // Pie.toml text, sent with the upload
  std::shared_ptr<const std::string> wasm;
};
using Programs = std::shared_ptr<const std::vector<Program>>;

/// "ns/name@version#hash": the program_exists record for `p`.
std::string exists_record(const Program& p);

/// Reads every spec's .wasm and manifest and hashes the .wasm. Error: "<file>: <why>".
Result<Programs> load_programs(const std::vector<config::ProgramSpec>& specs);

/// See the contract above. `server` only names the server in logs.
void provision(pie::Session::Ptr s, Programs programs, std::function<void(Result<std::size_t>)> done,
               std::string server = {});

}  // namespace pg::cluster
