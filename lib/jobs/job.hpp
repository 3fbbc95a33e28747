// One job = one inferlet run, whatever the front door (a sync call is a job its caller waits for).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "config/model.hpp"
#include "jobs/job_id.hpp"
#include "pie/session.hpp"

namespace pg::jobs {

enum class JobState { Queued, Running, Completed, Failed, Cancelled };
const char* to_string(JobState s);
inline bool is_finished(JobState s) { return s == JobState::Completed || s == JobState::Failed || s == JobState::Cancelled; }

/// Why a job did not complete, in terms every front door can map (HTTP status, gRPC code).
struct JobError {
  enum class Kind {
    Unavailable,     // no Pie server reachable / connection lost before acceptance   (503)
    Overloaded,      // every eligible server is full and the launch queue too       (503; gRPC RESOURCE_EXHAUSTED)
    Rejected,        // Pie refused the launch (unknown inferlet, ...)                (502)
    InferletFailed,  // the instance ended with Exception/ServerError/OutOfResources/Aborted (502)
    Timeout,         // the job outran its deadline; its instance was terminated     (504)
    SessionLost,     // the session carrying the instance closed                     (502)
    Cancelled,       // cancelled by a client                                        (499-ish)
    TooLarge,        // the launch is over the Pie server's max_message_bytes; not sent  (413; gRPC RESOURCE_EXHAUSTED)
  };
  Kind kind = Kind::Unavailable;
  std::string type;     // short name: "Exception", "Timeout", "PieUnavailable", ...
  std::string message;  // human readable
};

using Clock = std::chrono::steady_clock;

struct JobSpec {
  std::string endpoint;
  /// The client that created it (access/): only it and admins see it. "" = access is off.
  std::string owner;
  pie::LaunchRequest launch;
  config::ResultSource result = config::ResultSource::Return;
  config::ResultFormat format = config::ResultFormat::Text;
  std::chrono::milliseconds timeout{30000};
  bool async = false;                            // a handle the caller polls (asyncProbe/asyncGet)
  std::chrono::milliseconds suggested_wait{1000};  // what asyncProbe suggests while it runs
  std::string group;        // Pie server group ("" = any server)
  bool idempotent = false;  // may be launched again elsewhere if its server is lost
  std::string content_type;  // non-empty: HTTP answers the raw result with this Content-Type
  unsigned fanout = 0;       // 0: one run; else runs on that many servers (jobs/fanout.hpp)
  std::string server;        // non-empty: launch on this server only (a fan-out run)
  /// Sent to the instance once Pie accepted the launch, in order, before anything else
  /// (jobs/job_inputs.cpp). A failed blob upload fails the job.
  struct Input {
    config::EndpointInput::Send send = config::EndpointInput::Send::Message;
    std::string bytes;
  };
  std::vector<Input> inputs;
};

/// One entry of a job's events log. The log is what streaming front doors (SSE, gRPC WatchJob,
/// CallStream) replay: event i of a job never changes once written, so a watcher that saw events
/// [0, n) resumes at offset n without loss or duplicates. Texts are not copied: an event points
/// into the job's stdout/stderr text, its messages or its blobs.
struct JobEvent {
  enum class Kind : std::uint8_t {
    Started,  // Pie accepted the launch (job.server, job.instance_id are set)
    Stdout,   // stdout_text[offset, offset + size)
    Stderr,   // stderr_text[offset, offset + size)
    Message,  // messages[offset]
    Blob,     // blobs[offset]
    Gap,      // output may be missing here (truncated at the cap, or lost while detached); notes[offset]
    End,      // the job finished: see state, error, result(); always the last event
  };
  Kind kind;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};
const char* to_string(JobEvent::Kind k);

struct FanoutRuns;  // jobs/fanout.hpp

struct JobBlob {
  std::string hash;  // BLAKE3 hex, as Pie named it
  std::string bytes;
};

struct Job {
  JobId id;  // UUID v4 (JobId::str() prints it)
  JobSpec spec;
  JobState state = JobState::Queued;
  std::string server;
  std::string instance_id;
  Clock::time_point created{}, started{}, finished{};
  std::chrono::system_clock::time_point created_wall{};

  std::string stdout_text;
  std::string stderr_text;
  std::vector<std::string> messages;
  std::vector<JobBlob> blobs;
  std::vector<std::string> notes;  // texts of Gap events
  std::vector<JobEvent> events;    // the events log (see JobEvent)
  std::string return_value;  // the Completed event's message
  bool truncated = false;    // output beyond the per-job cap was dropped
  bool incomplete = false;   // output may be missing: re-attached after its session dropped (see notes)
  std::unique_ptr<JobError> error;  // set when failed or cancelled (most jobs never fail: kept off the struct)
  std::shared_ptr<FanoutRuns> fanout;  // a fan-out call: its runs (each a job of its own)
  std::optional<JobId> parent;         // a fan-out run: the call's job

  /// The value a caller gets: the return value, the collected stdout or the last blob, per the endpoint.
  const std::string& result() const {
    static const std::string kNone;
    switch (spec.result) {
      case config::ResultSource::Stdout: return stdout_text;
      case config::ResultSource::Blob: return blobs.empty() ? kNone : blobs.back().bytes;
      case config::ResultSource::LastMessage: return messages.empty() ? kNone : messages.back();
      case config::ResultSource::Messages: return messages_json();
      case config::ResultSource::Return: break;
    }
    return return_value;
  }

  double seconds_running() const;  // from launch to now or to the end; 0 before launch
  /// `messages` as a JSON list of strings (result: messages); rebuilt when messages were added.
  const std::string& messages_json() const;

  /// The payload of an event of this job (empty for Started and End).
  std::string_view event_text(const JobEvent& e) const;

  // Internal to JobService.
  std::vector<std::function<void(const Job&)>> waiters;
  /// Called after every new event (see JobService::watch); removed once the End event is out.
  std::vector<std::pair<std::uint64_t, std::function<void()>>> watchers;
  std::unique_ptr<boost::asio::steady_timer> deadline;  // released when the job ends
  std::size_t output_bytes = 0;
  mutable std::string messages_json_;        // cache of messages_json()
  mutable std::size_t messages_json_n_ = 0;  // how many messages it holds (+1; 0 = not built)
};

}  // namespace pg::jobs
