// Chunked uploads (programs and blobs), the uploaded-program store, manifests and inferlet names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "hash/blake3.hpp"

namespace pie_sim {

/// Largest program or blob the simulator assembles.
inline constexpr std::uint64_t kMaxUploadBytes = 64ull * 1024 * 1024;

/// One upload in flight. Rules: first index 0, strictly in order, constant total, hash at the end.
class ChunkedUpload {
 public:
  /// Starts an upload with its first chunk; an error if that chunk cannot start one.
  static pg::Result<ChunkedUpload> begin(std::string hash, std::uint64_t index, std::uint64_t total);
  /// Appends the next chunk; the reason on a violation (the caller drops the upload).
  std::optional<std::string> add(std::uint64_t index, std::uint64_t total, std::string_view data);
  bool complete() const { return next_ == total_; }
  /// After the last chunk: the reason if the BLAKE3 of the payload is not the declared hash.
  std::optional<std::string> verify() const;
  std::string take() { return std::move(data_); }
  const std::string& hash() const { return hash_; }

 private:
  ChunkedUpload(std::string hash, std::uint64_t total) : hash_(std::move(hash)), total_(total) {}
  std::string hash_;
  std::uint64_t total_;
  std::uint64_t next_ = 0;
  std::string data_;
  pg::hash::Blake3 hasher_;
};

/// One chunk of a program upload (both protocol modes): feeds `slot`, which chunk 0 starts.
/// An error is the reason to refuse the upload; an empty optional means more chunks are due; else
/// the whole upload, its BLAKE3 checked. `slot` is empty again after an error or the last chunk.
pg::Result<std::optional<ChunkedUpload>> feed_program_chunk(std::optional<ChunkedUpload>& slot, const std::string& hash,
                                                            std::uint64_t index, std::uint64_t total,
                                                            std::string_view data, std::size_t max_chunk);

/// "namespace/name@version" parts of an inferlet reference.
struct ProgramName {
  std::string name;  // with namespace, e.g. "std/echo"
  std::string version;
  std::string full() const { return name + "@" + version; }
};
/// `name` -> std/name@latest, `ns/name` -> ns/name@latest, `name@v` -> std/name@v.
ProgramName parse_program_name(std::string_view inferlet);
/// The `[package]` name and version of a program manifest (TOML).
pg::Result<ProgramName> parse_manifest(std::string_view manifest);

struct UploadedProgram {
  ProgramName name;
  std::string hash;           // BLAKE3 of the program bytes
  std::string manifest_hash;  // BLAKE3 of the manifest text
};

class ProgramStore {
 public:
  void add(UploadedProgram p) { programs_[p.name.full()] = std::move(p); }
  const UploadedProgram* find(std::string_view full_name) const {
    auto it = programs_.find(full_name);
    return it == programs_.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return programs_.size(); }

 private:
  std::map<std::string, UploadedProgram, std::less<>> programs_;
};

}  // namespace pie_sim
