// Conversations: an endpoint of kind `session` keeps one inferlet instance alive across calls
// (a chat inferlet holding its KV cache). open launches it and answers a handle once Pie has
// accepted the launch; send delivers a text message and answers the instance's next Message
// event(s); close terminates it. A conversation is a job like any other (its handle is the job
// id: gateway/jobs, GetJob and WatchJob show it), so a dropped WebSocket is survived by the
// cluster's re-attach. Idle conversations are closed; each endpoint caps how many are open.
// Every front door (TARP RPC, HTTP/JSON, gRPC) uses this one service.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "config/model.hpp"
#include "jobs/job_service.hpp"

namespace pg::conversations {

/// Why a conversation call failed. Front doors map the kind (HTTP status, gRPC code); JobFailed
/// carries the job, whose own error maps like any failed job's.
struct Failure {
  enum class Kind {
    NotFound,     // no conversation with that handle (of that endpoint)        404 / NOT_FOUND
    Closed,       // it existed but is closed (by the client, idle, or ended)   410 / FAILED_PRECONDITION
    Busy,         // a message of it is still being answered                    409 / ABORTED
    TooMany,      // the endpoint's session.max_open conversations are open     503 / RESOURCE_EXHAUSTED
    TurnTimeout,  // no reply within the endpoint's timeout; it stays open      504 / DEADLINE_EXCEEDED
    JobFailed,    // the run could not start or failed (see job->error)          per JobError
  };
  Kind kind = Kind::NotFound;
  std::string type;     // short name for envelopes: "NoSuchSession", "SessionClosed", "Busy", ...
  std::string message;  // human readable
  std::shared_ptr<const jobs::Job> job;  // JobFailed and Closed: the conversation's job
};

/// One reply: the Message events the instance sent for a message.
struct Turn {
  std::shared_ptr<const jobs::Job> job;
  std::vector<std::string> messages;  // in order; several when the inferlet streams its reply
  bool ended = false;  // the instance finished (e.g. said goodbye): the conversation is over
  /// The reply as one text: the messages joined; when none came and the instance completed,
  /// its return value.
  std::string text() const;
};

using Opened = std::variant<std::shared_ptr<const jobs::Job>, Failure>;
using Replied = std::variant<Turn, Failure>;
using Closed = std::variant<std::shared_ptr<const jobs::Job>, Failure>;

class ConversationService {
 public:
  ConversationService(boost::asio::any_io_executor ex, jobs::JobService& jobs);
  ~ConversationService();
  ConversationService(const ConversationService&) = delete;
  ConversationService& operator=(const ConversationService&) = delete;

  /// Launch `spec` (an endpoint of kind session: its launch, inputs and group) and answer with
  /// its job once Pie accepted it, or why not. `spec.timeout` bounds the launch; the instance
  /// then lives until closed, idle for settings.idle_timeout, or settings.max_duration.
  void open(jobs::JobSpec spec, const config::SessionSettings& settings, std::function<void(Opened)> done);
  /// Send `text` to the conversation `id` of `endpoint` ("" = any endpoint) and answer with the
  /// instance's next Message event(s); turn_timeout bounds the wait (0 = the endpoint's own).
  void send(std::string_view endpoint, std::string_view id, std::string text, std::function<void(Replied)> done,
            std::chrono::milliseconds turn_timeout = {});
  /// Terminate the conversation's instance; its job ends Completed ("closed by the client").
  Closed close(std::string_view endpoint, std::string_view id);

  /// What an unknown handle `id` of `endpoint` ("" = any) answers; front doors answer it for a
  /// conversation of another client too, word for word.
  static Failure no_such_session(std::string_view endpoint, std::string_view id);

  /// Open conversations of `endpoint` ("" = all).
  std::size_t open_count(std::string_view endpoint = {}) const;
  /// Open conversations per endpoint (every endpoint that has had one; for the metrics gauge).
  std::vector<std::pair<std::string, std::size_t>> open_by_endpoint() const {
    return {per_endpoint_.begin(), per_endpoint_.end()};
  }

 private:
  struct Conversation;
  std::shared_ptr<Conversation> lookup(std::string_view endpoint, std::string_view id, Failure& why);
  void arm_idle(const std::shared_ptr<Conversation>& c);
  void end_turn(const std::shared_ptr<Conversation>& c, Replied outcome);
  void on_job_event(const std::shared_ptr<Conversation>& c);
  void on_job_end(const std::shared_ptr<Conversation>& c);
  void try_signal(const std::shared_ptr<Conversation>& c);

  boost::asio::any_io_executor ex_;
  jobs::JobService& jobs_;
  std::unordered_map<std::string, std::shared_ptr<Conversation>> open_;  // by job id
  std::unordered_map<std::string, std::size_t> per_endpoint_;            // open conversations
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // callbacks check it (destruction)
};

}  // namespace pg::conversations
