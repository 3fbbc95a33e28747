#include "frontdoor/sse.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "frontdoor/job_answers.hpp"
#include "value/base64.hpp"

namespace pg::frontdoor {

using nlohmann::json;

namespace {

constexpr auto kHeartbeat = std::chrono::seconds(15);
constexpr std::size_t kBatchBytes = 64 * 1024;  // events formatted per write: a slow reader paces us

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// Writes a job's events to one HTTP stream as they arrive. Owned by the stream's callbacks
/// (until the stream is over); the job's watch only holds it weakly.
class JobStream : public std::enable_shared_from_this<JobStream> {
 public:
  JobStream(std::shared_ptr<http::Stream> out, jobs::JobService& jobs, std::shared_ptr<jobs::Job> job, SseOptions o)
      : out_(std::move(out)), jobs_(jobs), job_(std::move(job)), o_(o), next_(o.from) {}

  void start() {
    auto self = shared_from_this();
    out_->heartbeat(kHeartbeat, ": keep-alive\n\n");
    out_->on_done([self](bool complete) { self->over(complete); });
    // Shutdown: a call's stream ends with its job (the drain decides); a watcher just stops.
    out_->on_stop([self] {
      if (!self->o_.call && self->out_) self->out_->end();
    });
    if (o_.call && o_.from == 0)
      out_->write(sse_event("job", json{{"job", job_->id.str()}, {"endpoint", job_->spec.endpoint}}, job_->id.str()));
    std::weak_ptr<JobStream> weak = self;
    watch_ = jobs_.watch(job_, [weak] {
      if (auto s = weak.lock()) s->pump();
    });
    pump();
  }

 private:
  std::string id_of(std::size_t i) const { return o_.call ? job_->id.str() + ":" + std::to_string(i) : std::to_string(i); }

  std::string format(std::size_t i) const {
    using K = jobs::JobEvent::Kind;
    const auto& e = job_->events[i];
    const std::string id = id_of(i);
    switch (e.kind) {
      case K::Started: {
        json d = {{"job", job_->id.str()}, {"server", job_->server}, {"instance_id", job_->instance_id}};
        return sse_event("started", d, id);
      }
      case K::Stdout:
      case K::Stderr:
      case K::Message: return sse_event(jobs::to_string(e.kind), json{{"text", job_->event_text(e)}}, id);
      case K::Blob: {
        const auto& b = job_->blobs.at(e.offset);
        json d = {{"index", e.offset},
                  {"hash", b.hash},
                  {"size", b.bytes.size()},
                  {"url", "gateway/jobs/" + job_->id.str() + "/blobs/" + std::to_string(e.offset)}};
        return sse_event("blob", d, id);
      }
      case K::Gap: return sse_event("gap", json{{"note", job_->event_text(e)}}, id);
      case K::End: {
        auto [name, data] = sse_final(*job_);
        return sse_event(name, data, id);
      }
    }
    return {};
  }

  void pump() {
    if (writing_ || ended_ || !out_ || out_->closed()) return;
    std::string batch;
    while (next_ < job_->events.size() && batch.size() < kBatchBytes) {
      batch += format(next_);
      ended_ = job_->events[next_].kind == jobs::JobEvent::Kind::End;
      ++next_;
      if (ended_) break;
    }
    if (batch.empty()) return;
    writing_ = true;
    std::weak_ptr<JobStream> weak = shared_from_this();
    out_->write(std::move(batch), [weak] {
      if (auto s = weak.lock()) {
        s->writing_ = false;
        s->pump();
      }
    });
    if (ended_) out_->end();
  }

  void over(bool complete) {
    jobs_.unwatch(job_, watch_);
    if (!complete && o_.cancel_on_disconnect && !jobs::is_finished(job_->state)) {
      spdlog::info("job {} ({}): its event-stream client went away; cancelling it (cancel_on_disconnect)",
                   job_->id.str(), job_->spec.endpoint);
      jobs_.cancel(job_->id.str());
    }
    out_.reset();  // breaks the stream <-> us cycle
  }

  std::shared_ptr<http::Stream> out_;
  jobs::JobService& jobs_;
  std::shared_ptr<jobs::Job> job_;
  SseOptions o_;
  std::size_t next_;
  jobs::JobService::WatchId watch_ = 0;
  bool writing_ = false, ended_ = false;
};

}  // namespace

std::string sse_event(std::string_view name, const json& data, std::string_view id) {
  std::string out;
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  out.append("event: ").append(name).append("\ndata: ").append(dump(data)).append("\n\n");
  return out;
}

std::pair<std::string, json> sse_final(const jobs::Job& job) {
  auto r = web_answer(job);
  if (r.status == 200 && !job.spec.content_type.empty()) {
    // A raw result (an image, ...): base64 inside the event, as TARP envelopes carry bytes.
    json d = {{"status", "success"}, {"mimetype", job.spec.content_type}, {"encoding", "base64"},
              {"result", base64_encode(r.body)}};
    return {"result", std::move(d)};
  }
  json d = json::parse(r.body, nullptr, false);
  if (d.is_discarded() || !d.is_object()) d = json{{"status", "error"}, {"type", "Internal"}, {"message", r.body}};
  if (job.truncated) d["truncated"] = true;
  if (job.incomplete) d["output_incomplete"] = true;
  if (r.status == 200) return {"result", std::move(d)};
  d["http_status"] = r.status;
  if (!d.contains("job")) d["job"] = job.id.str();
  return {"error", std::move(d)};
}

http::Response sse_answer(jobs::JobService& jobs, std::shared_ptr<jobs::Job> job, SseOptions o) {
  http::Response r;
  r.content_type = "text/event-stream";
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Accel-Buffering", "no");  // reverse proxies: do not buffer the stream
  r.stream = [&jobs, job = std::move(job), o](std::shared_ptr<http::Stream> s) {
    std::make_shared<JobStream>(std::move(s), jobs, job, o)->start();
  };
  return r;
}

}  // namespace pg::frontdoor
