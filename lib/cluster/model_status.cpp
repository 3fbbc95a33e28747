#include "cluster/model_status.hpp"

#include <utility>
#include <vector>

namespace pg::cluster {

using json = nlohmann::json;

struct ModelStatus::State {
  std::chrono::steady_clock::time_point at{};
  bool valid = false;
  json answer;
  std::vector<Done> waiting;  // callers of the gather under way
};

ModelStatus::ModelStatus(std::shared_ptr<Cluster> cluster)
    : cluster_(std::move(cluster)), state_(std::make_shared<State>()) {}

void ModelStatus::get(Done done) {
  auto state = state_;
  const auto now = std::chrono::steady_clock::now();
  if (state->valid && now - state->at < ttl_) {
    auto answer = state->answer;
    answer["age_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(now - state->at).count();
    return done(answer);
  }
  state->waiting.push_back(std::move(done));
  if (state->waiting.size() > 1) return;  // one gather at a time; this caller joins it
  cluster_->query("", "model_status", "", [state](Cluster::QueryAnswers answers) {
    json servers = json::array();
    for (auto& [name, r] : answers) {
      json s = {{"server", name}, {"ok", static_cast<bool>(r)}};
      if (!r) {
        s["error"] = r.error();
      } else {
        // Pie answers a JSON text; anything else is passed on as a string.
        auto parsed = json::parse(*r, nullptr, false);
        s["status"] = parsed.is_discarded() ? json(*r) : std::move(parsed);
      }
      servers.push_back(std::move(s));
    }
    state->answer = {{"servers", std::move(servers)}, {"age_ms", 0}};
    state->at = std::chrono::steady_clock::now();
    state->valid = true;
    auto waiting = std::exchange(state->waiting, {});
    for (auto& w : waiting) w(state->answer);
  });
}

}  // namespace pg::cluster
