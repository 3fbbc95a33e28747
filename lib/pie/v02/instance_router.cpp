#include "pie/v02/instance_router.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "hash/blake3.hpp"

namespace pg::pie::v02 {

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

void InstanceRouter::on_output(const StreamingOutput& m) {
  auto it = instances_.find(m.instance_id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping output of unknown instance {}", log_name_, m.instance_id);
    return;
  }
  auto sink = it->second.sink;  // keeps the callbacks alive even if the callee closes the session
  const auto& fn = m.stream == Stream::Stdout ? sink->on_stdout : sink->on_stderr;
  if (fn) fn(m.text);
}

void InstanceRouter::on_event(const InstanceEvent& m) {
  auto it = instances_.find(m.instance_id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping {} event of unknown instance {}", log_name_, event_name(m.event), m.instance_id);
    return;
  }
  if (m.event == static_cast<std::uint32_t>(EventCode::Message)) {
    auto sink = it->second.sink;
    if (sink->on_message) sink->on_message(m.message);
    return;
  }
  if (!is_terminal(m.event)) {
    spdlog::warn("{}: dropping event with unknown code {} for instance {}", log_name_, m.event, m.instance_id);
    return;
  }
  auto sink = std::move(it->second.sink);
  instances_.erase(it);
  if (sink->on_end) sink->on_end(static_cast<InstanceEnd>(m.event - 1), m.message);
}

void InstanceRouter::on_blob(DownloadBlob&& m) {
  auto it = instances_.find(m.instance_id);
  if (it == instances_.end()) {
    spdlog::debug("{}: dropping blob chunk of unknown instance {}", log_name_, m.instance_id);
    return;
  }
  Entry& e = it->second;
  auto forget = [&e](std::map<std::string, Blob>::iterator b) {
    e.blob_bytes -= b->second.data.size();
    e.blobs.erase(b);
  };
  auto b = e.blobs.find(m.blob_hash);
  if (m.chunk_index == 0) {
    if (b != e.blobs.end()) {
      spdlog::warn("{}: blob {} of instance {} restarted before it was complete", log_name_, m.blob_hash, m.instance_id);
      forget(b);
    }
    if (m.total_chunks == 0) {
      spdlog::warn("{}: dropping blob {} of instance {}: total_chunks is 0", log_name_, m.blob_hash, m.instance_id);
      return;
    }
    b = e.blobs.emplace(m.blob_hash, Blob{m.total_chunks, 0, false, {}}).first;
  } else if (b == e.blobs.end()) {
    spdlog::warn("{}: dropping chunk {} of unknown blob {} (instance {})", log_name_, m.chunk_index, m.blob_hash,
                 m.instance_id);
    return;
  }
  Blob& blob = b->second;
  if (m.chunk_index != blob.next_index || m.total_chunks != blob.total_chunks) {
    spdlog::warn("{}: dropping blob {} of instance {}: chunk {}/{} out of order (expected {}/{})", log_name_,
                 m.blob_hash, m.instance_id, m.chunk_index, m.total_chunks, blob.next_index, blob.total_chunks);
    forget(b);
    return;
  }
  ++blob.next_index;
  if (!blob.dropped) {
    if (e.blob_bytes + m.chunk_data.size() > max_blob_bytes_) {
      spdlog::warn("{}: dropping blob {} of instance {}: more than {} bytes of blobs pending", log_name_, m.blob_hash,
                   m.instance_id, max_blob_bytes_);
      e.blob_bytes -= blob.data.size();
      blob.data = std::string();
      blob.dropped = true;
    } else {
      blob.data += m.chunk_data;
      e.blob_bytes += m.chunk_data.size();
    }
  }
  if (blob.next_index < blob.total_chunks) return;

  const bool dropped = blob.dropped;
  std::string data = std::move(blob.data);
  e.blob_bytes -= data.size();
  e.blobs.erase(b);
  if (dropped) return;
  if (auto actual = hash::blake3_hex(data); actual != m.blob_hash) {
    spdlog::warn("{}: dropping blob of instance {}: declared hash {} but BLAKE3 is {}", log_name_, m.instance_id,
                 m.blob_hash, actual);
    return;
  }
  auto sink = e.sink;
  if (sink->on_blob) sink->on_blob(m.blob_hash, std::move(data));
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

}  // namespace pg::pie::v02
