#include "tally.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

namespace pg::soak {

void Tally::add(const std::string& cls, const std::string& outcome) {
  std::lock_guard lock(mu_);
  ++interval_[cls][outcome];
  ++total_[cls][outcome];
}

void Tally::note(const std::string& cls, const std::string& what) {
  std::lock_guard lock(mu_);
  if (notes_ >= kMaxNotes) return;
  if (++notes_ == kMaxNotes) std::cerr << "soak: (further notes are only counted)\n";
  std::cerr << "soak: " << cls << ": " << what << "\n";
}

nlohmann::ordered_json Tally::to_json(const Counts& c) {
  auto j = nlohmann::ordered_json::object();
  for (const auto& [cls, outcomes] : c)
    for (const auto& [outcome, n] : outcomes) j[cls][outcome] = n;
  return j;
}

nlohmann::ordered_json Tally::take_interval() {
  std::lock_guard lock(mu_);
  auto j = to_json(interval_);
  interval_.clear();
  return j;
}

nlohmann::ordered_json Tally::totals() {
  std::lock_guard lock(mu_);
  return to_json(total_);
}

ProcSample sample_proc(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator it(dir + "/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  if (!ec && s.rss_kib >= 0) s.fds = n;
  return s;
}

}  // namespace pg::soak
