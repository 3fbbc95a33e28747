// The methods that run or follow jobs: Call, CallStream, SubmitJob, WaitJob, WatchJob.
#include <algorithm>

#include "endpoints/result.hpp"
#include "grpc/rpc.hpp"

namespace pg::grpc_api {

namespace {

using C = grpc::StatusCode;

class CallRpc final : public UnaryCall {
 public:
  CallRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::CallRequest* req, pb::CallResponse* resp)
      : UnaryCall(std::move(core), ctx, "Call"), req_(req), resp_(resp) {}

  void run() override {
    endpoint_ = req_->endpoint();
    auto p = prepare(*core_, *req_, *this, CallUse::Wait);
    if (!p.spec) return finish(p.failure);
    cancel_on_disconnect_ = p.cancel_on_disconnect;
    auto self = std::static_pointer_cast<CallRpc>(shared_from_this());
    auto job = core_->jobs->submit(std::move(*p.spec), [self](const jobs::Job& j) { self->done(j); });
    if (!job) return finish(cap_failure(job.error()));
    job_ = *job;
    note_job(*job_);
  }

  bool drains() const override { return true; }

  void on_cancel() override {
    finish(cancel_failure(*this));
    // The caller has gone: its instance need not run on (unless the endpoint says otherwise).
    if (cancel_on_disconnect_ && job_ && !jobs::is_finished(job_->state)) core_->jobs->cancel(job_->id.str());
  }

 private:
  void done(const jobs::Job& j) {
    if (finished()) return;
    note_job(j);
    if (j.state == jobs::JobState::Completed) {
      if (auto v = endpoints::result_value(j)) {
        to_proto(*v, resp_->mutable_result());
        resp_->set_job_id(j.id.str());
        resp_->set_server(j.server);
        resp_->set_instance_id(j.instance_id);
        resp_->set_output_truncated(j.truncated);
        resp_->set_output_incomplete(j.incomplete);
        return finish_ok();
      }
    }
    finish(job_failure(j));
  }

  const pb::CallRequest* req_;
  pb::CallResponse* resp_;
  bool cancel_on_disconnect_ = true;
  std::shared_ptr<jobs::Job> job_;
};

class SubmitRpc final : public UnaryCall {
 public:
  SubmitRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::CallRequest* req,
            pb::SubmitJobResponse* resp)
      : UnaryCall(std::move(core), ctx, "SubmitJob"), req_(req), resp_(resp) {}

  void run() override {
    endpoint_ = req_->endpoint();
    auto p = prepare(*core_, *req_, *this, CallUse::Submit);
    if (!p.spec) return finish(p.failure);
    auto job = core_->jobs->submit(std::move(*p.spec));
    if (!job) return finish(cap_failure(job.error()));
    note_job(**job);
    resp_->set_job_id((*job)->id.str());
    auto wait = (*job)->spec.suggested_wait.count();
    resp_->mutable_suggested_wait()->set_seconds(wait / 1000);
    resp_->mutable_suggested_wait()->set_nanos(static_cast<int>((wait % 1000) * 1000000));
    finish_ok();
  }

 private:
  const pb::CallRequest* req_;
  pb::SubmitJobResponse* resp_;
};

class WaitRpc final : public UnaryCall {
 public:
  WaitRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::WaitJobRequest* req, pb::Job* resp)
      : UnaryCall(std::move(core), ctx, "WaitJob"), req_(req), resp_(resp) {}

  void run() override {
    Failure why;
    auto job = find_job(*core_, *this, req_->id(), why);
    if (!job) return finish(why);
    note_job(*job);
    auto self = std::static_pointer_cast<WaitRpc>(shared_from_this());
    core_->jobs->on_end(job, [self](const jobs::Job& j) {
      if (self->finished()) return;  // the deadline passed first
      self->note_job(j);
      to_proto(j, self->resp_);
      self->finish_ok();
    });
  }

 private:
  const pb::WaitJobRequest* req_;
  pb::Job* resp_;
};

class CallStreamRpc final : public JobStream {
 public:
  CallStreamRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::CallRequest* req)
      : JobStream(std::move(core), ctx, "CallStream", true), req_(req) {}

  void run() override {
    endpoint_ = req_->endpoint();
    auto p = prepare(*core_, *req_, *this, CallUse::Wait);
    if (!p.spec) return finish(p.failure);
    cancel_on_disconnect_ = p.cancel_on_disconnect;
    auto job = core_->jobs->submit(std::move(*p.spec));
    if (!job) return finish(cap_failure(job.error()));
    follow(*job, 0);
  }

  bool drains() const override { return true; }

  void on_cancel() override {
    JobStream::on_cancel();
    if (cancel_on_disconnect_ && job_ && !jobs::is_finished(job_->state)) core_->jobs->cancel(job_->id.str());
  }

 private:
  const pb::CallRequest* req_;
  bool cancel_on_disconnect_ = true;
};

class WatchRpc final : public JobStream {
 public:
  WatchRpc(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx, const pb::WatchJobRequest* req)
      : JobStream(std::move(core), ctx, "WatchJob", false), req_(req) {}

  void run() override {
    Failure why;
    auto job = find_job(*core_, *this, req_->id(), why);
    if (!job) return finish(why);
    follow(std::move(job), static_cast<std::size_t>(std::min<std::uint64_t>(req_->from_offset(), UINT32_MAX)));
  }

 private:
  const pb::WatchJobRequest* req_;
};

}  // namespace

std::shared_ptr<jobs::Job> find_job(Core& core, const CallInfo& call, const std::string& id, Failure& why) {
  if (!jobs::JobId::parse(id)) {
    why = failure(C::INVALID_ARGUMENT, "BadRequest", "'" + id + "' is not a job id (a UUID)");
    return nullptr;
  }
  auto job = core.jobs->find(id);
  if (job && !call.may_see(*job)) job = nullptr;  // another client's: as if unknown
  if (!job)
    why = failure(C::NOT_FOUND, "NotFound",
                  "no job with id '" + id + "' (finished jobs are forgotten after jobs.retention, or once fetched by asyncGet)");
  return job;
}

grpc::ServerUnaryReactor* start_call(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                     const pb::CallRequest* req, pb::CallResponse* resp) {
  return UnaryCall::start(std::make_shared<CallRpc>(std::move(core), ctx, req, resp));
}

grpc::ServerUnaryReactor* start_submit(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                       const pb::CallRequest* req, pb::SubmitJobResponse* resp) {
  return UnaryCall::start(std::make_shared<SubmitRpc>(std::move(core), ctx, req, resp));
}

grpc::ServerUnaryReactor* start_wait(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                     const pb::WaitJobRequest* req, pb::Job* resp) {
  return UnaryCall::start(std::make_shared<WaitRpc>(std::move(core), ctx, req, resp));
}

grpc::ServerWriteReactor<pb::JobEvent>* start_call_stream(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                                          const pb::CallRequest* req) {
  return JobStream::start(std::make_shared<CallStreamRpc>(std::move(core), ctx, req));
}

grpc::ServerWriteReactor<pb::JobEvent>* start_watch(std::shared_ptr<Core> core, grpc::CallbackServerContext* ctx,
                                                    const pb::WatchJobRequest* req) {
  return JobStream::start(std::make_shared<WatchRpc>(std::move(core), ctx, req));
}

}  // namespace pg::grpc_api
