#include "grpc_calls.hpp"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "pie/gateway/v1/gateway.grpc.pb.h"

namespace pg::soak {

namespace pb = ::pie::gateway::v1;
using Clock = std::chrono::steady_clock;

struct GrpcCalls::Impl {
  Tally& tally;
  std::chrono::milliseconds timeout;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<pb::Gateway::Stub>> stubs;
  std::atomic<std::uint64_t> next{0};

  pb::Gateway::Stub& stub() { return *stubs[next++ % stubs.size()]; }
  void arm(grpc::ClientContext& ctx) const { ctx.set_deadline(std::chrono::system_clock::now() + timeout); }

  static const char* code_name(grpc::StatusCode c) {
    switch (c) {
      case grpc::StatusCode::OK: return "OK";
      case grpc::StatusCode::CANCELLED: return "CANCELLED";
      case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
      case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
      case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
      case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
      case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
      case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
      case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
      case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
      case grpc::StatusCode::ABORTED: return "ABORTED";
      case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
      case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
      case grpc::StatusCode::INTERNAL: return "INTERNAL";
      case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
      case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
      case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
      default: return "CODE?";
    }
  }

  /// The outcome of an ended call. A DEADLINE_EXCEEDED at the client's own deadline is a call the
  /// gateway never answered (its endpoints time out well before). An UNAVAILABLE without the
  /// `pie-error-type` trailer that every gateway error carries is the connection failing: "closed".
  std::string outcome(const grpc::ClientContext& ctx, const grpc::Status& s, Clock::time_point t0,
                      const char* what) const {
    const auto code = s.error_code();
    if (code == grpc::StatusCode::OK) return "grpc:OK";
    if (code == grpc::StatusCode::DEADLINE_EXCEEDED && Clock::now() - t0 >= timeout - std::chrono::milliseconds(100)) {
      tally.note(what, "no answer within the deadline: " + s.error_message());
      return kUnanswered;
    }
    if (code == grpc::StatusCode::UNAVAILABLE && ctx.GetServerTrailingMetadata().count("pie-error-type") == 0) {
      tally.note(what, "UNAVAILABLE without pie-error-type (no answer from the gateway): " + s.error_message());
      return kClosed;
    }
    return std::string("grpc:") + code_name(code);
  }

  /// The outcome of an ended stream: "vanished" when the client cancelled it by design, "bad"
  /// when it ended OK without its last message (`ended`), else as outcome().
  std::string stream_outcome(const grpc::ClientContext& ctx, const grpc::Status& s, Clock::time_point t0,
                             bool cancelled, bool ended, const char* what) const {
    if (cancelled && s.error_code() == grpc::StatusCode::CANCELLED) return kVanished;
    if (s.ok() && !ended) {
      tally.note(what, "OK without its last message");
      return kBad;
    }
    return outcome(ctx, s, t0, what);
  }
};

namespace {

pb::Value text(const std::string& s) {
  pb::Value v;
  v.set_string_value(s);
  return v;
}

class StreamCall final : public grpc::ClientReadReactor<pb::JobEvent> {
 public:
  StreamCall(GrpcCalls::Impl& im, std::uint64_t n, GrpcCalls::Done done) : im_(im), done_(std::move(done)) {
    cancels_ = n % 4 == 3;
    req_.set_endpoint("complete");
    (*req_.mutable_kwargs())["prompt"] = text("g" + std::to_string(n));
    im_.arm(ctx_);
    im_.stub().async()->CallStream(&ctx_, &req_, this);
    StartRead(&ev_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (ev_.has_end()) ended_ = true;
    if (cancels_ && ev_.has_stdout()) {
      cancelled_ = true;
      ctx_.TryCancel();
      return;
    }
    StartRead(&ev_);
  }
  void OnDone(const grpc::Status& s) override {
    done_(im_.stream_outcome(ctx_, s, t0_, cancelled_, ended_, "grpc stream"));
    delete this;
  }

 private:
  GrpcCalls::Impl& im_;
  GrpcCalls::Done done_;
  grpc::ClientContext ctx_;
  pb::CallRequest req_;
  pb::JobEvent ev_;
  Clock::time_point t0_ = Clock::now();
  bool cancels_ = false, cancelled_ = false, ended_ = false;
};

class Conversation final : public grpc::ClientBidiReactor<pb::ConverseRequest, pb::ConverseResponse> {
 public:
  static constexpr int kSays = 2;
  Conversation(GrpcCalls::Impl& im, std::uint64_t n, GrpcCalls::Done done) : im_(im), done_(std::move(done)) {
    cancels_ = n % 4 == 3;
    im_.arm(ctx_);
    im_.stub().async()->Converse(&ctx_, this);
    pb::ConverseRequest open;
    open.mutable_open()->set_endpoint("chat");
    write(open);
    StartRead(&resp_);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (ok && pending_) {
      req_ = *std::exchange(pending_, std::nullopt);
      writing_ = true;
      StartWrite(&req_);
    }
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended: OnDone follows
    if (resp_.has_opened()) {
      if (cancels_) {
        cancelled_ = true;
        ctx_.TryCancel();
        return;
      }
      next();
    } else if (resp_.has_reply() && resp_.reply().ended()) {
      ended_ = true;
    } else if (resp_.has_reply() || resp_.has_error()) {
      next();  // a failed turn leaves the conversation open: go on
    } else if (resp_.has_closed()) {
      ended_ = true;
    }
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status& s) override {
    done_(im_.stream_outcome(ctx_, s, t0_, cancelled_, ended_, "grpc converse"));
    delete this;
  }

