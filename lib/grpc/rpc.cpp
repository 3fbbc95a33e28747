#include "grpc/rpc.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>

#include "endpoints/result.hpp"
#include "grpc/tls.hpp"
#include "obs/logging.hpp"
#include "obs/metrics.hpp"

namespace pg::grpc_api {

namespace {
thread_local const std::string* t_undecodable = nullptr;

/// The failure of a request start() must refuse (undecodable_request()), if any.
std::optional<Failure> refusal() {
  if (const auto* why = undecodable_request()) return failure(grpc::StatusCode::INVALID_ARGUMENT, "BadRequest", *why);
  return std::nullopt;
}
}  // namespace

const std::string* undecodable_request() { return t_undecodable; }
UndecodableScope::UndecodableScope(const std::string* why) { t_undecodable = why; }
UndecodableScope::~UndecodableScope() { t_undecodable = nullptr; }

Failure cancel_failure(const CallInfo& c) {
  return c.deadline_passed() ? failure(grpc::StatusCode::DEADLINE_EXCEEDED, "DeadlineExceeded", "the call's deadline passed")
                             : failure(grpc::StatusCode::CANCELLED, "Cancelled", "the client cancelled the call");
}

// --- CallInfo ------------------------------------------------------------------------------

CallInfo::CallInfo(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const char* method)
    : core_(std::move(core)), ctx_(ctx), method_(method), deadline_(ctx->deadline()) {
  std::string_view offered;
  const auto& md = ctx->client_metadata();
  if (auto it = md.find("x-request-id"); it != md.end()) offered = std::string_view(it->second.data(), it->second.size());
  request_id_ = obs::request_id_or_new(offered);
  ctx->AddInitialMetadata("x-request-id", request_id_);
  peer_ = ctx->peer();
  if (auto it = md.find("authorization"); it != md.end()) authorization_.assign(it->second.data(), it->second.size());
  peer_cn_ = verified_peer_cn(*ctx);
}

std::optional<access::Denial> CallInfo::identify() {
  if (!core_->access) return std::nullopt;  // the open caller
  // gRPC names a peer "ipv4:1.2.3.4:5" or "ipv6:[::1]:5"; access/ counts failures by address.
  std::string_view remote = peer_;
  for (std::string_view scheme : {"ipv4:", "ipv6:"})
    if (remote.substr(0, scheme.size()) == scheme) remote.remove_prefix(scheme.size());
  auto outcome = core_->access->authenticate({authorization_, peer_cn_, remote});
  if (auto* denied = std::get_if<access::Denial>(&outcome)) return std::move(*denied);
  caller_ = std::get<access::Caller>(std::move(outcome));
  return std::nullopt;
}

std::optional<Failure> CallInfo::authorize(const config::Endpoint& ep) const {
  if (!core_->access) return std::nullopt;
  if (auto d = core_->access->authorize(caller_, ep.allow, "endpoint '" + ep.name + "'")) return denial_failure(*d);
  return std::nullopt;
}

std::optional<Failure> CallInfo::charge() const {
  if (!core_->access) return std::nullopt;
  if (auto d = core_->access->charge(caller_)) return denial_failure(*d);
  return std::nullopt;
}

std::optional<Failure> CallInfo::require_admin(std::string_view what) const {
  if (!core_->access) return std::nullopt;
  if (auto d = core_->access->require_admin(caller_, what)) return denial_failure(*d);
  return std::nullopt;
}

Failure denial_failure(const access::Denial& d) {
  using K = access::Denial::Kind;
  const auto code = d.kind == K::Unauthenticated ? grpc::StatusCode::UNAUTHENTICATED
                    : d.kind == K::Forbidden     ? grpc::StatusCode::PERMISSION_DENIED
                                                 : grpc::StatusCode::RESOURCE_EXHAUSTED;
  Failure f = failure(code, d.type, d.message);
  if (d.kind == K::RateLimited) f.retry_after_ms = static_cast<int>(std::clamp<std::int64_t>(d.retry_after.count(), 1, 3600000));
  return f;
}

void identify_then(CallInfo& call, std::shared_ptr<void> keep, std::function<void()> run,
                   std::function<void(const Failure&)> fail) {
  auto denied = call.identify();
  if (!denied) return run();
  Failure f = denial_failure(*denied);
  if (denied->delay.count() <= 0) return fail(f);
  // A address failing repeatedly: answer later, without holding any thread.
  auto timer = std::make_shared<boost::asio::steady_timer>(call.core_->io, denied->delay);
  timer->async_wait([timer, keep = std::move(keep), fail = std::move(fail), f = std::move(f)](
                        const boost::system::error_code&) { fail(f); });
}

std::optional<std::chrono::milliseconds> CallInfo::time_left() const {
  auto now = std::chrono::system_clock::now();
  if (deadline_ > now + std::chrono::hours(24 * 365)) return std::nullopt;  // none (gRPC's infinite future)
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
}

bool CallInfo::deadline_passed() const {
  auto left = time_left();
  return left && left->count() <= 0;
}

void CallInfo::record(grpc::StatusCode code) const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  obs::RequestLog r;
  r.request_id = request_id_;
  r.door = "grpc";
  r.method = method_;
  r.endpoint = endpoint_;
  r.server = server_;
  r.instance_id = instance_;
  r.job_id = job_id_;
  r.status = static_cast<int>(code);
  r.status_text = code_name(code);
  r.seconds = seconds;
  r.remote = peer_;
  r.peer_cn = peer_cn_;
  r.client = caller_.name();
  obs::log_request(r);
  if (core_->metrics) core_->metrics->grpc_request(method_, code_name(code), seconds);
}

