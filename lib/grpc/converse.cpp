// Converse: a conversation with an endpoint of kind session over one bidirectional stream, on
// the same ConversationService as the HTTP and TARP doors (conversations/conversations.hpp).
// Requests are handled one at a time, in order: the next one is read only once the current one
// is answered, so a client may send ahead and never sees Busy from its own stream. With access
// on, a stream reaches only its caller's conversations; open and each say are charged to its rate.
#include <deque>

#include "conversations/conversations.hpp"
#include "grpc/rpc.hpp"

namespace pg::grpc_api {

namespace {

using C = grpc::StatusCode;
using Kind = conversations::Failure::Kind;

/// A conversation failure that ends the stream, as a gRPC status.
Failure stream_failure(const conversations::Failure& f) {
  Failure out;
  switch (f.kind) {
    case Kind::NotFound: out = failure(C::NOT_FOUND, f.type, f.message); break;
    case Kind::Closed: out = failure(C::FAILED_PRECONDITION, f.type, f.message); break;
    case Kind::TooMany: out = failure(C::RESOURCE_EXHAUSTED, f.type, f.message); break;
    case Kind::Busy: out = failure(C::ABORTED, f.type, f.message); break;
    case Kind::TurnTimeout: out = failure(C::DEADLINE_EXCEEDED, f.type, f.message); break;
    case Kind::JobFailed:
      // As a failed Call of the job; an instance that simply ended before it opened is no error of Pie's.
      if (f.job && f.job->state != jobs::JobState::Completed) return job_failure(*f.job);
      out = failure(C::FAILED_PRECONDITION, f.type.empty() ? "SessionEnded" : f.type, f.message);
      break;
  }
  if (f.job) {
    out.info.set_job_id(f.job->id.str());
    out.info.set_server(f.job->server);
    out.info.set_instance_id(f.job->instance_id);
  }
  return out;
}

class ConverseRpc final : public grpc::ServerBidiReactor<pb::ConverseRequest, pb::ConverseResponse>,
                          public CallInfo,
                          public Abortable,
                          public std::enable_shared_from_this<ConverseRpc> {
 public:
  ConverseRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx) : CallInfo(std::move(core), ctx, "Converse") {}

  static ConverseRpc* start(std::shared_ptr<ConverseRpc> call) {
    call->self_ = call;
    enlist(call->core_, call);
    // The first request is read once the caller is known.
    post_io(call->core_, [call] {
      if (call->finished()) return;
      identify_then(
          *call, call, [call] { call->read_next(); }, [call](const Failure& f) { call->finish(f); });
    });
    return call.get();
  }

  // As UnaryCall::abort_now: refused at the start, or cut by stop() on the io thread.
  void abort_now(const std::string& why) override { finish_status(grpc::Status(C::UNAVAILABLE, why), true); }

  // --- gRPC threads ---
  void OnReadDone(bool ok) override {
    if (!ok) return post_io(core_, [self = shared_from_this()] { self->on_half_close(); });
    post_io(core_, [self = shared_from_this(), req = std::move(in_)]() mutable { self->handle(std::move(req)); });
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    out_.pop_front();
    if (ok && !out_.empty()) return start_write();
    if (pending_finish_) {
      auto s = std::move(*pending_finish_);
      pending_finish_.reset();
      Finish(std::move(s));
    }
  }
  void OnCancel() override {
    post_io(core_, [self = shared_from_this()] { self->finish(cancel_failure(*self)); });
  }
  void OnDone() override {
    delist(*core_, this);
    auto keep = std::move(self_);
  }

 private:
  enum class Phase { Start, Opening, Open, Done };

  // --- io thread ---
  void handle(pb::ConverseRequest req) {
    if (finished()) return;
    using R = pb::ConverseRequest;
    const bool first = phase_ == Phase::Start;
    switch (req.kind_case()) {
      case R::kOpen:
        if (!first) return bad("open must be the stream's first request (this stream already has a conversation)");
        return open(req.open());
      case R::kAttach:
        if (!first) return bad("attach must be the stream's first request (this stream already has a conversation)");
        return attach(req.attach());
      case R::kSay:
        if (first) return bad("say before open or attach: the first request must open or attach a conversation");
        return say(req.say());
      case R::kClose:
        if (first) return bad("close before open or attach: the first request must open or attach a conversation");
        return close();
      case R::KIND_NOT_SET: break;
    }
    bad("a request must set one of open, attach, say or close");
  }

