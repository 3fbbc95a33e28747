// Helpers for the gRPC integration tests: a stub on the gateway's gRPC port, value builders,
// error details, and pie-sim's live instances.
#pragma once

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pie/gateway/v1/gateway.grpc.pb.h"
#include "support/pie_test_client.hpp"

namespace pg::test::grpc_support {

namespace pb = ::pie::gateway::v1;
using namespace std::chrono_literals;

inline std::unique_ptr<pb::Gateway::Stub> stub(int port) {
  return pb::Gateway::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

inline void with_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

inline pb::Value str(const std::string& s) {
  pb::Value v;
  v.set_string_value(s);
  return v;
}
inline pb::Value integer(std::int64_t i) {
  pb::Value v;
  v.set_int_value(i);
  return v;
}

inline pb::CallRequest call(const std::string& endpoint, std::vector<pb::Value> args = {},
                            std::map<std::string, pb::Value> kwargs = {}) {
  pb::CallRequest r;
  r.set_endpoint(endpoint);
  for (auto& a : args) *r.add_args() = a;
  for (auto& [k, v] : kwargs) (*r.mutable_kwargs())[k] = v;
  return r;
}

/// A trailing metadata value of a finished call ("" if absent).
inline std::string trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto it = ctx.GetServerTrailingMetadata().find(key);
  return it == ctx.GetServerTrailingMetadata().end() ? "" : std::string(it->second.data(), it->second.size());
}
inline std::string initial(const grpc::ClientContext& ctx, const std::string& key) {
  auto it = ctx.GetServerInitialMetadata().find(key);
  return it == ctx.GetServerInitialMetadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

/// Instance ids pie-sim still runs (an internal-token session sees them all).
inline std::vector<std::string> live_instances(int sim_port) {
  namespace v02 = pg::pie::v02;
  PieTestClient pie(static_cast<std::uint16_t>(sim_port));
  std::vector<std::string> ids;
  if (!pie.request<v02::Response>(v02::InternalAuthenticate{pie.next_corr_id(), "any"})) return {"<auth failed>"};
  auto live = pie.request<v02::LiveInstances>(v02::ListInstances{pie.next_corr_id()});
  if (!live) return {"<no answer>"};
  for (const auto& i : live->instances)
    if (i.status != "Finished") ids.push_back(i.id);
  return ids;
}

inline bool instance_gone(int sim_port, const std::string& id) {
  for (int i = 0; i < 100; ++i) {
    auto live = live_instances(sim_port);
    if (std::find(live.begin(), live.end(), id) == live.end()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

inline bool instance_running(int sim_port, const std::string& id) {
  auto live = live_instances(sim_port);
  return std::find(live.begin(), live.end(), id) != live.end();
}

/// Polls GetJob until `pred(job)` or ~5 s pass; returns the last job seen.
template <class Pred>
pb::Job poll_job(pb::Gateway::Stub& s, const std::string& id, Pred pred) {
  pb::Job job;
  for (int i = 0; i < 250; ++i) {
    grpc::ClientContext ctx;
    pb::GetJobRequest req;
    req.set_id(id);
    if (s.GetJob(&ctx, req, &job).ok() && pred(job)) return job;
    std::this_thread::sleep_for(20ms);
  }
  return job;
}

/// The newest job of `endpoint` (ListJobs), polled until it is running (or ~5 s).
inline pb::Job running_job(pb::Gateway::Stub& s, const std::string& endpoint) {
  for (int i = 0; i < 250; ++i) {
    grpc::ClientContext ctx;
    pb::ListJobsRequest req;
    req.set_endpoint(endpoint);
    req.set_state(pb::JOB_STATE_RUNNING);
    req.set_page_size(1);
    pb::ListJobsResponse resp;
    if (s.ListJobs(&ctx, req, &resp).ok() && resp.jobs_size() == 1 && !resp.jobs(0).instance_id().empty())
      return resp.jobs(0);
    std::this_thread::sleep_for(20ms);
  }
  return {};
}

/// The ErrorInfo in a failed status's RichStatus details.
inline pb::ErrorInfo error_info(const grpc::Status& st, bool* has_retry = nullptr) {
  pb::RichStatus rich;
  pb::ErrorInfo info;
  if (!rich.ParseFromString(st.error_details())) return info;
  for (const auto& any : rich.details()) {
    if (any.Is<pb::ErrorInfo>()) any.UnpackTo(&info);
    if (has_retry && any.type_url() == "type.googleapis.com/google.rpc.RetryInfo") *has_retry = true;
  }
  return info;
}

}  // namespace pg::test::grpc_support
