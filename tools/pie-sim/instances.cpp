#include "instances.hpp"

#include <algorithm>
#include <chrono>

#include "hash/blake3.hpp"

namespace pie_sim {

namespace v02 = pg::pie::v02;

// ---- helpers ------------------------------------------------------------------------------

void RingText::append(std::string_view text) {
  buf_.append(text);
  // Compact only when twice over capacity: amortised O(1) per byte.
  if (buf_.size() > 2 * capacity_) {
    buf_.erase(0, buf_.size() - capacity_);
    cut_ = true;
  }
}

std::string RingText::take() {
  std::size_t start = 0;
  if (buf_.size() > capacity_) {
    start = buf_.size() - capacity_;
    cut_ = true;
  }
  // Older bytes were dropped: never begin inside a UTF-8 sequence.
  for (int i = 0; cut_ && i < 3 && start < buf_.size() && (static_cast<unsigned char>(buf_[start]) & 0xC0) == 0x80; ++i)
    ++start;
  std::string out = start == 0 ? std::move(buf_) : buf_.substr(start);
  buf_.clear();
  cut_ = false;
  return out;
}

namespace {

void send_output(Peer& peer, const std::string& id, v02::Stream stream, std::string_view text) {
  while (!text.empty()) {
    std::size_t n = utf8_prefix(text, kMaxTextBytes);
    if (n == 0) n = std::min(text.size(), kMaxTextBytes);  // not UTF-8 at all: cut anyway
    peer.send(v02::StreamingOutput{id, stream, std::string(text.substr(0, n))});
    text.remove_prefix(n);
  }
}

void send_event(Peer& peer, const std::string& id, v02::EventCode code, std::string message) {
  message.resize(utf8_prefix(message, kMaxTextBytes));
  peer.send(v02::InstanceEvent{id, static_cast<std::uint32_t>(code), std::move(message)});
}

void send_blob(Peer& peer, const std::string& id, std::string_view bytes) {
  const std::string hash = pg::hash::blake3_hex(bytes);
  const std::uint64_t total = (bytes.size() + v02::kChunkSize - 1) / v02::kChunkSize;  // empty blob: no frames
  for (std::uint64_t i = 0; i < total; ++i)
    peer.send(v02::DownloadBlob{0, id, hash, i, total, std::string(bytes.substr(i * v02::kChunkSize, v02::kChunkSize))});
}

}  // namespace

// ---- one instance -------------------------------------------------------------------------

class InstanceTable::Instance final : public Emitter, public std::enable_shared_from_this<Instance> {
 public:
  Instance(InstanceTable& table, std::string id, std::string program, std::vector<std::string> args,
           std::string username, std::uint64_t seq)
      : table_(table), id_(std::move(id)), program_name_(std::move(program)), args_(std::move(args)),
        username_(std::move(username)), seq_(seq), started_at_(std::chrono::steady_clock::now()) {}

  void output(Stream s, std::string text) override {
    if (text.empty()) return;
    const auto stream = s == Stream::Stdout ? v02::Stream::Stdout : v02::Stream::Stderr;
    if (auto p = peer_.lock()) send_output(*p, id_, stream, text);
    else (stream == v02::Stream::Stdout ? stdout_ : stderr_).append(text);
  }
  void message(std::string text) override {
    if (auto p = peer_.lock()) send_event(*p, id_, v02::EventCode::Message, std::move(text));
  }
  void blob(std::string bytes, std::string_view /*name: 0.2 blobs have none*/) override {
    if (auto p = peer_.lock()) send_blob(*p, id_, bytes);
  }
  void finish(Outcome outcome, std::string message) override {
    const auto code = outcome == Outcome::Returned ? v02::EventCode::Completed : v02::EventCode::Exception;
    auto keep = shared_from_this();
    finished_ = true;
    stop_program();
    if (auto p = peer_.lock()) {
      send_event(*p, id_, code, std::move(message));
      table_.remove(id_);  // an attached instance that finished disappears at once
    } else {
      end_code_ = code;
      end_message_ = std::move(message);
    }
  }

  void start(std::vector<std::string> args_copy) {
    program_ = make_program(program_name_, table_.ex_, *this, table_.options_);
    program_->start(std::move(args_copy));
  }
  void stop_program() {
    if (program_) program_->stop();
  }
  /// Sends everything buffered to the newly attached peer; returns true if the instance is done.
  bool flush_to(Peer& peer) {
    if (!stdout_.empty()) peer.send(v02::StreamingOutput{id_, v02::Stream::Stdout, stdout_.take()});
    if (!stderr_.empty()) peer.send(v02::StreamingOutput{id_, v02::Stream::Stderr, stderr_.take()});
    if (finished_) send_event(peer, id_, end_code_, end_message_);
    return finished_;
  }