  void open(const pb::ConverseOpen& o) {
    if (!core_->conversations) return finish(failure(C::UNAVAILABLE, "Unavailable", "conversations are not available"));
    endpoint_ = o.endpoint();
    pb::CallRequest call;
    call.set_endpoint(o.endpoint());
    *call.mutable_args() = o.args();
    *call.mutable_kwargs() = o.kwargs();
    auto p = prepare(*core_, call, *this, CallUse::Session);
    if (!p.spec) return finish(p.failure);
    phase_ = Phase::Opening;
    keep_open_ = o.keep_open();
    auto self = shared_from_this();
    core_->conversations->open(std::move(*p.spec), p.session, [self](conversations::Opened r) { self->opened(std::move(r)); });
  }

  void opened(conversations::Opened r) {
    if (auto* f = std::get_if<conversations::Failure>(&r)) return finish(stream_failure(*f));
    const auto& job = *std::get<std::shared_ptr<const jobs::Job>>(r);
    session_ = job.id.str();
    note_job(job);
    phase_ = Phase::Open;
    // A client that went away before it learnt the id cannot use the conversation, keep_open or not.
    owns_ = !keep_open_ || finished();
    if (finished()) return abandon();
    answer_opened(job);
  }

  void attach(const pb::ConverseAttach& a) {
    if (!core_->conversations) return finish(failure(C::UNAVAILABLE, "Unavailable", "conversations are not available"));
    Failure why;
    auto job = find_job(*core_, *this, a.session_id(), why);  // another client's: as an unknown one
    if (!job) {
      if (why.code == C::NOT_FOUND) why.message = "no open session '" + a.session_id() + "'";
      return finish(why);
    }
    const auto* named = core_->registry->find(job->spec.endpoint);
    const bool conversation = named && named->post && named->post->cfg.is_session();
    if (!conversation || (!a.endpoint().empty() && a.endpoint() != job->spec.endpoint))
      return finish(failure(C::NOT_FOUND, "NoSuchSession",
                            "'" + a.session_id() + "' is not a session" +
                                (a.endpoint().empty() ? std::string() : " of endpoint '" + a.endpoint() + "'")));
    if (auto denied = authorize(named->post->cfg)) return finish(*denied);  // its allow: may have changed
    if (jobs::is_finished(job->state))
      return finish(stream_failure(conversations::Failure{Kind::Closed, "SessionClosed",
                                                         "session '" + a.session_id() + "' is closed" +
                                                             (job->error ? ": " + job->error->message : std::string()),
                                                         job}));
    endpoint_ = job->spec.endpoint;
    session_ = a.session_id();
    note_job(*job);
    phase_ = Phase::Open;
    answer_opened(*job);
  }

  void answer_opened(const jobs::Job& job) {
    pb::ConverseResponse r;
    r.mutable_opened()->set_session_id(session_);
    to_proto(job, r.mutable_opened()->mutable_job());
    send(std::move(r));
    read_next();
  }

  void say(const pb::ConverseSay& s) {
    std::chrono::milliseconds wait{s.timeout().seconds() * 1000 + s.timeout().nanos() / 1000000};
    if (wait.count() < 0) return bad("say.timeout must not be negative");
    if (auto denied = charge()) {  // over its rate: this message is refused, the conversation goes on
      pb::ConverseResponse out;
      out.mutable_error()->set_type(denied->info.type());
      out.mutable_error()->set_message(denied->message);
      out.mutable_error()->mutable_retry_after()->set_seconds(denied->retry_after_ms / 1000);
      out.mutable_error()->mutable_retry_after()->set_nanos((denied->retry_after_ms % 1000) * 1000000);
      send(std::move(out));
      return read_next();
    }
    auto self = shared_from_this();
    core_->conversations->send(
        endpoint_, session_, s.text(), [self](conversations::Replied r) { self->replied(std::move(r)); }, wait);
  }

