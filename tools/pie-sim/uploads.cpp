#include "uploads.hpp"

#include <toml++/toml.h>

namespace pie_sim {

pg::Result<ChunkedUpload> ChunkedUpload::begin(std::string hash, std::uint64_t index, std::uint64_t total) {
  if (index != 0) return pg::make_error("First chunk index must be 0");
  if (total == 0) return pg::make_error("total_chunks must be at least 1");
  if (total > kMaxUploadBytes) return pg::make_error("total_chunks " + std::to_string(total) + " is too large");
  return ChunkedUpload(std::move(hash), total);
}

std::optional<std::string> ChunkedUpload::add(std::uint64_t index, std::uint64_t total, std::string_view data) {
  if (total != total_)
    return "Chunk count mismatch: expected " + std::to_string(total_) + ", got " + std::to_string(total);
  if (index != next_)
    return "Out-of-order chunk: expected " + std::to_string(next_) + ", got " + std::to_string(index);
  if (data_.size() + data.size() > kMaxUploadBytes)
    return "Upload exceeds the simulator's limit of " + std::to_string(kMaxUploadBytes) + " bytes";
  data_.append(data);
  hasher_.update(data);
  ++next_;
  return std::nullopt;
}

std::optional<std::string> ChunkedUpload::verify() const {
  const auto actual = hasher_.hex();
  if (actual != hash_) return "Hash mismatch: expected " + hash_ + ", got " + actual;
  return std::nullopt;
}

ProgramName parse_program_name(std::string_view inferlet) {
  ProgramName out;
  const auto at = inferlet.find('@');
  std::string_view name = inferlet.substr(0, at);
  out.version = at == std::string_view::npos ? "latest" : std::string(inferlet.substr(at + 1));
  out.name = name.find('/') == std::string_view::npos ? "std/" + std::string(name) : std::string(name);
  return out;
}

pg::Result<ProgramName> parse_manifest(std::string_view manifest) {
  toml::table root;
  try {
    root = toml::parse(manifest);
  } catch (const toml::parse_error& e) {
    return pg::make_error("Failed to parse manifest: invalid TOML: " + std::string(e.description()));
  }
  const auto* package = root["package"].as_table();
  if (!package) return pg::make_error("Failed to parse manifest: Manifest missing [package] section");
  const auto* name = (*package)["name"].as_string();
  if (!name || name->get().empty()) return pg::make_error("Failed to parse manifest: Manifest missing package.name field");
  const auto* version = (*package)["version"].as_string();
  if (!version || version->get().empty())
    return pg::make_error("Failed to parse manifest: Manifest missing package.version field");
  if (name->get().find('@') != std::string::npos || version->get().find('@') != std::string::npos)
    return pg::make_error("Failed to parse manifest: package name and version must not contain '@'");
  ProgramName out = parse_program_name(name->get());
  out.version = version->get();
  return out;
}

pg::Result<std::optional<ChunkedUpload>> feed_program_chunk(std::optional<ChunkedUpload>& slot, const std::string& hash,
                                                            std::uint64_t index, std::uint64_t total,
                                                            std::string_view data, std::size_t max_chunk) {
  auto fail = [&](std::string reason) -> pg::Result<std::optional<ChunkedUpload>> {
    slot.reset();
    return pg::make_error(std::move(reason));
  };
  if (data.size() > max_chunk)
    return fail("Chunk size " + std::to_string(data.size()) + " exceeds limit " + std::to_string(max_chunk));
  if (!slot) {
    auto up = ChunkedUpload::begin(hash, index, total);
    if (!up) return fail(up.error());
    slot.emplace(std::move(up).value());
  }
  if (auto err = slot->add(index, total, data)) return fail(*err);
  if (!slot->complete()) return std::optional<ChunkedUpload>{};
  if (auto err = slot->verify()) return fail(*err);
  std::optional<ChunkedUpload> done = std::move(slot);
  slot.reset();
  return done;
}

}  // namespace pie_sim