 private:
  void next() {
    pb::ConverseRequest r;
    if (said_ < kSays) r.mutable_say()->set_text("c" + std::to_string(said_++));
    else r.mutable_close();
    write(r);
  }
  void write(const pb::ConverseRequest& r) {
    std::lock_guard lock(mu_);
    if (writing_) {
      pending_ = r;
      return;
    }
    writing_ = true;
    req_ = r;
    StartWrite(&req_);
  }

  GrpcCalls::Impl& im_;
  GrpcCalls::Done done_;
  grpc::ClientContext ctx_;
  std::mutex mu_;  // OnWriteDone and OnReadDone may run at the same time
  pb::ConverseRequest req_;
  std::optional<pb::ConverseRequest> pending_;
  bool writing_ = false;
  pb::ConverseResponse resp_;
  Clock::time_point t0_ = Clock::now();
  int said_ = 0;
  bool cancels_ = false, cancelled_ = false, ended_ = false;
};

}  // namespace

GrpcCalls::GrpcCalls(const std::string& target, Tally& tally, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(tally, timeout)) {
  for (int i = 0; i < 2; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct arguments: distinct connections
    impl_->channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    impl_->stubs.push_back(pb::Gateway::NewStub(impl_->channels.back()));
  }
}

GrpcCalls::~GrpcCalls() = default;

void GrpcCalls::unary(std::uint64_t n, Done done) {
  struct Unary {
    grpc::ClientContext ctx;
    pb::CallRequest req;
    pb::CallResponse resp;
    Clock::time_point t0 = Clock::now();
    std::string text;
    Done done;
  };
  auto* u = new Unary;
  u->done = std::move(done);
  u->text = "u" + std::to_string(n);
  u->req.set_endpoint("echo");
  (*u->req.mutable_kwargs())["text"] = text(u->text);
  impl_->arm(u->ctx);
  auto& im = *impl_;
  im.stub().async()->Call(&u->ctx, &u->req, &u->resp, [u, &im](grpc::Status s) {
    auto out = im.outcome(u->ctx, s, u->t0, "grpc call");
    if (s.ok() && u->resp.result().string_value().find(u->text) == std::string::npos) {
      im.tally.note("grpc call", "result without its text: " + u->resp.result().DebugString());
      out = kBad;
    }
    u->done(out);
    delete u;
  });
}

void GrpcCalls::stream(std::uint64_t n, Done done) { new StreamCall(*impl_, n, std::move(done)); }

void GrpcCalls::converse(std::uint64_t n, Done done) { new Conversation(*impl_, n, std::move(done)); }

void GrpcCalls::submit_wait(std::uint64_t, Done done) {
  struct SubmitWait {
    grpc::ClientContext submit_ctx, wait_ctx;
    pb::CallRequest req;
    pb::SubmitJobResponse submitted;
    pb::WaitJobRequest wait;
    pb::Job job;
    Clock::time_point t0 = Clock::now();
    Done done;
  };
  auto* w = new SubmitWait;
  w->done = std::move(done);
  w->req.set_endpoint("sleep_async");
  pb::Value ms;
  ms.set_int_value(100);
  (*w->req.mutable_kwargs())["ms"] = ms;
  impl_->arm(w->submit_ctx);
  impl_->arm(w->wait_ctx);
  auto& im = *impl_;
  im.stub().async()->SubmitJob(&w->submit_ctx, &w->req, &w->submitted, [w, &im](grpc::Status s) {
    if (!s.ok()) {
      w->done(im.outcome(w->submit_ctx, s, w->t0, "grpc submit"));
      delete w;
      return;
    }
    w->wait.set_id(w->submitted.job_id());
    im.stub().async()->WaitJob(&w->wait_ctx, &w->wait, &w->job, [w, &im](grpc::Status s2) {
      auto out = im.outcome(w->wait_ctx, s2, w->t0, "grpc wait");
      const auto st = w->job.state();
      if (s2.ok() && st != pb::JOB_STATE_COMPLETED && st != pb::JOB_STATE_FAILED && st != pb::JOB_STATE_CANCELLED) {
        im.tally.note("grpc wait", "job not ended: " + w->job.DebugString());
        out = kBad;
      }
      w->done(out);
      delete w;
    });
  });
}

}  // namespace pg::soak
