#include "processes.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <deque>

#include "hash/blake3.hpp"
#include "util.hpp"

namespace pie_sim {

namespace v05 = pg::pie::v05;

namespace {

/// list_processes shows at most this much of each input, and stops adding entries before its
/// result could outgrow a frame.
constexpr std::size_t kListInputBytes = 4096;
constexpr std::size_t kListBytes = 3 * 1024 * 1024;

std::string cut(std::string text) {
  text.resize(utf8_prefix(text, kMaxTextBytes));
  return text;
}

void send_file(Peer05& peer, const std::string& id, std::string_view bytes, std::string_view name) {
  const std::string hash = pg::hash::blake3_hex(bytes);
  const std::uint64_t total = bytes.empty() ? 1 : (bytes.size() + v05::kChunkSize - 1) / v05::kChunkSize;
  for (std::uint64_t i = 0; i < total; ++i)
    peer.send(v05::File{id, hash, i, total,
                        std::string(bytes.substr(std::min<std::size_t>(i * v05::kChunkSize, bytes.size()), v05::kChunkSize)),
                        std::string(name)});
}

}  // namespace

// ---- one process --------------------------------------------------------------------------

class ProcessTable::Process final : public Emitter, public std::enable_shared_from_this<Process> {
 public:
  Process(ProcessTable& table, std::string id, ProcessSpec spec)
      : table_(table), id_(std::move(id)), spec_(std::move(spec)), started_at_(std::chrono::steady_clock::now()) {}

  void output(Stream s, std::string text) override {
    const char* event = s == Stream::Stdout ? "stdout" : "stderr";
    // Long output goes out in pieces of at most kMaxTextBytes (never splitting UTF-8 if it is UTF-8).
    std::string_view rest(text);
    do {
      std::size_t n = utf8_prefix(rest, kMaxTextBytes);
      if (n == 0 && !rest.empty()) n = std::min(rest.size(), kMaxTextBytes);
      emit(event, std::string(rest.substr(0, n)));
      rest.remove_prefix(n);
    } while (!rest.empty());
  }
  void message(std::string text) override {
    if (auto p = peer_.lock()) p->send(v05::ProcessEvent{id_, "message", cut(std::move(text))});
  }
  void blob(std::string bytes, std::string_view name) override {
    if (auto p = peer_.lock()) send_file(*p, id_, bytes, name);
  }
  void finish(Outcome outcome, std::string value) override {
    auto keep = shared_from_this();
    finished_ = true;
    if (auto p = peer_.lock()) p->send(v05::ProcessEvent{id_, outcome == Outcome::Returned ? "return" : "error", cut(std::move(value))});
    table_.remove(id_);  // attached: done; detached: gone, its result is lost
  }

  void start() {
    program_ = spec_.failure.empty() ? make_program(spec_.program, table_.ex_, *this, table_.options_)
                                     : make_failing_program(table_.ex_, *this, spec_.failure);
    program_->start(spec_.args);
  }
  void stop_program() {
    if (program_) program_->stop();
  }
  void replay_to(Peer05& peer) {
    for (auto& e : ring_) peer.send(std::move(e));
    ring_.clear();
    ring_bytes_ = 0;
  }
  bool owned_by(const Peer05* p) const { return std::find(owners_.begin(), owners_.end(), p) != owners_.end(); }
  void add_owner(const Peer05* p) {
    if (p && !owned_by(p)) owners_.push_back(p);
  }

  ProcessTable& table_;
  const std::string id_;
  const ProcessSpec spec_;
  const std::chrono::steady_clock::time_point started_at_;
  std::weak_ptr<Peer05> peer_;
  std::vector<const Peer05*> owners_;  // at most the launching socket and the attaching ones
  std::shared_ptr<Program> program_;
  std::deque<v05::ProcessEvent> ring_;
  std::size_t ring_bytes_ = 0;
  bool finished_ = false;

