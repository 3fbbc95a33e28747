#include "grpc/convert.hpp"

#include <grpcpp/server_context.h>

#include <algorithm>

#include "endpoints/result.hpp"

namespace pg::grpc_api {

namespace {

constexpr int kMaxDepth = 64;
constexpr std::size_t kStderrTail = 4096;

std::string stderr_tail(const jobs::Job& job) {
  const auto& s = job.stderr_text;
  return s.size() > kStderrTail ? s.substr(s.size() - kStderrTail) : s;
}

void set_duration(google::protobuf::Duration* d, std::chrono::milliseconds ms) {
  d->set_seconds(ms.count() / 1000);
  d->set_nanos(static_cast<int>((ms.count() % 1000) * 1000000));
}

}  // namespace

Result<value::Value> from_proto(const pb::Value& v, const std::string& where, int depth) {
  using V = value::Value;
  if (depth > kMaxDepth) return make_error(where + " is nested deeper than " + std::to_string(kMaxDepth) + " levels");
  switch (v.kind_case()) {
    case pb::Value::kNullValue: return V::none();
    case pb::Value::kStringValue: return V::str(v.string_value());
    case pb::Value::kIntValue: return V::integer(v.int_value());
    case pb::Value::kDoubleValue: return V::real(v.double_value());
    case pb::Value::kBoolValue: return V::boolean(v.bool_value());
    case pb::Value::kBytesValue: return V::bytes(v.bytes_value());
    case pb::Value::kBigIntValue: {
      auto b = value::BigInt::from_decimal(v.big_int_value());
      if (!b) return make_error(where + ": big_int_value is not a whole number in decimal");
      return V::big(std::move(*b));
    }
    case pb::Value::kListValue: {
      value::Items items;
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        auto item = from_proto(v.list_value().values(i), where + "[" + std::to_string(i) + "]", depth + 1);
        if (!item) return item;
        items.push_back(std::move(*item));
      }
      return V::list(std::move(items));
    }
    case pb::Value::kMapValue: {
      // Sorted keys: the argument text (compact JSON) is the same whatever the map's wire order.
      std::vector<const std::string*> keys;
      for (const auto& [k, _] : v.map_value().fields()) keys.push_back(&k);
      std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
      value::DictItems items;
      for (const auto* k : keys) {
        auto item = from_proto(v.map_value().fields().at(*k), where + "['" + *k + "']", depth + 1);
        if (!item) return item;
        items.emplace_back(V::str(*k), std::move(*item));
      }
      return V::dict(std::move(items));
    }
    case pb::Value::KIND_NOT_SET: break;
  }
  return make_error(where + " has no value set (set one of string_value, int_value, ...)");
}

void to_proto(const value::Value& v, pb::Value* out, int depth) {
  using K = value::Kind;
  if (depth > kMaxDepth) {
    out->set_string_value(v.repr());
    return;
  }
  switch (v.kind()) {
    case K::None: out->set_null_value(pb::NULL_VALUE); return;
    case K::Bool: out->set_bool_value(v.as_bool()); return;
    case K::Int: out->set_int_value(v.as_int()); return;
    case K::BigInt: out->set_big_int_value(v.as_bigint().to_decimal()); return;
    case K::Float: out->set_double_value(v.as_float()); return;
    case K::Str: out->set_string_value(v.as_str()); return;
    case K::Bytes: out->set_bytes_value(v.as_bytes()); return;
    case K::List:
    case K::Tuple:
    case K::Set:
    case K::FrozenSet: {
      auto* list = out->mutable_list_value();
      for (const auto& item : v.items()) to_proto(item, list->add_values(), depth + 1);
      return;
    }
    case K::Dict: {
      auto* fields = out->mutable_map_value()->mutable_fields();
      for (const auto& [k, item] : v.dict_items()) to_proto(item, &(*fields)[k.is(K::Str) ? k.as_str() : k.repr()], depth + 1);
      return;
    }
  }
}

Result<endpoints::CallArgs> call_args(const pb::CallRequest& req) {
  endpoints::CallArgs out;
  for (int i = 0; i < req.args_size(); ++i) {
    auto v = from_proto(req.args(i), "args[" + std::to_string(i) + "]");
    if (!v) return make_error(v.error());
    out.positional.push_back(value::to_text(*v));
  }
  std::vector<const std::string*> names;
  for (const auto& [k, _] : req.kwargs()) names.push_back(&k);
  std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
  for (const auto* k : names) {
    auto v = from_proto(req.kwargs().at(*k), "kwargs['" + *k + "']");
    if (!v) return make_error(v.error());
    out.named.emplace_back(*k, value::to_text(*v));
  }
  return out;
}

