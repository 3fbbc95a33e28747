#include "access/throttle.hpp"

#include <algorithm>
#include <cmath>

namespace pg::access {

void TokenBucket::set_limits(double per_second, double burst) {
  rate_ = per_second;
  burst_ = burst;
  level_ = std::min(level_, burst_);
}

void TokenBucket::refill(Clock::time_point now) {
  if (last_ == Clock::time_point{}) {
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(burst_, level_ + elapsed * rate_);
  last_ = now;
}

bool TokenBucket::take(Clock::time_point now, std::chrono::milliseconds& retry_after) {
  if (rate_ <= 0) return true;
  refill(now);
  if (level_ >= 1) {
    level_ -= 1;
    return true;
  }
  const double wait = (1 - level_) / rate_;
  retry_after = std::chrono::milliseconds(static_cast<long long>(std::ceil(wait * 1000)));
  return false;
}

std::string_view address_only(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    auto close = remote.find(']');
    return close == std::string_view::npos ? remote : remote.substr(1, close - 1);
  }
  auto colon = remote.rfind(':');
  if (colon != std::string_view::npos && remote.find(':') == colon) return remote.substr(0, colon);
  return remote;
}

void FailureThrottle::make_room(Clock::time_point now) {
  for (auto it = by_address_.begin(); it != by_address_.end();)
    it = now - it->second.last > kWindow ? by_address_.erase(it) : std::next(it);
  if (by_address_.size() < kMaxAddresses) return;
  // Still full of recent failures: forget the one that failed least recently.
  auto oldest = std::min_element(by_address_.begin(), by_address_.end(),
                                 [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
  by_address_.erase(oldest);
}

unsigned FailureThrottle::fail(std::string_view address, Clock::time_point now) {
  auto it = by_address_.find(std::string(address));
  if (it == by_address_.end()) {
    if (by_address_.size() >= kMaxAddresses) make_room(now);
    it = by_address_.emplace(std::string(address), Entry{0, now, now}).first;
  }
  Entry& e = it->second;
  if (now - e.first > kWindow) e = Entry{0, now, now};  // a new window
  e.last = now;
  if (e.failures < 1000000) ++e.failures;
  return e.failures;
}

std::chrono::milliseconds FailureThrottle::delay_for(unsigned n, unsigned free, std::chrono::milliseconds max) {
  if (n <= free) return std::chrono::milliseconds(0);
  const unsigned doublings = std::min(n - free - 1, 20u);
  return std::min(max, std::chrono::milliseconds(100LL << doublings));
}

}  // namespace pg::access