 private:
  void emit(const char* event, std::string value) {
    if (auto p = peer_.lock()) return p->send(v05::ProcessEvent{id_, event, std::move(value)});
    ring_bytes_ += value.size();
    ring_.push_back(v05::ProcessEvent{id_, event, std::move(value)});
    while (!ring_.empty() && (ring_.size() > kRingEvents || ring_bytes_ > kRingBytes)) {
      ring_bytes_ -= ring_.front().value.size();
      ring_.pop_front();
    }
  }
};

// ---- the table ----------------------------------------------------------------------------

ProcessTable::ProcessTable(boost::asio::any_io_executor ex, ProgramOptions options)
    : ex_(std::move(ex)), options_(options) {}

ProcessTable::~ProcessTable() { clear(); }

void ProcessTable::clear() {
  auto all = std::move(by_id_);
  by_id_.clear();
  for (auto& [id, p] : all) p->stop_program();
}

ProcessTable::Process* ProcessTable::find(std::string_view id) const {
  auto norm = normalize_uuid(id);
  if (!norm) return nullptr;
  auto it = by_id_.find(*norm);
  return it == by_id_.end() ? nullptr : it->second.get();
}

void ProcessTable::remove(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto keep = it->second;  // the caller may be a member of this process
  by_id_.erase(it);
  keep->stop_program();
}

std::string ProcessTable::create(ProcessSpec spec, const Peer05* owner, const std::shared_ptr<Peer05>& peer) {
  std::string id = new_uuid_v4();
  auto p = std::make_shared<Process>(*this, id, std::move(spec));
  p->peer_ = peer;
  p->add_owner(owner);
  by_id_.emplace(id, std::move(p));
  return id;
}

void ProcessTable::start(const std::string& id) {
  if (auto* p = find(id)) p->start();
}

void ProcessTable::attach(std::uint32_t corr_id, std::string_view id, const std::shared_ptr<Peer05>& peer) {
  auto* p = find(id);
  if (!p || !p->peer_.expired()) return peer->send(v05::Response{corr_id, false, "Process not found"});
  peer->send(v05::Response{corr_id, true, "Process attached"});
  p->peer_ = peer;
  p->add_owner(peer.get());
  p->replay_to(*peer);
}

void ProcessTable::signal(std::string_view id, std::string message) {
  if (auto* p = find(id); p && p->program_) p->program_->on_signal(std::move(message));
}

void ProcessTable::deliver_file(std::string_view id, std::string bytes) {
  if (auto* p = find(id); p && p->program_) p->program_->on_blob(std::move(bytes));
}

void ProcessTable::terminate(std::string_view id) {
  auto* p = find(id);
  if (!p) return;
  auto keep = p->shared_from_this();
  auto peer = p->peer_.lock();
  remove(p->id_);
  if (peer) peer->send(v05::ProcessEvent{keep->id_, "error", "Signal"});
}

void ProcessTable::socket_closed(const Peer05* peer, bool detach) {
  std::vector<std::string> doomed;
  for (auto& [id, p] : by_id_) {
    if (detach) {
      if (p->peer_.lock().get() == peer) p->peer_.reset();
      p->owners_.erase(std::remove(p->owners_.begin(), p->owners_.end(), peer), p->owners_.end());
    } else if (p->owned_by(peer) || (p->peer_.lock().get() == peer)) {
      doomed.push_back(id);
    }
  }
  for (const auto& id : doomed) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) continue;
    auto keep = it->second;
    auto other = keep->peer_.lock();
    remove(id);  // the closing socket gets no events; another one attached to it is told
    if (other && other.get() != peer) other->send(v05::ProcessEvent{id, "error", "Signal"});
  }
}

std::string ProcessTable::list_json() const {
  auto out = nlohmann::json::array();
  std::size_t bytes = 2;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, p] : by_id_) {
    std::string input = p->spec_.input.substr(0, utf8_prefix(p->spec_.input, kListInputBytes));
    nlohmann::json e = {{"id", id},
                        {"username", "internal"},
                        {"program", p->spec_.inferlet},
                        {"input", std::move(input)},
                        {"elapsed_secs", std::chrono::duration_cast<std::chrono::seconds>(now - p->started_at_).count()}};
    auto text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (bytes + text.size() + 1 > kListBytes) break;
    bytes += text.size() + 1;
    out.push_back(std::move(e));
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pie_sim
