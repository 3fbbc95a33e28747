#include "jobs/job.hpp"

#include <nlohmann/json.hpp>

namespace pg::jobs {

const char* to_string(JobState s) {
  switch (s) {
    case JobState::Queued: return "queued";
    case JobState::Running: return "running";
    case JobState::Completed: return "completed";
    case JobState::Failed: return "failed";
    case JobState::Cancelled: return "cancelled";
  }
  return "?";
}

const char* to_string(JobEvent::Kind k) {
  using K = JobEvent::Kind;
  switch (k) {
    case K::Started: return "started";
    case K::Stdout: return "stdout";
    case K::Stderr: return "stderr";
    case K::Message: return "message";
    case K::Blob: return "blob";
    case K::Gap: return "gap";
    case K::End: return "end";
  }
  return "?";
}

double Job::seconds_running() const {
  if (started == Clock::time_point{}) return 0;
  auto end = is_finished(state) ? finished : Clock::now();
  return std::chrono::duration<double>(end - started).count();
}

const std::string& Job::messages_json() const {
  if (messages_json_n_ != messages.size() + 1) {
    // Invalid UTF-8 in a message is replaced (U+FFFD) rather than failing the answer.
    messages_json_ = nlohmann::json(messages).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    messages_json_n_ = messages.size() + 1;
  }
  return messages_json_;
}

std::string_view Job::event_text(const JobEvent& e) const {
  using K = JobEvent::Kind;
  switch (e.kind) {
    case K::Stdout: return std::string_view(stdout_text).substr(e.offset, e.size);
    case K::Stderr: return std::string_view(stderr_text).substr(e.offset, e.size);
    case K::Message: return messages.at(e.offset);
    case K::Blob: return blobs.at(e.offset).bytes;
    case K::Gap: return notes.at(e.offset);
    case K::Started:
    case K::End: return {};
  }
  return {};
}

}  // namespace pg::jobs