void to_proto(const endpoints::Endpoint& ep, pb::Endpoint* out) {
  const auto& c = ep.cfg;
  out->set_name(c.name);
  out->set_kind(config::to_string(c.kind));
  out->set_description(c.description.empty() ? "Runs " + c.inferlet : c.description);
  out->set_inferlet(c.inferlet);
  for (const auto& p : c.params) {
    auto* q = out->add_params();
    q->set_name(p.name);
    switch (p.type) {
      case config::ParamType::String: q->set_type(pb::PARAM_TYPE_STRING); break;
      case config::ParamType::Int: q->set_type(pb::PARAM_TYPE_INT); break;
      case config::ParamType::Float: q->set_type(pb::PARAM_TYPE_FLOAT); break;
      case config::ParamType::Bool: q->set_type(pb::PARAM_TYPE_BOOL); break;
    }
    q->set_required(!p.default_value);
    if (p.default_value) q->set_default_value(*p.default_value);
    q->set_description(p.description);
  }
  for (const auto& t : ep.args) {
    if (t.spread() == endpoints::ArgTemplate::Spread::Args) out->set_takes_extra_args(true);
    if (t.spread() == endpoints::ArgTemplate::Spread::Kwargs) out->set_takes_extra_kwargs(true);
  }
  out->set_async(c.async);
  set_duration(out->mutable_timeout(), c.timeout);
  out->set_group(c.group);
  out->set_cancel_on_disconnect(c.cancel_on_disconnect);
  out->set_result_format(c.format == config::ResultFormat::Json ? "json" : "text");
  out->set_takes_input(std::any_of(c.inputs.begin(), c.inputs.end(), [](const auto& in) { return in.param.empty(); }));
  if (c.is_session()) {
    auto* s = out->mutable_session();
    set_duration(s->mutable_idle_timeout(), c.session.idle_timeout);
    s->set_max_open(static_cast<std::uint32_t>(c.session.max_open));
    set_duration(s->mutable_max_duration(), c.session.max_duration);
  }
}

pb::JobState to_proto(jobs::JobState s) {
  switch (s) {
    case jobs::JobState::Queued: return pb::JOB_STATE_QUEUED;
    case jobs::JobState::Running: return pb::JOB_STATE_RUNNING;
    case jobs::JobState::Completed: return pb::JOB_STATE_COMPLETED;
    case jobs::JobState::Failed: return pb::JOB_STATE_FAILED;
    case jobs::JobState::Cancelled: return pb::JOB_STATE_CANCELLED;
  }
  return pb::JOB_STATE_UNSPECIFIED;
}

void to_proto(const jobs::Job& job, pb::Job* out) {
  out->set_id(job.id.str());
  out->set_endpoint(job.spec.endpoint);
  out->set_inferlet(job.spec.launch.inferlet);
  out->set_state(to_proto(job.state));
  out->set_async(job.spec.async);
  auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(job.created_wall.time_since_epoch()).count();
  out->mutable_created()->set_seconds(since_epoch / 1000000000);
  out->mutable_created()->set_nanos(static_cast<int>(since_epoch % 1000000000));
  out->set_seconds_running(job.seconds_running());
  out->set_server(job.server);
  out->set_instance_id(job.instance_id);
  out->set_output_truncated(job.truncated);
  out->set_output_incomplete(job.incomplete);
  out->set_events(job.events.size());
  out->set_client(job.spec.owner);
  if (job.state == jobs::JobState::Completed) {
    auto v = endpoints::result_value(job);
    if (v) {
      to_proto(*v, out->mutable_result());
    } else {
      out->mutable_error()->set_type("BadInferletResult");
      out->mutable_error()->set_message(v.error());
    }
  } else if (job.error) {
    out->mutable_error()->set_type(job.error->type);
    out->mutable_error()->set_message(job.error->message);
    out->mutable_error()->set_stderr_tail(stderr_tail(job));
  }
}

