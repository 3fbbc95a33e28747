// Between the gateway's own types and the pie.gateway.v1 messages: values, endpoints, jobs and
// their events, servers, and the gRPC status of a failure (code, message, trailers, details).
// Pure functions; the caller is on the io thread wherever a Job is read.
#pragma once

#include <grpcpp/support/status.h>
#include <nlohmann/json_fwd.hpp>

#include <string>

#include "common/result.hpp"
#include "endpoints/registry.hpp"
#include "jobs/job.hpp"
#include "pie/gateway/v1/gateway.pb.h"
#include "value/value.hpp"

namespace grpc {
class CallbackServerContext;
}

namespace pg::grpc_api {

namespace pb = ::pie::gateway::v1;

/// A call argument: every kind but big_int_value maps to its Value; nesting deeper than 64 and
/// a Value with no kind set are errors (messages for INVALID_ARGUMENT).
Result<value::Value> from_proto(const pb::Value& v, const std::string& where, int depth = 0);
/// A result: tuples and sets become lists, dicts with non-str keys maps keyed by their repr.
void to_proto(const value::Value& v, pb::Value* out, int depth = 0);

/// The call's arguments as the endpoint binder takes them (positional, then named by name).
Result<endpoints::CallArgs> call_args(const pb::CallRequest& req);

void to_proto(const endpoints::Endpoint& ep, pb::Endpoint* out);
/// A job as GetJob/ListJobs/WaitJob return it (its result when completed).
void to_proto(const jobs::Job& job, pb::Job* out);
/// Event `index` of `job`'s log.
void to_proto(const jobs::Job& job, std::size_t index, pb::JobEvent* out);
/// One server of cluster->describe() (engine.cpp).
void to_proto(const nlohmann::json& server, pb::Server* out);
/// One entry of a server's "daemons" in cluster->describe() (engine.cpp).
void to_proto_daemon(const nlohmann::json& daemon, const std::string& server, pb::Daemon* out);

pb::JobState to_proto(jobs::JobState s);

/// How a call fails: the status code and message, the ErrorInfo for details and trailers, and a
/// retry hint (ms; 0 = none) for retryable codes.
struct Failure {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  std::string message;
  pb::ErrorInfo info;
  int retry_after_ms = 0;
};
Failure failure(grpc::StatusCode code, std::string type, std::string message);
/// A failed or cancelled job (or a completed one whose result cannot be decoded).
Failure job_failure(const jobs::Job& job);
/// JobService::submit refused the job (jobs.max_live).
Failure cap_failure(const std::string& message);

/// Adds the failure's trailing metadata to `ctx` (before Finish) and returns its status, with a
/// RichStatus (google.rpc.Status on the wire) in the details.
grpc::Status to_status(const Failure& f, grpc::CallbackServerContext* ctx);

/// "OK", "NOT_FOUND", ... for logs and metrics.
const char* code_name(grpc::StatusCode code);

}  // namespace pg::grpc_api
