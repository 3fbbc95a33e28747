#include "cluster/provisioning.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "hash/blake3.hpp"

namespace pg::cluster {

namespace {

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(path + ": cannot be read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(path + ": read failed");
  return ss.str();
}

// One provisioning run on one session: check, upload if missing, next program.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(pie::Session::Ptr s, Programs programs, std::function<void(Result<std::size_t>)> done, std::string server)
      : s_(std::move(s)), programs_(std::move(programs)), done_(std::move(done)), server_(std::move(server)) {}

  void step() {
    if (next_ == programs_->size()) return finish(uploaded_);
    s_->query("program_exists", exists_record(current()),
              [self = shared_from_this()](Result<std::string> r) { self->on_exists(std::move(r)); });
  }

 private:
  const Program& current() const { return (*programs_)[next_]; }

  void on_exists(Result<std::string> r) {
    const auto& p = current();
    if (!r) return finish(make_error("program " + exists_record(p) + ": program_exists failed: " + r.error()));
    if (*r == "true") {
      ++next_;
      return step();
    }
    if (*r != "false")
      return finish(make_error("program " + exists_record(p) + ": unexpected program_exists answer '" + *r + "'"));
    s_->upload_program(p.hash, p.manifest, p.wasm,
                       [self = shared_from_this()](Result<std::string> r) { self->on_uploaded(std::move(r)); });
  }

  void on_uploaded(Result<std::string> r) {
    const auto& p = current();
    if (!r) return finish(make_error("program " + exists_record(p) + ": upload failed: " + r.error()));
    spdlog::info("pie server {}: uploaded program {}@{} ({} bytes, blake3 {})", server_, p.name, p.version,
                 p.wasm->size(), p.hash);
    ++uploaded_;
    ++next_;
    step();
  }

  void finish(Result<std::size_t> r) {
    auto done = std::exchange(done_, nullptr);
    s_.reset();  // not held past the end
    if (done) done(std::move(r));
  }

  pie::Session::Ptr s_;
  Programs programs_;
  std::function<void(Result<std::size_t>)> done_;
  std::string server_;
  std::size_t next_ = 0;
  std::size_t uploaded_ = 0;
};

}  // namespace

std::string exists_record(const Program& p) { return p.name + "@" + p.version + "#" + p.hash; }

Result<Programs> load_programs(const std::vector<config::ProgramSpec>& specs) {
  auto out = std::make_shared<std::vector<Program>>();
  out->reserve(specs.size());
  for (const auto& spec : specs) {
    auto wasm = read_whole(spec.wasm);
    if (!wasm) return make_error(wasm.error());
    auto manifest = read_whole(spec.manifest);
    if (!manifest) return make_error(manifest.error());
    Program p;
    p.name = spec.name;
    p.version = spec.version;
    p.hash = hash::blake3_hex(*wasm);
    p.manifest = std::move(manifest).value();
    p.wasm = std::make_shared<const std::string>(std::move(wasm).value());
    out->push_back(std::move(p));
  }
  return Programs(std::move(out));
}

void provision(pie::Session::Ptr s, Programs programs, std::function<void(Result<std::size_t>)> done,
               std::string server) {
  if (!programs || programs->empty()) {
    if (done) done(std::size_t{0});
    return;
  }
  std::make_shared<Run>(std::move(s), std::move(programs), std::move(done), std::move(server))->step();
}

}  // namespace pg::cluster
