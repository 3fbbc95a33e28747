// The reactor plumbing every Gateway method shares (internal to lib/grpc).
//
// gRPC calls the service and the reactions (OnCancel, OnWriteDone, OnDone) on its own threads;
// the jobs, the cluster and the metrics live on the gateway's io thread. So a reactor only posts
// to the io thread, which does the work and calls Finish/StartWrite. Lifetime: a reactor is held
// by a shared_ptr; gRPC's reference (`self_`) is dropped in OnDone, and io-side work holds its
// own, so a post still in flight when the client cancels finds a live object. Every reactor op
// goes through `mu_` and a `finishing_` flag, so nothing is written or finished twice, and
// nothing is touched after Finish (OnDone only follows Finish).
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include "access/access.hpp"
#include "cluster/cluster.hpp"
#include "endpoints/registry.hpp"
#include "grpc/convert.hpp"
#include "jobs/job_service.hpp"
#include "pie/gateway/v1/gateway.grpc.pb.h"

namespace pg::obs {
class Metrics;
}
namespace pg::conversations {
class ConversationService;
}
namespace pg::cluster {
class ModelStatus;
}

namespace pg::grpc_api {

/// Something stop() can end from any thread, without the io thread.
class Abortable {
 public:
  virtual ~Abortable() = default;
  virtual void abort_now(const std::string& why) = 0;
  /// A graceful stop waits for it (Call, CallStream: a caller waiting for its job).
  virtual bool drains() const { return false; }
};

/// What every call needs; shared by the service and the reactors (which keep it alive).
struct Core {
  boost::asio::any_io_executor io;
  // io thread only:
  jobs::JobService* jobs = nullptr;
  std::shared_ptr<cluster::Cluster> cluster;
  std::shared_ptr<const endpoints::Registry> registry;
  obs::Metrics* metrics = nullptr;
  conversations::ConversationService* conversations = nullptr;  // null: Converse is UNAVAILABLE
  std::shared_ptr<cluster::ModelStatus> models;                 // null: GetModels gathers uncached
  std::shared_ptr<access::Access> access;                       // null: everyone is the open caller
  // any thread:
  std::atomic<bool> stopping{false};  // stop(): new calls are refused; io-side work is skipped
  std::atomic<bool> refusing{false};  // graceful stop: new calls are refused
  std::mutex live_mu;
  std::unordered_map<const void*, std::weak_ptr<Abortable>> live;  // calls not yet done
};

/// While gRPC creates the reactor of a request that did not parse (checked_handler.hpp): why,
/// for this thread. The reactor's start() then answers INVALID_ARGUMENT with it instead of
/// running the method. Null otherwise.
const std::string* undecodable_request();
class UndecodableScope {
 public:
  explicit UndecodableScope(const std::string* why);
  ~UndecodableScope();
  UndecodableScope(const UndecodableScope&) = delete;
  UndecodableScope& operator=(const UndecodableScope&) = delete;
};

/// Run `fn` on the io thread unless the front door has stopped by then.
template <class F>
void post_io(const std::shared_ptr<Core>& core, F fn) {
  boost::asio::post(core->io, [core, fn = std::move(fn)]() mutable {
    if (!core->stopping.load()) fn();
  });
}

/// Keep `call` known to stop() until OnDone (delist); refuse it at once when stopping.
template <class Call>
void enlist(const std::shared_ptr<Core>& core, const std::shared_ptr<Call>& call) {
  {
    std::lock_guard lock(core->live_mu);
    core->live[call.get()] = call;
  }
  // After enlisting: either stop() sees this call in `live`, or we see `stopping` here.
  if (core->stopping.load() || core->refusing.load()) call->abort_now("the gateway is shutting down");
}
inline void delist(Core& core, const void* call) {
  std::lock_guard lock(core.live_mu);
  core.live.erase(call);
}

/// The parts of a call that do not depend on its reactor type: identity, access log, metrics.
class CallInfo {
 public:
  CallInfo(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const char* method);

  /// The deadline as a duration from now, if the client set one.
  std::optional<std::chrono::milliseconds> time_left() const;
  bool deadline_passed() const;

  /// io thread: the access line and the metrics of the finished call.
  void record(grpc::StatusCode code) const;
  /// io thread: the job's ids for the access line.
  void note_job(const jobs::Job& job);

  /// io thread: who the caller is (access/, from the `authorization` metadata, a verified
  /// client certificate's CN and the peer address), kept in `caller_`; or why not.
  std::optional<access::Denial> identify();
  /// io thread: may the caller use endpoint `ep` (its `allow:`)? And spend one call of its rate.
  std::optional<Failure> authorize(const config::Endpoint& ep) const;
  std::optional<Failure> charge() const;
  /// io thread: an admin-only method (access on): PERMISSION_DENIED for anyone else.
  std::optional<Failure> require_admin(std::string_view what) const;
  /// May the caller see a job (or conversation) of `owner`?
  bool may_see(const jobs::Job& job) const { return access::Access::may_see(caller_, job.spec.owner); }