void CallInfo::note_job(const jobs::Job& job) {
  job_id_ = job.id.str();
  endpoint_ = job.spec.endpoint;
  server_ = job.server;
  instance_ = job.instance_id;
}

// --- UnaryCall -----------------------------------------------------------------------------

grpc::ServerUnaryReactor* UnaryCall::start(std::shared_ptr<UnaryCall> call) {
  call->self_ = call;
  enlist(call->core_, call);
  post_io(call->core_, [call, refused = refusal()] {
    if (call->finished()) return;
    identify_then(
        *call, call,
        [call, refused] {
          if (refused) return call->finish(*refused);
          call->run();
        },
        [call](const Failure& f) { call->finish(f); });
  });
  return call.get();
}

void UnaryCall::on_cancel() { finish(cancel_failure(*this)); }

void UnaryCall::finish_ok() { finish_status(grpc::Status::OK, true); }

void UnaryCall::finish(const Failure& f) {
  if (finished()) return;
  finish_status(to_status(f, ctx_), true);
}

// Refused at its start (shutting down) or cut by stop(): either before any io-thread work on
// this call or on the io thread itself, so it is counted and logged like any call.
void UnaryCall::abort_now(const std::string& why) {
  finish_status(grpc::Status(grpc::StatusCode::UNAVAILABLE, why), true);
}

void UnaryCall::finish_status(grpc::Status s, bool record_it) {
  std::lock_guard lock(mu_);
  if (finishing_) return;
  finishing_ = true;
  if (record_it) record(s.error_code());
  Finish(std::move(s));
}

void UnaryCall::OnCancel() {
  post_io(core_, [self = shared_from_this()] {
    if (!self->finished()) self->on_cancel();
  });
}

void UnaryCall::OnDone() {
  delist(*core_, this);
  auto keep = std::move(self_);  // may be the last reference: released on return
}

// --- JobStream -----------------------------------------------------------------------------

grpc::ServerWriteReactor<pb::JobEvent>* JobStream::start(std::shared_ptr<JobStream> call) {
  call->self_ = call;
  enlist(call->core_, call);
  post_io(call->core_, [call, refused = refusal()] {
    {
      std::lock_guard lock(call->mu_);
      if (call->finishing_) return;
    }
    identify_then(
        *call, call,
        [call, refused] {
          if (refused) return call->finish(*refused);
          call->run();
        },
        [call](const Failure& f) { call->finish(f); });
  });
  return call.get();
}

void JobStream::on_cancel() { finish(cancel_failure(*this)); }

void JobStream::follow(std::shared_ptr<jobs::Job> job, std::size_t from) {
  job_ = std::move(job);
  note_job(*job_);
  next_ = from;
  watch_ = core_->jobs->watch(job_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->pump();
  });
  watching_ = true;
  pump();
}

void JobStream::pump() {
  {
    std::lock_guard lock(mu_);
    if (finishing_ || writing_) return;
  }
  if (next_ >= job_->events.size()) {
    // A watcher that asked for offsets past a finished job's end: there is nothing more.
    if (jobs::is_finished(job_->state)) finish_status(grpc::Status::OK, true);
    return;
  }
  const bool last = job_->events[next_].kind == jobs::JobEvent::Kind::End;
  if (last && call_mode_ &&
      (job_->state != jobs::JobState::Completed || !endpoints::result_value(*job_))) {
    finish(job_failure(*job_));
    return;
  }
  out_.Clear();
  to_proto(*job_, next_, &out_);
  ++next_;
  std::lock_guard lock(mu_);
  if (finishing_) return;
  writing_ = true;
  if (!last) {
    StartWrite(&out_);
    return;
  }
  finishing_ = true;
  note_job(*job_);
  record(grpc::StatusCode::OK);
  stop_watching();
  StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
}

void JobStream::finish(const Failure& f) {
  {
    std::lock_guard lock(mu_);
    if (finishing_) return;
  }
  finish_status(to_status(f, ctx_), true);
}

void JobStream::abort_now(const std::string& why) {  // see UnaryCall::abort_now
  finish_status(grpc::Status(grpc::StatusCode::UNAVAILABLE, why), true);
}

void JobStream::finish_status(grpc::Status s, bool on_io) {
  std::lock_guard lock(mu_);
  if (finishing_) return;
  finishing_ = true;
  if (on_io) {
    if (job_) note_job(*job_);
    record(s.error_code());
    stop_watching();
  }
  if (writing_) pending_finish_ = std::move(s);
  else Finish(std::move(s));
}

void JobStream::stop_watching() {
  if (!watching_) return;
  watching_ = false;
  if (!jobs::is_finished(job_->state)) core_->jobs->unwatch(job_, watch_);
}

void JobStream::OnWriteDone(bool ok) {
  std::unique_lock lock(mu_);
  writing_ = false;
  if (pending_finish_) {
    auto s = std::move(*pending_finish_);
    pending_finish_.reset();
    Finish(std::move(s));
    return;
  }
  if (!ok || finishing_) return;  // a broken stream: OnCancel follows
  lock.unlock();
  post_io(core_, [self = shared_from_this()] { self->pump(); });
}

void JobStream::OnCancel() {
  post_io(core_, [self = shared_from_this()] {
    {
      std::lock_guard lock(self->mu_);
      if (self->finishing_) return;
    }
    self->on_cancel();
  });
}

void JobStream::OnDone() {
  delist(*core_, this);
  auto keep = std::move(self_);
}

}  // namespace pg::grpc_api
