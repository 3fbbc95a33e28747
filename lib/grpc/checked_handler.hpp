// A request that does not parse as its message: gRPC's callback handlers answer it
// UNIMPLEMENTED with no message, before any code of ours runs. CheckedHandler wraps such a
// handler (one of a method of the generated service): it keeps a reference to the request's bytes
// (grpc_byte_buffer_copy refs them, no copy), lets the handler parse them, and when that fails
// runs the handler as if it had parsed an empty request, with the failure set for this thread
// (undecodable_request(), rpc.hpp): the reactor the method creates answers INVALID_ARGUMENT naming
// the problem (decode_check.hpp) instead of running. Internal to lib/grpc (server.cpp).
#pragma once

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>

#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "grpc/decode_check.hpp"
#include "grpc/rpc.hpp"

namespace pg::grpc_api {

/// The bytes of a byte buffer, in one piece.
inline std::string buffer_bytes(grpc_byte_buffer* bb) {
  std::string out;
  grpc_byte_buffer_reader reader;
  if (!bb || !grpc_byte_buffer_reader_init(&reader, bb)) return out;
  grpc_slice s;
  while (grpc_byte_buffer_reader_next(&reader, &s)) {
    out.append(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)), GRPC_SLICE_LENGTH(s));
    grpc_slice_unref(s);
  }
  grpc_byte_buffer_reader_destroy(&reader);
  return out;
}

/// Around a unary (CallbackUnaryHandler) or server-streaming (CallbackServerStreamingHandler)
/// handler of method Req -> Resp.
template <class Req, class Resp, bool kStreaming>
class CheckedHandler final : public grpc::internal::MethodHandler {
 public:
  using Inner = std::conditional_t<kStreaming, grpc::internal::CallbackServerStreamingHandler<Req, Resp>,
                                   grpc::internal::CallbackUnaryHandler<Req, Resp>>;
  explicit CheckedHandler(Inner* inner) : inner_(inner) {}
  ~CheckedHandler() override { delete inner_; }
  CheckedHandler(const CheckedHandler&) = delete;
  CheckedHandler& operator=(const CheckedHandler&) = delete;

  void* Deserialize(grpc_call* call, grpc_byte_buffer* req, grpc::Status* status, void** handler_data) override {
    grpc_byte_buffer* copy = req ? grpc_byte_buffer_copy(req) : nullptr;
    void* parsed = inner_->Deserialize(call, req, status, handler_data);
    if (!status->ok()) {
      std::string why = explain_undecodable(buffer_bytes(copy), Req::descriptor());
      std::lock_guard lock(mu_);
      failed_[call] = std::move(why);
    }
    if (copy) grpc_byte_buffer_destroy(copy);
    return parsed;
  }

  void RunHandler(const HandlerParameter& p) override {
    std::string why;
    {
      std::lock_guard lock(mu_);
      auto it = failed_.find(p.call->call());
      if (it == failed_.end()) return inner_->RunHandler(p);
      why = std::move(it->second);
      failed_.erase(it);
    }
    // An empty request in the place the handler expects (unary: the message holder; streaming:
    // the request itself, which the handler destroys).
    void* request = p.request;
    if constexpr (kStreaming) {
      request = new (grpc::g_core_codegen_interface->grpc_call_arena_alloc(p.call->call(), sizeof(Req))) Req();
    } else {
      static_cast<grpc::MessageHolder<Req, Resp>*>(p.internal_data)->request()->Clear();
    }
    UndecodableScope scope(&why);
    inner_->RunHandler(HandlerParameter(p.call, p.server_context, request, grpc::Status::OK, p.internal_data,
                                        p.call_requester));
  }

 private:
  Inner* inner_;
  std::mutex mu_;
  std::unordered_map<const grpc_call*, std::string> failed_;  // parsed, not yet run
};

}  // namespace pg::grpc_api
