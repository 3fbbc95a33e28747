// Routes the per-instance messages of one Pie v0.2 session (output, events, blobs) to the
// sinks registered for attached instances. No I/O. Every callback may re-enter the session
// (close it, launch more): the router never touches an entry after calling out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pie/session.hpp"
#include "pie/v02/messages.hpp"

namespace pg::pie::v02 {

class InstanceRouter {
 public:
  /// Blob chunks held per instance at most (blobs being assembled); beyond it a blob is dropped.
  static constexpr std::size_t kDefaultMaxBlobBytes = 64 * 1024 * 1024;

  explicit InstanceRouter(std::string log_name, std::size_t max_blob_bytes = kDefaultMaxBlobBytes)
      : log_name_(std::move(log_name)), max_blob_bytes_(max_blob_bytes) {}

  /// Starts routing `id` to `sink`. A sink already registered under `id` ends with SessionLost.
  void add(const std::string& id, InstanceSink sink);
  bool contains(const std::string& id) const { return instances_.contains(id); }
  std::size_t size() const { return instances_.size(); }

  void on_output(const StreamingOutput& m);
  void on_event(const InstanceEvent& m);
  void on_blob(DownloadBlob&& m);

  /// Every instance gets on_end(end, reason) once and is forgotten.
  void end_all(InstanceEnd end, std::string_view reason);
  /// Forgets every instance without calling anything.
  void clear() { instances_.clear(); }

 private:
  struct Blob {
    std::uint64_t total_chunks = 0;
    std::uint64_t next_index = 0;
    bool dropped = false;
    std::string data;
  };
  struct Entry {
    std::shared_ptr<InstanceSink> sink;
    std::map<std::string, Blob> blobs;  // by hash
    std::size_t blob_bytes = 0;         // held in `blobs`
  };

  std::string log_name_;
  std::size_t max_blob_bytes_;
  std::unordered_map<std::string, Entry> instances_;
};

}  // namespace pg::pie::v02
