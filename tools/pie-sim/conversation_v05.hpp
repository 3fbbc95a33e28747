// The Pie 0.5 edge dialect of one socket, independent of the WebSocket transport: replies,
// `turn_done` and error text frames, program checks and uploads, launches, attach, signals,
// files, termination, listing, and admission at --max-processes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "pie/v05/messages.hpp"
#include "processes.hpp"
#include "uploads.hpp"
#include "world.hpp"

namespace pie_sim {

/// The transport side of a 0.5 socket, as the protocol logic sees it.
class Link05 : public Peer05 {
 public:
  /// Queues one text frame (JSON).
  virtual void send_text(std::string text) = 0;
  /// The current request is done: read the next one.
  virtual void resume() = 0;
  /// Send what is queued, then close the socket.
  virtual void end() = 0;
  virtual std::shared_ptr<Peer05> self05() = 0;
};

class Conversation05 {
 public:
  Conversation05(World& world, Link05& link);
  Conversation05(const Conversation05&) = delete;
  Conversation05& operator=(const Conversation05&) = delete;

  /// Handles one decoded request, then calls exactly one of link.resume() / link.end().
  void handle(pg::pie::v05::ClientMessage msg);
  /// A binary frame that does not decode (or names an unknown type): a text error, as the edge does.
  void undecodable(const std::string& error);
  /// The socket is gone: its processes end, or detach (`detach`). Only the first call counts.
  void closed(bool detach);

 private:
  /// Admission: false (after a text error and link.end()) when the server is full.
  bool admit();
  void reply(std::uint32_t corr_id, bool ok, std::string result);
  void on_query(const pg::pie::v05::Query& m);
  void on_check(const pg::pie::v05::CheckProgram& m);
  void on_add_program(pg::pie::v05::AddProgram& m);
  void on_launch(const pg::pie::v05::LaunchProcess& m);
  void on_terminate(const pg::pie::v05::TerminateProcess& m);
  void on_transfer_file(pg::pie::v05::TransferFile& m);

  World& world_;
  Link05& link_;
  bool closed_ = false;
  std::optional<ChunkedUpload> program_upload_;
  std::map<std::string, ChunkedUpload, std::less<>> file_uploads_;  // by file_hash
};

}  // namespace pie_sim
