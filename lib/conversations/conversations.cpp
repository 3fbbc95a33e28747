#include "conversations/conversations.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace pg::conversations {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

/// While a dropped session is being re-attached the instance cannot be signalled: try again
/// this often (within the turn's timeout).
constexpr milliseconds kSignalRetry{100};

std::string seconds_text(milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

std::string Turn::text() const {
  std::string out;
  for (const auto& m : messages) out += m;
  if (messages.empty() && ended && job && job->state == jobs::JobState::Completed) out = job->return_value;
  return out;
}

struct ConversationService::Conversation {
  Conversation(asio::any_io_executor ex) : idle(ex), timer(ex) {}
  std::string id;
  std::string endpoint;
  std::shared_ptr<jobs::Job> job;
  config::SessionSettings settings;
  milliseconds turn_timeout{30000};
  asio::steady_timer idle;   // closes the conversation after settings.idle_timeout without a message
  asio::steady_timer timer;  // bounds the launch (open) or the current turn
  jobs::JobService::WatchId watch = 0;
  std::function<void(Opened)> on_open;  // set until Pie accepted the launch
  std::size_t delivered = 0;            // messages handed out in replies so far
  // The turn in progress (on_reply set): its text until signalled, and the message count when sent.
  std::function<void(Replied)> on_reply;
  std::string pending;
  bool signalled = false;
  std::size_t mark = 0;
  std::size_t events_at_send = 0;
};

ConversationService::ConversationService(asio::any_io_executor ex, jobs::JobService& jobs)
    : ex_(std::move(ex)), jobs_(jobs) {}

ConversationService::~ConversationService() {
  *alive_ = false;
  for (auto& [id, c] : open_) {
    c->idle.cancel();
    c->timer.cancel();
    if (c->watch) jobs_.unwatch(c->job, c->watch);
  }
}

void ConversationService::open(jobs::JobSpec spec, const config::SessionSettings& settings,
                               std::function<void(Opened)> done) {
  const std::string endpoint = spec.endpoint;
  if (per_endpoint_[endpoint] >= settings.max_open)
    return done(Failure{Failure::Kind::TooMany, "TooManySessions",
                        "endpoint '" + endpoint + "' already has its limit of " + std::to_string(settings.max_open) +
                            " open sessions (session.max_open); close one or retry later",
                        nullptr});
  auto c = std::make_shared<Conversation>(ex_);
  c->endpoint = endpoint;
  c->settings = settings;
  c->turn_timeout = spec.timeout;  // the endpoint's timeout bounds the launch and each turn
  c->on_open = std::move(done);
  spec.timeout = settings.max_duration;  // the job itself lives until closed, idle or this old
  spec.async = true;                     // a handle, retained for polling like async jobs
  std::weak_ptr<Conversation> weak = c;
  auto job = jobs_.submit(std::move(spec), [this, alive = alive_, weak](const jobs::Job&) {
    if (!*alive) return;
    // A launch that failed at once ends the job inside submit(): handled below, once it returned.
    if (auto conv = weak.lock(); conv && conv->job) on_job_end(conv);
  });
  if (!job) {
    auto open_done = std::move(c->on_open);
    return open_done(Failure{Failure::Kind::TooMany, "TooManyJobs", job.error(), nullptr});
  }
  c->job = *job;
  c->id = c->job->id.str();
  if (jobs::is_finished(c->job->state)) return on_job_end(c);
  open_.emplace(c->id, c);
  ++per_endpoint_[endpoint];
  c->watch = jobs_.watch(c->job, [this, alive = alive_, weak] {
    if (!*alive) return;
    if (auto conv = weak.lock()) on_job_event(conv);
  });
  c->timer.expires_after(c->turn_timeout);
  c->timer.async_wait([this, alive = alive_, weak](boost::system::error_code ec) {
    auto conv = weak.lock();
    if (ec || !*alive || !conv || !conv->on_open) return;
    jobs_.stop(conv->job, jobs::JobState::Failed,
               jobs::JobError{jobs::JobError::Kind::Timeout, "Timeout",
                              "Pie did not start session endpoint '" + conv->endpoint + "' within " +
                                  seconds_text(conv->turn_timeout)});
  });
}

void ConversationService::on_job_event(const std::shared_ptr<Conversation>& c) {
  auto& job = *c->job;
  if (jobs::is_finished(job.state)) return;  // on_job_end answers
  if (c->on_open && job.state == jobs::JobState::Running) {
    c->timer.cancel();
    auto done = std::move(c->on_open);
    c->on_open = nullptr;
    arm_idle(c);
    spdlog::info("session {} of '{}' opened on {} as instance {}", c->id, c->endpoint, job.server, job.instance_id);
    done(std::shared_ptr<const jobs::Job>(c->job));
    return;
  }
  if (c->on_reply && job.messages.size() > c->mark) {
    Turn t;
    t.job = c->job;
    t.messages.assign(job.messages.begin() + static_cast<std::ptrdiff_t>(c->delivered), job.messages.end());
    c->delivered = job.messages.size();
    end_turn(c, std::move(t));
  }
}

void ConversationService::on_job_end(const std::shared_ptr<Conversation>& c) {
  const auto& job = *c->job;
  if (c->watch) jobs_.unwatch(c->job, c->watch), c->watch = 0;
  c->idle.cancel();
  c->timer.cancel();
  if (open_.erase(c->id) && per_endpoint_[c->endpoint] > 0) --per_endpoint_[c->endpoint];
  spdlog::info("session {} of '{}' ended: {}{}", c->id, c->endpoint, jobs::to_string(job.state),
               job.error ? " (" + job.error->message + ")" : std::string());
  if (c->on_open) {
    auto done = std::move(c->on_open);
    c->on_open = nullptr;
    return done(Failure{Failure::Kind::JobFailed, job.error ? job.error->type : "Ended",
                        job.error ? job.error->message : "the instance ended before the session opened", c->job});
  }
  if (!c->on_reply) return;
  if (job.state == jobs::JobState::Completed) {
    Turn t;
    t.job = c->job;
    t.ended = true;
    t.messages.assign(job.messages.begin() + static_cast<std::ptrdiff_t>(c->delivered), job.messages.end());
    c->delivered = job.messages.size();
    return end_turn(c, std::move(t));
  }
  end_turn(c, Failure{Failure::Kind::JobFailed, job.error ? job.error->type : "Ended",
                      "session " + c->id + " ended while its message was answered: " +
                          (job.error ? job.error->message : std::string(jobs::to_string(job.state))),
                      c->job});
}

void ConversationService::arm_idle(const std::shared_ptr<Conversation>& c) {
  c->idle.expires_after(c->settings.idle_timeout);
  std::weak_ptr<Conversation> weak = c;
  c->idle.async_wait([this, alive = alive_, weak](boost::system::error_code ec) {
    auto conv = weak.lock();
    if (ec || !*alive || !conv || conv->on_reply) return;  // a turn re-arms it when it ends
    jobs_.stop(conv->job, jobs::JobState::Cancelled,
               jobs::JobError{jobs::JobError::Kind::Cancelled, "IdleTimeout",
                              "session closed after " + seconds_text(conv->settings.idle_timeout) +
                                  " without a message (session.idle_timeout)"});
  });
}

std::shared_ptr<ConversationService::Conversation> ConversationService::lookup(std::string_view endpoint,
                                                                              std::string_view id, Failure& why) {
  auto it = open_.find(std::string(id));
  if (it != open_.end() && (endpoint.empty() || it->second->endpoint == endpoint)) return it->second;
  const std::string where = endpoint.empty() ? std::string() : " of endpoint '" + std::string(endpoint) + "'";
  auto job = jobs_.find(id);
  if (job && jobs::is_finished(job->state) && (endpoint.empty() || job->spec.endpoint == endpoint)) {
    why = Failure{Failure::Kind::Closed, "SessionClosed",
                  "session '" + std::string(id) + "'" + where + " is closed: " +
                      (job->error ? job->error->message : std::string("closed by the client")),
                  job};
    return nullptr;
  }
  why = no_such_session(endpoint, id);
  return nullptr;
}

Failure ConversationService::no_such_session(std::string_view endpoint, std::string_view id) {
  const std::string where = endpoint.empty() ? std::string() : " of endpoint '" + std::string(endpoint) + "'";
  return Failure{Failure::Kind::NotFound, "NoSuchSession",
                 "no open session '" + std::string(id) + "'" + where + " (closed sessions are remembered for jobs.retention)",
                 nullptr};
}

void ConversationService::send(std::string_view endpoint, std::string_view id, std::string text,
                               std::function<void(Replied)> done, milliseconds turn_timeout) {
  Failure why;
  auto c = lookup(endpoint, id, why);
  if (!c) return done(std::move(why));
  if (c->on_open || c->on_reply)
    return done(Failure{Failure::Kind::Busy, "Busy",
                        c->on_open ? "session " + c->id + " is still starting"
                                   : "session " + c->id + " is still answering the previous message; send one at a time",
                        c->job});
  c->on_reply = std::move(done);
  c->pending = std::move(text);
  c->signalled = false;
  c->mark = c->job->messages.size();
  c->events_at_send = c->job->events.size();
  c->idle.cancel();
  const auto wait = turn_timeout.count() > 0 ? std::min(turn_timeout, c->turn_timeout) : c->turn_timeout;
  c->timer.expires_after(wait);
  std::weak_ptr<Conversation> weak = c;
  c->timer.async_wait([this, alive = alive_, weak, wait](boost::system::error_code ec) {
    auto conv = weak.lock();
    if (ec || !*alive || !conv || !conv->on_reply) return;
    // The reply, if it still comes, goes out with the next one: nothing is lost. A WebSocket
    // that dropped meanwhile may have taken the message with it (Pie does not acknowledge
    // messages, and sending it again could make the inferlet see it twice): say so.
    const auto& events = conv->job->events;
    const bool dropped = std::any_of(events.begin() + static_cast<std::ptrdiff_t>(conv->events_at_send), events.end(),
                                     [](const jobs::JobEvent& e) { return e.kind == jobs::JobEvent::Kind::Gap; });
    std::string msg = "no reply from session " + conv->id + " within " + seconds_text(wait);
    if (!conv->signalled) msg += " (its instance could not be reached)";
    if (dropped) msg += "; the connection to Pie dropped meanwhile (the session was re-attached) and may have lost the message: send it again";
    end_turn(conv, Failure{Failure::Kind::TurnTimeout, dropped ? "Interrupted" : "Timeout",
                           msg + "; the session stays open", conv->job});
  });
  try_signal(c);
}

void ConversationService::try_signal(const std::shared_ptr<Conversation>& c) {
  if (!c->on_reply || c->signalled || jobs::is_finished(c->job->state)) return;
  auto r = jobs_.signal(*c->job, c->pending);
  if (r) {
    c->signalled = true;
    c->pending.clear();
    return;
  }
  // Not attached right now (its session dropped and is being re-attached): try again shortly.
  spdlog::debug("session {}: message not delivered yet ({}); retrying", c->id, r.error());
  auto retry = std::make_shared<asio::steady_timer>(ex_, kSignalRetry);
  std::weak_ptr<Conversation> weak = c;
  retry->async_wait([this, alive = alive_, weak, retry](boost::system::error_code ec) {
    if (ec || !*alive) return;
    if (auto conv = weak.lock()) try_signal(conv);
  });
}

void ConversationService::end_turn(const std::shared_ptr<Conversation>& c, Replied outcome) {
  auto done = std::move(c->on_reply);
  c->on_reply = nullptr;
  c->pending.clear();
  c->timer.cancel();
  if (!jobs::is_finished(c->job->state)) arm_idle(c);
  if (done) done(std::move(outcome));
}

Closed ConversationService::close(std::string_view endpoint, std::string_view id) {
  Failure why;
  auto c = lookup(endpoint, id, why);
  if (!c) return why;
  // on_job_end (run by stop) answers a pending open or turn and forgets the conversation.
  jobs_.stop(c->job, jobs::JobState::Completed);
  return std::shared_ptr<const jobs::Job>(c->job);
}

std::size_t ConversationService::open_count(std::string_view endpoint) const {
  if (endpoint.empty()) return open_.size();
  auto it = per_endpoint_.find(std::string(endpoint));
  return it == per_endpoint_.end() ? 0 : it->second;
}

}  // namespace pg::conversations
