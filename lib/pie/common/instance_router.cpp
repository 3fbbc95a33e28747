#include "pie/common/instance_router.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "hash/blake3.hpp"

namespace pg::pie {

void InstanceRouter::add(const std::string& id, InstanceSink sink) {
  auto fresh = std::make_shared<InstanceSink>(std::move(sink));
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    instances_.emplace(id, Entry{std::move(fresh), {}, 0});
    return;
  }
  spdlog::warn("{}: instance {} registered twice; the earlier listener ends", log_name_, id);
  auto old = std::exchange(it->second, Entry{std::move(fresh), {}, 0}).sink;
  if (old->on_end) old->on_end(InstanceEnd::SessionLost, "instance attached again");
}

void InstanceRouter::on_output(const std::string& id, bool is_stdout, std::string_view text) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping output of unknown instance {}", log_name_, id);
    return;
  }
  auto sink = it->second.sink;  // keeps the callbacks alive even if the callee closes the session
  const auto& fn = is_stdout ? sink->on_stdout : sink->on_stderr;
  if (fn) fn(text);
}

void InstanceRouter::on_message(const std::string& id, std::string_view text) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping a message of unknown instance {}", log_name_, id);
    return;
  }
  auto sink = it->second.sink;
  if (sink->on_message) sink->on_message(text);
}

void InstanceRouter::on_end(const std::string& id, InstanceEnd end, std::string_view message) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping the {} end of unknown instance {}", log_name_, to_string(end), id);
    return;
  }
  auto sink = std::move(it->second.sink);
  instances_.erase(it);
  if (sink->on_end) sink->on_end(end, message);
}

void InstanceRouter::on_chunk(const std::string& id, const std::string& hash, std::uint64_t index,
                              std::uint64_t total, std::string_view data) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping blob chunk of unknown instance {}", log_name_, id);
    return;
  }
  Entry& e = it->second;
  auto forget = [&e](std::map<std::string, Blob>::iterator b) {
    e.blob_bytes -= b->second.data.size();
    e.blobs.erase(b);
  };
  auto b = e.blobs.find(hash);
  if (index == 0) {
    if (b != e.blobs.end()) {
      spdlog::warn("{}: blob {} of instance {} restarted before it was complete", log_name_, hash, id);
      forget(b);
    }
    if (total == 0) {
      spdlog::warn("{}: dropping blob {} of instance {}: total_chunks is 0", log_name_, hash, id);
      return;
    }
    b = e.blobs.emplace(hash, Blob{total, 0, false, {}}).first;
  } else if (b == e.blobs.end()) {
    spdlog::warn("{}: dropping chunk {} of unknown blob {} (instance {})", log_name_, index, hash, id);
    return;
  }
  Blob& blob = b->second;
  if (index != blob.next_index || total != blob.total_chunks) {
    spdlog::warn("{}: dropping blob {} of instance {}: chunk {}/{} out of order (expected {}/{})", log_name_, hash,
                 id, index, total, blob.next_index, blob.total_chunks);
    forget(b);
    return;
  }
  ++blob.next_index;
  if (!blob.dropped) {
    if (e.blob_bytes + data.size() > max_blob_bytes_) {
      spdlog::warn("{}: dropping blob {} of instance {}: more than {} bytes of blobs pending", log_name_, hash, id,
                   max_blob_bytes_);
      e.blob_bytes -= blob.data.size();
      blob.data = std::string();
      blob.dropped = true;
    } else {
      blob.data += data;
      e.blob_bytes += data.size();
    }
  }
  if (blob.next_index < blob.total_chunks) return;

  const bool dropped = blob.dropped;
  std::string bytes = std::move(blob.data);
  e.blob_bytes -= bytes.size();
  e.blobs.erase(b);
  if (dropped) return;
  if (auto actual = hash::blake3_hex(bytes); actual != hash) {
    spdlog::warn("{}: dropping blob of instance {}: declared hash {} but BLAKE3 is {}", log_name_, id, hash, actual);
    return;
  }
  auto sink = e.sink;
  if (sink->on_blob) sink->on_blob(hash, std::move(bytes));
}

void InstanceRouter::end_all(InstanceEnd end, std::string_view reason) {
  std::vector<std::shared_ptr<InstanceSink>> sinks;
  sinks.reserve(instances_.size());
  for (auto& [id, e] : instances_) sinks.push_back(std::move(e.sink));
  instances_.clear();
  const std::string why(reason);  // `reason` may live in something a callback frees
  for (auto& s : sinks)
    if (s->on_end) s->on_end(end, why);
}

}  // namespace pg::pie