  std::shared_ptr<Core> core_;
  grpc::CallbackServerContext* ctx_;  // valid until OnDone (we never touch it after Finish)
  const char* method_;
  std::string request_id_, peer_;
  std::string peer_cn_;  // the verified client certificate's subject CN ("" = none)
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point deadline_;
  // For the access line, filled in on the io thread as the call proceeds.
  std::string endpoint_, job_id_, server_, instance_;
  // Read on the gRPC thread that created the call; never logged.
  std::string authorization_;
  access::Caller caller_ = access::Access::open_caller();  // identify()
};

/// A refusal of access/ as the call's failure: UNAUTHENTICATED, PERMISSION_DENIED, or
/// RESOURCE_EXHAUSTED with its retry hint.
Failure denial_failure(const access::Denial& d);

/// io thread: identify the caller of `call`, then `run()`; or `fail` with the refusal, after
/// the refusal's delay (a steady_timer on the io thread: no thread waits). `keep` holds the call
/// alive meanwhile.
void identify_then(CallInfo& call, std::shared_ptr<void> keep, std::function<void()> run,
                   std::function<void(const Failure&)> fail);

/// Base of every unary method: run() on the io thread, which ends with finish().
class UnaryCall : public grpc::ServerUnaryReactor,
                  public CallInfo,
                  public Abortable,
                  public std::enable_shared_from_this<UnaryCall> {
 public:
  using CallInfo::CallInfo;
  /// gRPC thread, right after construction: keep alive until OnDone, then post run().
  static grpc::ServerUnaryReactor* start(std::shared_ptr<UnaryCall> call);

  virtual void run() = 0;      // io thread
  virtual void on_cancel();    // io thread: the client cancelled or its deadline passed
  void finish_ok();            // io thread
  void finish(const Failure& f);
  void abort_now(const std::string& why) override;

  void OnCancel() override;
  void OnDone() override;

 protected:
  bool finished() {
    std::lock_guard lock(mu_);
    return finishing_;
  }

 private:
  void finish_status(grpc::Status s, bool record);
  std::mutex mu_;
  bool finishing_ = false;
  std::shared_ptr<UnaryCall> self_;
};

/// Base of the streaming methods (CallStream, WatchJob): events of one job's log, sent one at a
/// time from `next_` on; the log itself is the buffer, so a slow client costs no extra memory.
class JobStream : public grpc::ServerWriteReactor<pb::JobEvent>,
                  public CallInfo,
                  public Abortable,
                  public std::enable_shared_from_this<JobStream> {
 public:
  /// `call_mode`: a failed job ends the stream with its error status (CallStream) rather than
  /// with an `end` event (WatchJob).
  JobStream(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const char* method, bool call_mode)
      : CallInfo(std::move(core), ctx, method), call_mode_(call_mode) {}
  static grpc::ServerWriteReactor<pb::JobEvent>* start(std::shared_ptr<JobStream> call);

  virtual void run() = 0;    // io thread: find or submit the job, then follow(job, from)
  virtual void on_cancel();  // io thread
  void follow(std::shared_ptr<jobs::Job> job, std::size_t from);  // io thread
  void finish(const Failure& f);  // io thread
  void abort_now(const std::string& why) override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 protected:
  std::shared_ptr<jobs::Job> job_;

 private:
  void pump();  // io thread: write the next event if none is in flight
  void finish_status(grpc::Status s, bool record);
  void stop_watching();

  const bool call_mode_;
  std::size_t next_ = 0;
  jobs::JobService::WatchId watch_ = 0;
  bool watching_ = false;
  pb::JobEvent out_;  // the write in flight (valid until OnWriteDone)
  std::mutex mu_;
  bool finishing_ = false;  // Finish requested: no more writes
  bool writing_ = false;
  std::optional<grpc::Status> pending_finish_;  // Finish waiting for the write in flight
  std::shared_ptr<JobStream> self_;
};

/// io thread: a job by id that the call's caller may see; null with INVALID_ARGUMENT (malformed
/// id) or NOT_FOUND in `why` (another client's job answers exactly as an unknown one).
std::shared_ptr<jobs::Job> find_job(Core& core, const CallInfo& call, const std::string& id, Failure& why);

/// CANCELLED, or DEADLINE_EXCEEDED when the call's deadline has passed.
Failure cancel_failure(const CallInfo& call);

/// What a request's job is for: a waited call (Call, CallStream: its deadline bounds the job),
/// a handle (SubmitJob), or a conversation (Converse; only endpoints of kind session).
enum class CallUse { Wait, Submit, Session };
/// A request's job, ready to submit, or why not (prepare.cpp).
struct Prepared {
  std::optional<jobs::JobSpec> spec;
  Failure failure;
  bool cancel_on_disconnect = true;
  config::SessionSettings session;  // CallUse::Session
};
/// io thread: endpoint lookup, the caller's access (allow, rate, live jobs), Python-like binding
/// and `input:`, as the HTTP front door does it; the job is the caller's (spec.owner).
Prepared prepare(const Core& core, const pb::CallRequest& req, const CallInfo& call, CallUse use);

// Method handlers (calls.cpp): each returns the reactor for its call.
grpc::ServerUnaryReactor* start_call(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                     const pb::CallRequest* req, pb::CallResponse* resp);
grpc::ServerUnaryReactor* start_submit(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                       const pb::CallRequest* req, pb::SubmitJobResponse* resp);
grpc::ServerUnaryReactor* start_wait(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                     const pb::WaitJobRequest* req, pb::Job* resp);
grpc::ServerWriteReactor<pb::JobEvent>* start_call_stream(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                                          const pb::CallRequest* req);
grpc::ServerWriteReactor<pb::JobEvent>* start_watch(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                                    const pb::WatchJobRequest* req);

// Engine status and daemons (engine.cpp).
grpc::ServerUnaryReactor* start_get_models(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                           const pb::GetModelsRequest* req, pb::GetModelsResponse* resp);
grpc::ServerUnaryReactor* start_list_daemons(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                             const pb::ListDaemonsRequest* req, pb::ListDaemonsResponse* resp);
grpc::ServerUnaryReactor* start_launch_daemon(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                              const pb::LaunchDaemonRequest* req, pb::Daemon* resp);
// Conversations (converse.cpp).
grpc::ServerBidiReactor<pb::ConverseRequest, pb::ConverseResponse>* start_converse(std::shared_ptr<Core> core,
                                                                                   grpc::CallbackServerContext* ctx);

}  // namespace pg::grpc_api
