// Everything the sessions of one pie-sim server share. Single-threaded: only the io thread touches it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

namespace boost::asio::ssl {
class context;
}

#include "auth.hpp"
#include "config.hpp"
#include "instances.hpp"
#include "processes.hpp"
#include "uploads.hpp"

namespace pie_sim {

/// What the server needs from a live session to shut it down.
class SessionHandle {
 public:
  virtual ~SessionHandle() = default;
  /// Closes the connection at once; the session unregisters itself.
  virtual void shutdown() = 0;
};

struct World {
  World(boost::asio::any_io_executor executor, SimConfig cfg, auth::AuthorizedUsers authorized)
      : ex(executor), config(std::move(cfg)), users(std::move(authorized)),
        instances(executor, ProgramOptions{std::chrono::milliseconds(config.token_delay_ms), Dialect::V02}),
        processes(executor, ProgramOptions{std::chrono::milliseconds(config.token_delay_ms), Dialect::V05}) {}

  boost::asio::any_io_executor ex;
  SimConfig config;
  auth::AuthorizedUsers users;
  ProgramStore programs;
  InstanceTable instances;   // --protocol 0.2
  ProcessTable processes;    // --protocol 0.5
  /// --tls-cert/--tls-key: sessions are served over TLS (wss://) with it; null = ws://.
  std::shared_ptr<boost::asio::ssl::context> tls;

  /// Live sessions, owned here (a stalled session stays open until the client goes or the server stops).
  std::map<std::uint64_t, std::shared_ptr<SessionHandle>> sessions;
  std::uint64_t next_session_id = 1;
  std::uint64_t sessions_total = 0;
  bool stopping = false;
};

}  // namespace pie_sim