void to_proto(const jobs::Job& job, std::size_t index, pb::JobEvent* out) {
  using K = jobs::JobEvent::Kind;
  const auto& e = job.events.at(index);
  out->set_offset(index);
  switch (e.kind) {
    case K::Started: {
      auto* s = out->mutable_started();
      s->set_job_id(job.id.str());
      s->set_server(job.server);
      s->set_instance_id(job.instance_id);
      return;
    }
    case K::Stdout: out->set_stdout(std::string(job.event_text(e))); return;
    case K::Stderr: out->set_stderr(std::string(job.event_text(e))); return;
    case K::Message: out->set_message(std::string(job.event_text(e))); return;
    case K::Blob: {
      auto* b = out->mutable_blob();
      b->set_hash(job.blobs.at(e.offset).hash);
      b->set_data(job.blobs.at(e.offset).bytes);
      return;
    }
    case K::Gap: out->set_gap(std::string(job.event_text(e))); return;
    case K::End: to_proto(job, out->mutable_end()); return;
  }
}

Failure failure(grpc::StatusCode code, std::string type, std::string message) {
  Failure f;
  f.code = code;
  f.message = std::move(message);
  f.info.set_type(std::move(type));
  if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED) f.retry_after_ms = 1000;
  return f;
}

Failure job_failure(const jobs::Job& job) {
  using K = jobs::JobError::Kind;
  using C = grpc::StatusCode;
  Failure f;
  if (job.state == jobs::JobState::Completed) {
    auto v = endpoints::result_value(job);
    f = failure(C::INTERNAL, "BadInferletResult", v ? "" : v.error());
  } else {
    const jobs::JobError e = job.error ? *job.error : jobs::JobError{K::Cancelled, "Cancelled", "job cancelled"};
    // The same classification HTTP uses (job_answers.cpp): Unavailable 503, Timeout 504, Cancelled
    // 409, the rest 502; gRPC splits the cluster's full queue out as RESOURCE_EXHAUSTED.
    C code = C::INTERNAL;
    std::string message = e.message;
    switch (e.kind) {
      case K::Unavailable: code = C::UNAVAILABLE; break;
      case K::Overloaded: code = C::RESOURCE_EXHAUSTED; break;
      case K::Timeout: code = C::DEADLINE_EXCEEDED; break;
      case K::Cancelled: code = C::CANCELLED; break;
      case K::InferletFailed:
        code = C::ABORTED;
        message = "inferlet '" + job.spec.launch.inferlet + "' ended with " + e.type + ": " + e.message;
        break;
      case K::SessionLost: code = C::UNAVAILABLE; break;
      case K::Rejected: code = C::INTERNAL; break;
      case K::TooLarge: code = C::RESOURCE_EXHAUSTED; break;
    }
    f = failure(code, e.type, std::move(message));
    f.info.set_stderr_tail(stderr_tail(job));
  }
  f.info.set_job_id(job.id.str());
  f.info.set_server(job.server);
  f.info.set_instance_id(job.instance_id);
  return f;
}

Failure cap_failure(const std::string& message) {
  return failure(grpc::StatusCode::RESOURCE_EXHAUSTED, "JobCapReached", message);
}

grpc::Status to_status(const Failure& f, grpc::CallbackServerContext* ctx) {
  const auto& i = f.info;
  if (!i.type().empty()) ctx->AddTrailingMetadata("pie-error-type", i.type());
  if (!i.job_id().empty()) ctx->AddTrailingMetadata("pie-job-id", i.job_id());
  if (!i.server().empty()) ctx->AddTrailingMetadata("pie-server", i.server());
  if (!i.instance_id().empty()) ctx->AddTrailingMetadata("pie-instance", i.instance_id());
  pb::RichStatus rich;
  rich.set_code(static_cast<int>(f.code));
  rich.set_message(f.message);
  rich.add_details()->PackFrom(i);
  if (f.retry_after_ms > 0) {
    ctx->AddTrailingMetadata("retry-after-ms", std::to_string(f.retry_after_ms));
    // gRPC's own key: a client with a retry policy waits this long before its next attempt.
    ctx->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(f.retry_after_ms));
    pb::RetryInfo retry;
    set_duration(retry.mutable_retry_delay(), std::chrono::milliseconds(f.retry_after_ms));
    auto* any = rich.add_details();
    any->set_type_url("type.googleapis.com/google.rpc.RetryInfo");  // wire-identical message
    any->set_value(retry.SerializeAsString());
  }
  return grpc::Status(f.code, f.message, rich.SerializeAsString());
}

const char* code_name(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",        "CANCELLED",         "UNKNOWN",      "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS", "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                                           "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  auto i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : "UNKNOWN";
}

}  // namespace pg::grpc_api
