#include "jobs/job.hpp"

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