  InstanceTable& table_;
  const std::string id_;
  const std::string program_name_;
  const std::vector<std::string> args_;
  const std::string username_;
  const std::uint64_t seq_;
  const std::chrono::steady_clock::time_point started_at_;
  std::weak_ptr<Peer> peer_;
  std::shared_ptr<Program> program_;
  RingText stdout_{kDetachedBufferBytes};
  RingText stderr_{kDetachedBufferBytes};
  bool finished_ = false;
  v02::EventCode end_code_ = v02::EventCode::Completed;
  std::string end_message_;
};

// ---- the table ----------------------------------------------------------------------------

InstanceTable::InstanceTable(boost::asio::any_io_executor ex, ProgramOptions options)
    : ex_(std::move(ex)), options_(options) {}

InstanceTable::~InstanceTable() { clear(); }

void InstanceTable::clear() {
  auto all = std::move(by_id_);
  by_id_.clear();
  for (auto& [id, inst] : all) inst->stop_program();
}

InstanceTable::Instance* InstanceTable::find(std::string_view id) const {
  auto norm = normalize_uuid(id);
  if (!norm) return nullptr;
  auto it = by_id_.find(*norm);
  return it == by_id_.end() ? nullptr : it->second.get();
}

void InstanceTable::remove(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  auto keep = it->second;  // the caller may be a member of this instance
  by_id_.erase(it);
  keep->stop_program();
}

std::optional<std::string> InstanceTable::create(std::string program, std::vector<std::string> args,
                                                 std::string username, const std::shared_ptr<Peer>& peer) {
  if (by_id_.size() >= kMaxInstances) return std::nullopt;
  std::string id = new_uuid_v4();
  auto inst = std::make_shared<Instance>(*this, id, std::move(program), std::move(args), std::move(username),
                                         next_seq_++);
  inst->peer_ = peer;
  by_id_.emplace(id, std::move(inst));
  return id;
}

void InstanceTable::start(const std::string& id) {
  if (auto* inst = find(id)) inst->start(inst->args_);
}

void InstanceTable::attach(std::uint32_t corr_id, std::string_view id, const std::shared_ptr<Peer>& peer) {
  if (!normalize_uuid(id)) return peer->send(v02::InstanceAttachResult{corr_id, false, "Invalid instance_id"});
  auto* inst = find(id);
  if (!inst) return peer->send(v02::InstanceAttachResult{corr_id, false, "Instance not found"});
  if (!inst->peer_.expired()) return peer->send(v02::InstanceAttachResult{corr_id, false, "Instance already attached"});
  peer->send(v02::InstanceAttachResult{corr_id, true, "Instance attached"});
  inst->peer_ = peer;
  if (inst->flush_to(*peer)) remove(inst->id_);
}

bool InstanceTable::attached_to(std::string_view id, const Peer* peer) const {
  auto* inst = find(id);
  return inst && !inst->finished_ && inst->peer_.lock().get() == peer;
}

void InstanceTable::signal(std::string_view id, const Peer* from, std::string message) {
  if (!attached_to(id, from)) return;
  if (auto* inst = find(id); inst->program_) inst->program_->on_signal(std::move(message));
}

void InstanceTable::deliver_blob(std::string_view id, const Peer* from, std::string bytes) {
  if (!attached_to(id, from)) return;
  if (auto* inst = find(id); inst->program_) inst->program_->on_blob(std::move(bytes));
}

void InstanceTable::terminate(std::string_view id) {
  auto* inst = find(id);
  if (!inst) return;
  auto keep = inst->shared_from_this();
  auto peer = inst->peer_.lock();
  remove(inst->id_);
  if (peer && !keep->finished_) send_event(*peer, keep->id_, v02::EventCode::Aborted, "Signal termination");
}

void InstanceTable::detach_all(const Peer* peer) {
  for (auto& [id, inst] : by_id_) {
    auto p = inst->peer_.lock();
    if (!p || p.get() == peer) inst->peer_.reset();
  }
}

std::vector<v02::InstanceInfo> InstanceTable::list(std::string_view username, bool all) const {
  std::vector<const Instance*> mine;
  for (const auto& [id, inst] : by_id_)
    if (all || inst->username_ == username) mine.push_back(inst.get());
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->seq_ > b->seq_; });
  if (mine.size() > 50) mine.resize(50);
  std::vector<v02::InstanceInfo> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto* inst : mine) {
    v02::InstanceInfo info;
    info.id = inst->id_;
    info.arguments = inst->args_;
    info.status = !inst->peer_.expired() ? "Attached" : inst->finished_ ? "Finished" : "Detached";
    info.username = inst->username_;
    info.elapsed_secs =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - inst->started_at_).count());
    info.kv_pages_used = 0;
    out.push_back(std::move(info));
  }
  return out;
}

std::size_t InstanceTable::running() const {
  return static_cast<std::size_t>(
      std::count_if(by_id_.begin(), by_id_.end(), [](const auto& kv) { return !kv.second->finished_; }));
}

}  // namespace pie_sim
