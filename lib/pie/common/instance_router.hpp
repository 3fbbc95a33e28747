// Routes the per-instance messages of one Pie session (output, events, blobs or files), in the
// protocol-neutral vocabulary of pie/session.hpp, to the sinks registered for attached
// instances; each protocol line maps its own messages onto these calls. No I/O. Every callback
// may re-enter the session (close it, launch more): the router never touches an entry after
// calling out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pie/session.hpp"

namespace pg::pie {

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

  void on_stdout(const std::string& id, std::string_view text) { on_output(id, true, text); }
  void on_stderr(const std::string& id, std::string_view text) { on_output(id, false, text); }
  /// A text message the instance sent (0.2 event code 0, 0.5 `message`).
  void on_message(const std::string& id, std::string_view text);
  /// The instance's terminal event: it is forgotten after its sink's on_end.
  void on_end(const std::string& id, InstanceEnd end, std::string_view message);
  /// One chunk of a blob (0.2) or file (0.5): chunks of one hash arrive in order; the whole is
  /// checked against its BLAKE3 `hash` and handed to on_blob.
  void on_chunk(const std::string& id, const std::string& hash, std::uint64_t index, std::uint64_t total,
                std::string_view data);

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

  void on_output(const std::string& id, bool is_stdout, std::string_view text);

  std::string log_name_;
  std::size_t max_blob_bytes_;
  std::unordered_map<std::string, Entry> instances_;
};

}  // namespace pg::pie