  void replied(conversations::Replied r) {
    if (finished()) return;
    if (auto* f = std::get_if<conversations::Failure>(&r)) {
      if (f->kind != Kind::TurnTimeout && f->kind != Kind::Busy) {
        owns_ = false;  // it has ended (or never was ours to end)
        return finish(stream_failure(*f));
      }
      // The conversation is still open: tell the client and go on.
      pb::ConverseResponse out;
      out.mutable_error()->set_type(f->type);
      out.mutable_error()->set_message(f->message);
      send(std::move(out));
      return read_next();
    }
    const auto& turn = std::get<conversations::Turn>(r);
    pb::ConverseResponse out;
    auto* reply = out.mutable_reply();
    reply->set_text(turn.text());
    for (const auto& m : turn.messages) reply->add_messages(m);
    reply->set_ended(turn.ended);
    if (!turn.ended) {
      send(std::move(out));
      return read_next();
    }
    // The instance finished: nothing more can be said, so this reply is the last response.
    owns_ = false;
    phase_ = Phase::Done;
    send(std::move(out), grpc::Status::OK);
  }

  void close() {
    owns_ = false;
    auto r = core_->conversations->close(endpoint_, session_);
    if (auto* f = std::get_if<conversations::Failure>(&r)) return finish(stream_failure(*f));
    pb::ConverseResponse out;
    to_proto(*std::get<std::shared_ptr<const jobs::Job>>(r), out.mutable_closed()->mutable_job());
    phase_ = Phase::Done;
    send(std::move(out), grpc::Status::OK);
  }

  /// The client half-closed: it will send nothing more, so a conversation of ours is over.
  void on_half_close() {
    if (finished()) return;
    abandon();
    phase_ = Phase::Done;
    finish_status(grpc::Status::OK, true);
  }

  /// The client is gone (or done): close the conversation this stream opened, if it still runs.
  void abandon() {
    if (!owns_ || phase_ != Phase::Open || !core_->conversations) return;
    owns_ = false;
    core_->conversations->close(endpoint_, session_);
  }

  void bad(const std::string& why) { finish(failure(C::INVALID_ARGUMENT, "BadRequest", why)); }

  /// End the stream with an error; a conversation it owns ends with it. Finished first, so a
  /// turn the close answers finds the stream done.
  void finish(const Failure& f) {
    if (!finished()) finish_status(to_status(f, ctx_), true);
    abandon();
  }

  // --- any thread ---
  bool finished() {
    std::lock_guard lock(mu_);
    return finishing_;
  }

  void read_next() {
    std::lock_guard lock(mu_);
    if (!finishing_) StartRead(&in_);
  }

  /// Queue a response; with `then`, the stream finishes with it once the queue has gone out.
  void send(pb::ConverseResponse r, std::optional<grpc::Status> then = std::nullopt) {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    out_.push_back(std::move(r));
    if (then) {
      finishing_ = true;
      record(then->error_code());
      pending_finish_ = std::move(then);
    }
    if (!writing_) start_write();
  }

  void start_write() {  // under mu_, with out_ not empty
    writing_ = true;
    StartWrite(&out_.front());
  }

  void finish_status(grpc::Status s, bool on_io) {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    finishing_ = true;
    if (on_io) record(s.error_code());
    if (writing_) pending_finish_ = std::move(s);
    else Finish(std::move(s));
  }

  pb::ConverseRequest in_;  // the read in flight
  // io thread:
  Phase phase_ = Phase::Start;
  std::string session_;
  bool keep_open_ = false;
  bool owns_ = false;  // this stream opened the conversation and closes it when the client goes
  // under mu_:
  std::mutex mu_;
  bool finishing_ = false;
  bool writing_ = false;
  std::deque<pb::ConverseResponse> out_;  // front: the write in flight
  std::optional<grpc::Status> pending_finish_;
  std::shared_ptr<ConverseRpc> self_;
};

}  // namespace

grpc::ServerBidiReactor<pb::ConverseRequest, pb::ConverseResponse>* start_converse(std::shared_ptr<Core> core,
                                                                                   grpc::CallbackServerContext* ctx) {
  return ConverseRpc::start(std::make_shared<ConverseRpc>(std::move(core), ctx));
}

}  // namespace pg::grpc_api
