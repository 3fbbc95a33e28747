// Engine status for every front door (HTTP GET gateway/models, gRPC GetModels): each configured
// server's answer to Pie's `model_status` query, gathered in parallel and reused for a short
// while (`models_cache:`), so a burst of callers costs Pie one query per server.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "cluster/cluster.hpp"

namespace pg::cluster {

class ModelStatus {
 public:
  explicit ModelStatus(std::shared_ptr<Cluster> cluster);

  /// How long an answer is reused (`models_cache:`, at start and on reload).
  void set_ttl(std::chrono::milliseconds ttl) { ttl_ = ttl; }

  /// io thread. `done` gets {"servers": [{"server", "ok", "status" | "error"}, ...], "age_ms": N}
  /// in config order (`status`: Pie's JSON answer, or its text). Callers that ask while a gather
  /// is under way share it.
  using Done = std::function<void(const nlohmann::json& answer)>;
  void get(Done done);

 private:
  struct State;
  std::shared_ptr<Cluster> cluster_;
  std::chrono::milliseconds ttl_{2000};
  std::shared_ptr<State> state_;  // also held by a gather in flight
};

}  // namespace pg::cluster
