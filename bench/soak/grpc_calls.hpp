// The soak's gRPC calls (pie.gateway.v1.Gateway), on gRPC's callback API: no thread per call.
// Every call has a deadline; `done` runs once per call with its outcome ("grpc:OK", ...,
// "vanished" for a call the client cancelled by design, "unanswered" when the deadline passed),
// on one of gRPC's threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tally.hpp"

namespace pg::soak {

class GrpcCalls {
 public:
  using Done = std::function<void(const std::string& outcome)>;
  GrpcCalls(const std::string& target, Tally& tally, std::chrono::milliseconds timeout);
  ~GrpcCalls();  // every call must have ended

  void unary(std::uint64_t n, Done done);        // Call(echo)
  void stream(std::uint64_t n, Done done);       // CallStream(complete); every 4th cancelled at its first token
  void converse(std::uint64_t n, Done done);     // Converse(chat): open, 2 says, close; every 4th cancelled once open
  void submit_wait(std::uint64_t n, Done done);  // SubmitJob(sleep), then WaitJob

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pg::soak
