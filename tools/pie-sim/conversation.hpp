// The Pie v0.2 protocol logic of one session, independent of the WebSocket transport:
// authentication, queries, uploads, launches, attach, signals, blobs, termination, listing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "instances.hpp"
#include "pie/v02/messages.hpp"
#include "uploads.hpp"
#include "world.hpp"

namespace pie_sim {

/// The transport side of a session, as the protocol logic sees it.
class Link : public Peer {
 public:
  /// The current request is done: read the next one.
  virtual void resume() = 0;
  /// The session ends: send what is queued, then close.
  virtual void end() = 0;
  virtual std::shared_ptr<Peer> self() = 0;
};

class Conversation {
 public:
  Conversation(World& world, Link& link);
  Conversation(const Conversation&) = delete;
  Conversation& operator=(const Conversation&) = delete;

  /// Handles one decoded request, then calls exactly one of link.resume() / link.end()
  /// (possibly later, from a timer).
  void handle(pg::pie::v02::ClientMessage msg);
  /// The connection is gone: detach this session's instances, cancel timers.
  void closed();

 private:
  enum class Stage { Start, AwaitSignature, Ready };
  using Msg = pg::pie::v02::ClientMessage;

  void handle_auth(Msg& msg);
  void on_identification(const pg::pie::v02::Identification& m);
  void on_signature(const pg::pie::v02::Signature& m);
  void on_internal(const pg::pie::v02::InternalAuthenticate& m);
  void on_query(const pg::pie::v02::Query& m);
  void on_upload_program(pg::pie::v02::UploadProgram& m);
  template <typename Launch>
  void on_launch(const Launch& m, bool registry_only);
  void on_launch_server(const pg::pie::v02::LaunchServerInstance& m);
  void on_upload_blob(pg::pie::v02::UploadBlob& m);
  void on_terminate(const pg::pie::v02::TerminateInstance& m);
  /// The program an inferlet reference names (uploaded first unless registry_only), or nullopt.
  std::optional<std::string> resolve(std::string_view inferlet, bool registry_only) const;
  void reply(std::uint32_t corr_id, bool ok, std::string result);

  World& world_;
  Link& link_;
  Stage stage_ = Stage::Start;
  std::string username_;
  bool internal_ = false;
  bool closed_ = false;
  std::string challenge_;
  std::optional<ChunkedUpload> program_upload_;
  std::map<std::string, ChunkedUpload, std::less<>> blob_uploads_;
  boost::asio::steady_timer delay_timer_;
};

}  // namespace pie_sim
