// Program provisioning (cluster/provisioning.hpp) and Session::upload_program against a real
// pie-sim that starts with no uploaded programs.
#include <gtest/gtest.h>

#include <utility>  // before Asio with C++20

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cluster/provisioning.hpp"
#include "hash/blake3.hpp"
#include "support/process.hpp"

namespace pg::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

class ProvisioningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    sim_ = std::make_unique<test::Process>(std::vector<std::string>{test::binary_path("pie-sim"), "--port", "0"});
    port_ = static_cast<std::uint16_t>(sim_->wait_for_port(10s));
    ASSERT_NE(port_, 0) << "pie-sim did not start";
  }
  void TearDown() override {
    sessions_.clear();
    io_.run_for(50ms);
    std::filesystem::remove_all(dir_);
  }

  // Writes <name>.wasm (`bytes`) and its Pie.toml; returns the spec as the config loader makes it.
  config::ProgramSpec spec(const std::string& name, const std::string& version, const std::string& bytes) {
    const auto base = dir_ + "/" + std::to_string(specs_written_++);
    test::write_file(base + ".wasm", bytes);
    test::write_file(base + ".toml", "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\n");
    return config::ProgramSpec{base + ".wasm", base + ".toml", name, version, 0};
  }

  Programs programs(const std::vector<config::ProgramSpec>& specs) {
    auto p = load_programs(specs);
    EXPECT_TRUE(p.ok()) << p.error();
    return p ? *p : nullptr;
  }

  pie::Session::Ptr open() {
    pie::SessionOptions o;
    o.port = port_;
    o.connect_timeout = 3000ms;
    o.request_timeout = 5000ms;
    auto s = pie::make_session_v02(io_.get_executor(), o);
    sessions_.push_back(s);
    std::optional<Result<std::string>> r;
    s->start([&](Result<std::string> x) { r.emplace(std::move(x)); });
    EXPECT_TRUE(run_until([&] { return r.has_value(); }));
    EXPECT_TRUE(r && r->ok()) << (r && !r->ok() ? r->error() : "");
    return s;
  }

  // provision() to the end; "uploaded N" or "error: ...". Checks `done` ran exactly once.
  std::string provision_all(const pie::Session::Ptr& s, Programs p) {
    int calls = 0;
    std::string out;
    provision(s, std::move(p), [&](Result<std::size_t> r) {
      ++calls;
      out = r ? "uploaded " + std::to_string(*r) : "error: " + r.error();
    }, "sim");
    EXPECT_TRUE(run_until([&] { return calls > 0; }, 20s));
    run_for(20ms);
    EXPECT_EQ(calls, 1);
    return out;
  }

  std::string request(const std::function<void(pie::Session::Done)>& send) {
    std::optional<Result<std::string>> r;
    send([&](Result<std::string> x) { r.emplace(std::move(x)); });
    EXPECT_TRUE(run_until([&] { return r.has_value(); }, 20s));
    if (!r) return "<pending>";
    return r->ok() ? r->value() : "error: " + r->error();
  }
  std::string exists(const pie::Session::Ptr& s, const std::string& record) {
    return request([&](pie::Session::Done d) { s->query("program_exists", record, std::move(d)); });
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!pred() && Clock::now() < deadline) {
      io_.run_for(5ms);
      if (io_.stopped()) io_.restart();
    }
    return pred();
  }
  void run_for(std::chrono::milliseconds d) { run_until([] { return false; }, d); }

  std::string dir_;
  int specs_written_ = 0;
  boost::asio::io_context io_;
  std::unique_ptr<test::Process> sim_;
  std::uint16_t port_ = 0;
  std::vector<pie::Session::Ptr> sessions_;
};

TEST_F(ProvisioningTest, UploadsWhatIsMissingOnceThenNothing) {
  auto progs = programs({spec("lab/hello", "0.1.0", random_bytes(1000, 1))});
  ASSERT_TRUE(progs);
  const auto& p = (*progs)[0];
  EXPECT_EQ(p.hash, hash::blake3_hex(random_bytes(1000, 1)));
  EXPECT_EQ(exists_record(p), "lab/hello@0.1.0#" + p.hash);

  auto s = open();
  EXPECT_EQ(exists(s, exists_record(p)), "false");
  EXPECT_EQ(provision_all(s, progs), "uploaded 1");
  EXPECT_EQ(exists(s, exists_record(p)), "true");
  EXPECT_EQ(exists(s, "lab/hello@0.1.0"), "true");

  // The uploaded program runs (pie-sim runs uploaded programs as echo).
  std::string out;
  std::optional<pie::InstanceEnd> end;
  pie::InstanceSink sink;
  sink.on_stdout = [&](std::string_view t) { out += t; };
  sink.on_end = [&](pie::InstanceEnd e, std::string_view) { end = e; };
  const auto id = request([&](pie::Session::Done d) {
    s->launch(pie::LaunchRequest{"lab/hello@0.1.0", {"hi", "there"}, false, false}, sink, std::move(d));
  });
  EXPECT_FALSE(id.starts_with("error")) << id;
  ASSERT_TRUE(run_until([&] { return end.has_value(); }));
  EXPECT_EQ(*end, pie::InstanceEnd::Completed);
  EXPECT_EQ(out, "hi there");

  // Again, on this session and on a new one (a reconnection): nothing to upload.
  EXPECT_EQ(provision_all(s, progs), "uploaded 0");
  EXPECT_EQ(provision_all(open(), progs), "uploaded 0");
}

TEST_F(ProvisioningTest, ProgramsLargerThanOneChunk) {
  // 3 chunks (256 KiB, 256 KiB, 3 bytes), one of exactly one chunk, and an empty one (one empty chunk).
  auto progs = programs({spec("lab/big", "1.0.0", random_bytes(2 * 262144 + 3, 2)),
                         spec("lab/one", "1.0.0", random_bytes(262144, 3)), spec("lab/empty", "1.0.0", "")});
  ASSERT_TRUE(progs);
  auto s = open();
  EXPECT_EQ(provision_all(s, progs), "uploaded 3");
  for (const auto& p : *progs) EXPECT_EQ(exists(s, exists_record(p)), "true") << p.name;
}

TEST_F(ProvisioningTest, AChangedProgramIsUploadedAgain) {
  auto s = open();
  EXPECT_EQ(provision_all(s, programs({spec("lab/v", "1.0.0", "first build")})), "uploaded 1");
  auto rebuilt = programs({spec("lab/v", "1.0.0", "second build")});
  EXPECT_EQ(provision_all(s, rebuilt), "uploaded 1");
  EXPECT_EQ(exists(s, exists_record((*rebuilt)[0])), "true");
}

TEST_F(ProvisioningTest, UploadsOnOneSessionRunOneAtATimeInOrder) {
  auto progs = programs({spec("lab/a", "1.0.0", random_bytes(300000, 4)), spec("lab/b", "1.0.0", random_bytes(300000, 5)),
                         spec("lab/c", "1.0.0", random_bytes(10, 6))});
  auto s = open();
  std::vector<std::string> replies;
  for (const auto& p : *progs)
    s->upload_program(p.hash, p.manifest, p.wasm, [&](Result<std::string> r) {
      replies.push_back(r ? *r : "error: " + r.error());
    });
  ASSERT_TRUE(run_until([&] { return replies.size() == 3; }));
  EXPECT_EQ(replies, (std::vector<std::string>{(*progs)[0].hash, (*progs)[1].hash, (*progs)[2].hash}));
}

TEST_F(ProvisioningTest, AFailedUploadReportsTheServersReasonAndTheSessionGoesOn) {
  auto progs = programs({spec("lab/ok", "1.0.0", "bytes")});
  auto s = open();
  const auto bad = request([&](pie::Session::Done d) {
    s->upload_program(std::string(64, '0'), (*progs)[0].manifest, (*progs)[0].wasm, std::move(d));
  });
  EXPECT_TRUE(bad.starts_with("error: Hash mismatch")) << bad;
  EXPECT_EQ(provision_all(s, progs), "uploaded 1");
}

TEST_F(ProvisioningTest, ClosingTheSessionEndsProvisioningWithAnError) {
  auto progs = programs({spec("lab/big", "1.0.0", random_bytes(1 << 20, 7))});
  auto s = open();
  int calls = 0;
  std::string err;
  provision(s, progs, [&](Result<std::size_t> r) {
    ++calls;
    err = r ? "ok" : r.error();
  });
  s->close();
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  run_for(20ms);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(err, "program lab/big@1.0.0#" + (*progs)[0].hash + ": program_exists failed: session closed: closed by client");
}

TEST_F(ProvisioningTest, NoProgramsIsDoneAtOnce) {
  auto s = open();
  std::optional<Result<std::size_t>> r;
  provision(s, programs({}), [&](Result<std::size_t> x) { r.emplace(std::move(x)); });
  ASSERT_TRUE(r.has_value());  // before provision() returned
  EXPECT_TRUE(r->ok() && r->value() == 0u);
}

TEST_F(ProvisioningTest, LoadProgramsNamesTheUnreadableFile) {
  auto bad = load_programs({config::ProgramSpec{dir_ + "/gone.wasm", dir_ + "/gone.toml", "lab/x", "1.0.0", 0}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), dir_ + "/gone.wasm: cannot be read: No such file or directory");
}

}  // namespace
}  // namespace pg::cluster
