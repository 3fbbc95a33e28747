// Conformance tests for pie-sim: the real binary on 127.0.0.1, driven through PieTestClient,
// one test per point of shared/protocols/pie-v0.2.md. Every wait is bounded.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "auth.hpp"       // pie-sim's base64 helpers
#include "hash/blake3.hpp"
#include "instances.hpp"   // RingText, UUIDs
#include "pie/v02/codec.hpp"
#include "programs.hpp"   // pie_sim::pseudo_tokens
#include "uploads.hpp"    // parse_program_name
#include "support/pie_test_client.hpp"
#include "support/process.hpp"

namespace {

namespace v02 = pg::pie::v02;
using namespace std::chrono_literals;
using pg::test::PieTestClient;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMiB = 1024 * 1024;

// ---- harness ------------------------------------------------------------------------------

class Sim {
 public:
  explicit Sim(std::vector<std::string> args = {}) {
    std::vector<std::string> argv{pg::test::binary_path("pie-sim"), "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = pg::test::temp_dir() + "/pie-sim.log";
    proc_ = std::make_unique<pg::test::Process>(argv, log_);
    port_ = static_cast<std::uint16_t>(proc_->wait_for_port(10s));
    if (port_ == 0) throw std::runtime_error("pie-sim did not start; see " + log_);
  }
  std::unique_ptr<PieTestClient> connect() { return std::make_unique<PieTestClient>(port_); }
  std::unique_ptr<PieTestClient> login(const std::string& user) {
    auto c = connect();
    EXPECT_TRUE(c->identify(user));
    return c;
  }
  pg::test::Process& process() { return *proc_; }

 private:
  std::string log_;
  std::unique_ptr<pg::test::Process> proc_;
  std::uint16_t port_ = 0;
};

/// One server for the tests that need no special options (auth none, internal token "internal-secret").
Sim& shared_sim() {
  static Sim sim({"--token", "internal-secret", "--bad-token-delay-ms", "50:100"});
  return sim;
}

std::string launch(PieTestClient& c, const std::string& inferlet, std::vector<std::string> args, bool detached = false) {
  auto r = c.request<v02::InstanceLaunchResult>(v02::LaunchInstance{c.next_corr_id(), inferlet, std::move(args), detached});
  EXPECT_TRUE(r && r->successful) << inferlet << ": " << (r ? r->message : "no reply");
  return r && r->successful ? r->message : std::string();
}

struct Run {
  std::vector<std::string> out_chunks, err_chunks, messages;
  std::vector<v02::DownloadBlob> blobs;
  std::optional<v02::InstanceEvent> end;
  std::string out() const {
    std::string s;
    for (const auto& c : out_chunks) s += c;
    return s;
  }
};

/// Collects what instance `id` sends until its terminal event (or the timeout).
Run collect(PieTestClient& c, const std::string& id, std::chrono::milliseconds timeout = 5000ms) {
  Run r;
  const auto deadline = Clock::now() + timeout;
  for (int i = 0; i < 100000 && !r.end; ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) break;
    auto m = c.recv(left);
    if (!m) break;
    if (auto* o = std::get_if<v02::StreamingOutput>(&*m); o && o->instance_id == id) {
      (o->stream == v02::Stream::Stdout ? r.out_chunks : r.err_chunks).push_back(o->text);
    } else if (auto* e = std::get_if<v02::InstanceEvent>(&*m); e && e->instance_id == id) {
      if (e->event == 0) r.messages.push_back(e->message);
      else r.end = *e;
    } else if (auto* b = std::get_if<v02::DownloadBlob>(&*m); b && b->instance_id == id) {
      r.blobs.push_back(*b);
    } else {
      ADD_FAILURE() << "unexpected " << v02::type_name(*m);
    }
  }
  EXPECT_TRUE(r.end.has_value()) << "instance " << id << " did not end in time";
  return r;
}

/// Uploads `bytes` in chunks of `chunk`; the reply to the last chunk.
std::optional<v02::Response> upload_program(PieTestClient& c, const std::string& bytes, const std::string& manifest,
                                            std::size_t chunk = v02::kChunkSize) {
  const auto hash = pg::hash::blake3_hex(bytes);
  const std::uint64_t total = bytes.empty() ? 1 : (bytes.size() + chunk - 1) / chunk;
  for (std::uint64_t i = 0; i < total; ++i) {
    const auto piece = bytes.substr(std::min<std::size_t>(i * chunk, bytes.size()), chunk);
    if (!c.send(v02::UploadProgram{c.next_corr_id(), hash, manifest, i, total, piece})) return std::nullopt;
  }
  return c.recv_as<v02::Response>();
}

std::string manifest(const std::string& name, const std::string& version) {
  return "[package]\nname = \"" + name + "\"\nversion = \"" + version + "\"\ndescription = \"test\"\n";
}

std::vector<v02::InstanceInfo> list(PieTestClient& c) {
  auto r = c.request<v02::LiveInstances>(v02::ListInstances{c.next_corr_id()});
  EXPECT_TRUE(r.has_value());
  return r ? r->instances : std::vector<v02::InstanceInfo>{};
}

const v02::InstanceInfo* find_info(const std::vector<v02::InstanceInfo>& v, const std::string& id) {
  for (const auto& i : v)
    if (i.id == id) return &i;
  return nullptr;
}

std::string random_uuid() { return "3f2b8c1e-9a4d-4e7f-8b1a-0c2d3e4f5a6b"; }

// ---- keys ---------------------------------------------------------------------------------

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

/// Reads the Ed25519 seed out of an unencrypted OpenSSH private key file ("openssh-key-v1").
PkeyPtr load_openssh_ed25519(const std::string& text) {
  std::string b64;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("-----", 0) != 0) b64 += line;
  auto blob = pie_sim::auth::base64_decode(b64);
  if (!blob || blob->rfind("openssh-key-v1", 0) != 0) return PkeyPtr(nullptr, EVP_PKEY_free);
  std::string_view p(*blob);
  p.remove_prefix(15);
  auto u32 = [&]() -> std::uint32_t {
    if (p.size() < 4) return 0;
    const auto* b = reinterpret_cast<const unsigned char*>(p.data());
    p.remove_prefix(4);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  };
  auto str = [&]() -> std::string_view {
    const auto n = u32();
    if (p.size() < n) return {};
    auto s = p.substr(0, n);
    p.remove_prefix(n);
    return s;
  };
  str(), str(), str();  // cipher, kdf, kdf options (all "none"/empty for unencrypted keys)
  u32();                // number of keys
  str();                // public key blob
  p = str();            // private section
  u32(), u32();         // check integers
  if (str() != "ssh-ed25519") return PkeyPtr(nullptr, EVP_PKEY_free);
  str();  // public key
  const auto priv = str();
  if (priv.size() != 64) return PkeyPtr(nullptr, EVP_PKEY_free);
  return PkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                              reinterpret_cast<const unsigned char*>(priv.data()), 32),
                 EVP_PKEY_free);
}

PkeyPtr load_private_key(const std::string& path) {
  const auto text = slurp(path);
  if (text.find("OPENSSH PRIVATE KEY") != std::string::npos) return load_openssh_ed25519(text);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
}

std::string sign(EVP_PKEY* key, const std::string& msg, const EVP_MD* md) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(msg.data());
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, m, msg.size()) != 1)
    return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, m, msg.size()) != 1) return {};
  sig.resize(len);
  return sig;
}

struct KeySet {
  std::string dir;
  std::string pub(const std::string& name) const {
    auto s = slurp(dir + "/" + name + ".pub");
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
};

const KeySet& keys() {
  static const KeySet ks = [] {
    KeySet k{pg::test::temp_dir()};
    const std::vector<std::pair<std::string, std::string>> gen = {
        {"ed", "-t ed25519"},          {"other", "-t ed25519"},          {"ec256", "-t ecdsa -b 256 -m PEM"},
        {"ec384", "-t ecdsa -b 384 -m PEM"}, {"rsa", "-t rsa -b 2048 -m PEM"}};
    for (const auto& [name, opts] : gen) {
      const auto cmd = "ssh-keygen -q " + opts + " -N '' -C test@pie-sim -f " + k.dir + "/" + name + " >/dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ssh-keygen failed: " + cmd);
    }
    return k;
  }();
  return ks;
}

Sim& keys_sim() {
  static Sim sim = [] {
    const auto& k = keys();
    const auto path = k.dir + "/authorized_users.toml";
    pg::test::write_file(path, "[users.alice.keys]\nlaptop = \"" + k.pub("ed") + "\"\nec256 = \"" + k.pub("ec256") +
                                   "\"\nec384 = \"" + k.pub("ec384") + "\"\nrsa = \"" + k.pub("rsa") + "\"\n");
    return Sim({"--auth", "keys", "--authorized-users", path});
  }();
  return sim;
}

/// The challenge flow; returns the final response.
std::optional<v02::Response> key_login(PieTestClient& c, const std::string& user, const std::string& key_file,
                                       const EVP_MD* md) {
  auto ch = c.request<v02::Response>(v02::Identification{c.next_corr_id(), user});
  if (!ch || !ch->successful) return ch;
  auto challenge = pie_sim::auth::base64_decode(ch->result);
  EXPECT_TRUE(challenge && challenge->size() == 48);
  auto key = load_private_key(key_file);
  EXPECT_TRUE(key) << key_file;
  if (!key || !challenge) return std::nullopt;
  const auto sig = sign(key.get(), *challenge, md);
  return c.request<v02::Response>(v02::Signature{c.next_corr_id(), pie_sim::auth::base64_encode(sig)});
}

// ==== authentication =======================================================================

TEST(PieSimAuth, DisabledAuthAcceptsAnyUser) {
  auto c = shared_sim().connect();
  auto r = c->request<v02::Response>(v02::Identification{7, "anyone"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->corr_id, 7u);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, "Authenticated (Engine disabled authentication)");
}

TEST(PieSimAuth, FirstMessageMustAuthenticate) {
  auto c = shared_sim().connect();
  ASSERT_TRUE(c->send(v02::Ping{1}));
  EXPECT_FALSE(c->recv(1000ms).has_value());
  EXPECT_NE(c->close_kind(), PieTestClient::CloseKind::Open);
}

TEST(PieSimAuth, UndecodableFramesBeforeAuthAreSkipped) {
  auto c = shared_sim().connect();
  ASSERT_TRUE(c->send_raw("\xc1 not msgpack"));
  ASSERT_TRUE(c->send_text("hello"));
  EXPECT_TRUE(c->identify("late"));
}

TEST(PieSimAuth, RepeatedAuthIsAlreadyAuthenticated) {
  auto c = shared_sim().login("repeat");
  for (v02::ClientMessage m : {v02::ClientMessage{v02::Identification{11, "x"}}, v02::ClientMessage{v02::Signature{12, "AA=="}},
                               v02::ClientMessage{v02::InternalAuthenticate{13, "bad"}}}) {
    auto r = c->request<v02::Response>(m);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->successful);
    EXPECT_EQ(r->result, "Already authenticated");
  }
}

TEST(PieSimAuth, InternalTokenIsAcceptedInDisabledMode) {
  auto c = shared_sim().connect();
  auto r = c->request<v02::Response>(v02::InternalAuthenticate{1, "internal-secret"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, "Authenticated");
}

TEST(PieSimToken, GoodTokenAuthenticates) {
  Sim sim({"--auth", "token", "--token", "s3cret"});
  auto c = sim.connect();
  auto r = c->request<v02::Response>(v02::InternalAuthenticate{1, "s3cret"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  EXPECT_TRUE(c->request<v02::Response>(v02::Ping{2}).has_value());
}

TEST(PieSimToken, BadTokenIsRejectedAfterDelayAndSessionEnds) {
  Sim sim({"--auth", "token", "--token", "s3cret", "--bad-token-delay-ms", "150:250"});
  auto c = sim.connect();
  const auto t0 = Clock::now();
  auto r = c->request<v02::Response>(v02::InternalAuthenticate{1, "wrong"}, 3000ms);
  const auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->successful);
  EXPECT_GE(elapsed, 150ms) << "the reply waits the configured delay";
  EXPECT_TRUE(c->wait_closed(2000ms));
}

TEST(PieSimToken, TokenFileAndIdentificationWithoutUsers) {
  const auto dir = pg::test::temp_dir();
  pg::test::write_file(dir + "/token", "from-file\n");
  Sim sim({"--auth", "token", "--token-file", dir + "/token"});
  auto good = sim.connect();
  auto r = good->request<v02::Response>(v02::InternalAuthenticate{1, "from-file"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  auto user = sim.connect();  // no authorized users in token mode
  auto u = user->request<v02::Response>(v02::Identification{1, "alice"});
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->successful);
  EXPECT_TRUE(user->wait_closed(2000ms));
}

TEST(PieSimKeys, Ed25519) {
  auto c = keys_sim().connect();
  auto r = key_login(*c, "alice", keys().dir + "/ed", nullptr);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, "Authenticated");
  EXPECT_TRUE(c->request<v02::Response>(v02::Ping{99}).has_value());
}

TEST(PieSimKeys, EcdsaP256) {
  auto c = keys_sim().connect();
  auto r = key_login(*c, "alice", keys().dir + "/ec256", EVP_sha256());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
}

TEST(PieSimKeys, EcdsaP384) {
  auto c = keys_sim().connect();
  auto r = key_login(*c, "alice", keys().dir + "/ec384", EVP_sha384());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
}

TEST(PieSimKeys, Rsa2048) {
  auto c = keys_sim().connect();
  auto r = key_login(*c, "alice", keys().dir + "/rsa", EVP_sha256());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
}

TEST(PieSimKeys, WrongKeyIsRejectedAndSessionEnds) {
  auto c = keys_sim().connect();
  auto r = key_login(*c, "alice", keys().dir + "/other", nullptr);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->successful);
  EXPECT_TRUE(c->wait_closed(2000ms));
}

TEST(PieSimKeys, UnknownUserIsRejectedAndSessionEnds) {
  auto c = keys_sim().connect();
  auto r = c->request<v02::Response>(v02::Identification{1, "mallory"});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->successful);
  EXPECT_TRUE(c->wait_closed(2000ms));
}

TEST(PieSimKeys, ShortTomlLayout) {
  const auto path = keys().dir + "/short.toml";
  pg::test::write_file(path, "[bob]\nlaptop = \"" + keys().pub("other") + "\"\n");
  Sim sim({"--auth", "keys", "--authorized-users", path});
  auto c = sim.connect();
  auto r = key_login(*c, "bob", keys().dir + "/other", nullptr);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
}

// ==== simple requests ======================================================================

TEST(PieSimRequests, PingAndQueries) {
  auto c = shared_sim().login("q");
  auto pong = c->request<v02::Response>(v02::Ping{5});
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->corr_id, 5u);
  EXPECT_EQ(pong->result, "Pong");
  auto status = c->request<v02::Response>(v02::Query{6, "model_status", ""});
  ASSERT_TRUE(status);
  auto j = nlohmann::json::parse(status->result, nullptr, false);
  ASSERT_TRUE(j.is_object()) << status->result;
  EXPECT_EQ(j.value("status", ""), "ready");
  auto stats = c->request<v02::Response>(v02::Query{7, "backend_stats", ""});
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->result.find("pie-sim"), std::string::npos);
}

TEST(PieSimRequests, UnknownQuerySubjectGetsNoReply) {
  auto c = shared_sim().login("q2");
  ASSERT_TRUE(c->send(v02::Query{1, "nonsense", ""}));
  EXPECT_TRUE(c->expect_silence(200ms));
  EXPECT_TRUE(c->request<v02::Response>(v02::Ping{2}).has_value());
}

TEST(PieSimRequests, ProgramExistsCountsOnlyUploads) {
  auto c = shared_sim().login("pe");
  auto q = [&](const std::string& record) {
    auto r = c->request<v02::Response>(v02::Query{c->next_corr_id(), "program_exists", record});
    return r ? r->result : "no reply";
  };
  EXPECT_EQ(q("std/echo@0.1.0"), "false");  // registry programs do not count
  const std::string bytes = "program-exists-bytes";
  const auto m = manifest("acme/exists", "2.0.0");
  auto up = upload_program(*c, bytes, m);
  ASSERT_TRUE(up && up->successful);
  const auto hash = pg::hash::blake3_hex(bytes);
  EXPECT_EQ(q("acme/exists@2.0.0"), "true");
  EXPECT_EQ(q("acme/exists@2.0.0#" + hash), "true");
  EXPECT_EQ(q("acme/exists@2.0.0#" + hash + "+" + pg::hash::blake3_hex(m)), "true");
  EXPECT_EQ(q("acme/exists@2.0.0#" + std::string(64, '0')), "false");
  EXPECT_EQ(q("acme/exists@9.0.0"), "false");
}

TEST(PieSimRequests, LaunchServerInstance) {
  auto c = shared_sim().login("srv");
  auto ok = c->request<v02::Response>(v02::LaunchServerInstance{1, 8080, "echo", {}});
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->successful);
  EXPECT_EQ(ok->result, "Server instance launched on port 8080");
  auto bad = c->request<v02::Response>(v02::LaunchServerInstance{2, 8080, "no-such-program", {}});
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->successful);
}

// ==== programs =============================================================================

TEST(PieSimPrograms, EchoSendsLaunchResultFirstThenOutputThenCompleted) {
  auto c = shared_sim().login("echo");
  const auto id = launch(*c, "echo", {"hello", "big", "world"});
  ASSERT_EQ(id.size(), 36u);
  auto run = collect(*c, id);
  EXPECT_EQ(run.out_chunks, std::vector<std::string>{"hello big world"});
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 1u);
  EXPECT_EQ(run.end->message, "hello big world");
}

TEST(PieSimPrograms, NameResolution) {
  auto c = shared_sim().login("names");
  for (std::string name : {"echo", "std/echo", "std/echo@0.1.0", "echo@latest", "std/echo@latest"}) {
    for (bool registry : {false, true}) {
      v02::ClientMessage m = registry ? v02::ClientMessage{v02::LaunchInstanceFromRegistry{1, name, {"x"}, true}}
                                      : v02::ClientMessage{v02::LaunchInstance{1, name, {"x"}, true}};
      auto r = c->request<v02::InstanceLaunchResult>(m);
      ASSERT_TRUE(r);
      EXPECT_TRUE(r->successful) << name;
    }
  }
  for (std::string name : {"std/echo@9.9.9", "acme/echo", "missing"}) {
    auto r = c->request<v02::InstanceLaunchResult>(v02::LaunchInstance{2, name, {}, false});
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->successful) << name;
    EXPECT_NE(r->message.find("not found"), std::string::npos) << r->message;
  }
}

TEST(PieSimPrograms, TextCompletionStreamsDeterministicTokens) {
  auto c = shared_sim().login("tc");
  const auto id = launch(*c, "text-completion", {"--prompt", "Hello there", "--max-tokens", "5"});
  auto run = collect(*c, id);
  EXPECT_EQ(run.out_chunks, pie_sim::pseudo_tokens("Hello there", 5));
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 1u);
  EXPECT_EQ(run.end->message, run.out());
  auto again = collect(*c, launch(*c, "text-completion", {"--prompt", "Hello there"}));
  EXPECT_EQ(again.out_chunks.size(), 16u);  // default --max-tokens
  EXPECT_EQ(again.out().rfind(run.out(), 0), 0u);
}

TEST(PieSimPrograms, TextCompletionBadArgumentsRaiseException) {
  auto c = shared_sim().login("tc-bad");
  for (std::vector<std::string> args : {std::vector<std::string>{}, {"--prompt", "x", "--max-tokens", "many"}, {"--bogus"}}) {
    auto run = collect(*c, launch(*c, "text-completion", args));
    ASSERT_TRUE(run.end);
    EXPECT_EQ(run.end->event, 3u);
    EXPECT_FALSE(run.end->message.empty());
  }
}

TEST(PieSimPrograms, TextCompletionTokenDelay) {
  Sim sim({"--token-delay-ms", "40"});
  auto c = sim.login("slow");
  const auto t0 = Clock::now();
  auto run = collect(*c, launch(*c, "text-completion", {"--prompt", "p", "--max-tokens", "4"}));
  EXPECT_GE(Clock::now() - t0, 120ms);
  EXPECT_EQ(run.out_chunks.size(), 4u);
}

TEST(PieSimPrograms, SleepCompletesAfterItsDelay) {
  auto c = shared_sim().login("sleep");
  const auto t0 = Clock::now();
  auto run = collect(*c, launch(*c, "std/sleep", {"--ms", "150"}));
  EXPECT_GE(Clock::now() - t0, 150ms);
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 1u);
  EXPECT_EQ(run.end->message, "slept 150 ms");
  auto bad = collect(*c, launch(*c, "sleep", {"--ms"}));
  ASSERT_TRUE(bad.end);
  EXPECT_EQ(bad.end->event, 3u);
}

TEST(PieSimPrograms, FailWritesStderrThenException) {
  auto c = shared_sim().login("fail");
  auto run = collect(*c, launch(*c, "fail", {}));
  EXPECT_EQ(run.err_chunks.size(), 1u);
  EXPECT_TRUE(run.out_chunks.empty());
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 3u);
  EXPECT_EQ(run.end->message, "simulated failure");
}

TEST(PieSimPrograms, ChatEchoesSignalsUntilBye) {
  auto c = shared_sim().login("chat");
  const auto id = launch(*c, "chat", {});
  for (std::string m : {"hi", "how are you"}) {
    ASSERT_TRUE(c->send(v02::SignalInstance{id, m}));
    auto e = c->recv_as<v02::InstanceEvent>();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->event, 0u);
    EXPECT_EQ(e->message, "echo: " + m);
  }
  ASSERT_TRUE(c->send(v02::SignalInstance{id, "bye"}));
  auto run = collect(*c, id);
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 1u);
  EXPECT_EQ(run.end->message, "bye");
}

TEST(PieSimPrograms, BlobEchoRoundTrips) {
  auto c = shared_sim().login("blob");
  for (std::size_t size : {std::size_t{0}, std::size_t{1000}, std::size_t{600 * 1024}}) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131) & 0xff);
    const auto hash = pg::hash::blake3_hex(data);
    const auto id = launch(*c, "blob-echo", {});
    const std::uint64_t total = size == 0 ? 1 : (size + v02::kChunkSize - 1) / v02::kChunkSize;
    for (std::uint64_t i = 0; i < total; ++i)
      ASSERT_TRUE(c->send(v02::UploadBlob{c->next_corr_id(), id, hash, i, total,
                                          data.substr(std::min<std::size_t>(i * v02::kChunkSize, size), v02::kChunkSize)}));
    auto r = c->recv_as<v02::Response>();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->successful) << r->result;
    auto run = collect(*c, id);
    EXPECT_EQ(run.blobs.size(), (size + v02::kChunkSize - 1) / v02::kChunkSize);  // an empty blob is zero frames
    std::string back;
    for (std::size_t i = 0; i < run.blobs.size(); ++i) {
      EXPECT_EQ(run.blobs[i].corr_id, 0u);
      EXPECT_EQ(run.blobs[i].chunk_index, i);
      EXPECT_EQ(run.blobs[i].total_chunks, run.blobs.size());
      EXPECT_EQ(run.blobs[i].blob_hash, hash);
      EXPECT_LE(run.blobs[i].chunk_data.size(), v02::kChunkSize);
      back += run.blobs[i].chunk_data;
    }
    EXPECT_EQ(back, data);
    ASSERT_TRUE(run.end);
    EXPECT_EQ(run.end->message, std::to_string(size) + " bytes");
  }
}

TEST(PieSimPrograms, UploadBlobRules) {
  auto sim_c = shared_sim().login("blob-rules");
  auto other = shared_sim().login("blob-rules");
  const auto id = launch(*sim_c, "blob-echo", {});
  const std::string data = "payload";
  const auto hash = pg::hash::blake3_hex(data);
  auto not_mine = other->request<v02::Response>(v02::UploadBlob{1, id, hash, 0, 1, data});
  ASSERT_TRUE(not_mine);
  EXPECT_FALSE(not_mine->successful);
  auto bad_id = sim_c->request<v02::Response>(v02::UploadBlob{2, "nope", hash, 0, 1, data});
  ASSERT_TRUE(bad_id);
  EXPECT_FALSE(bad_id->successful);
  auto bad_hash = sim_c->request<v02::Response>(v02::UploadBlob{3, id, std::string(64, 'a'), 0, 1, data});
  ASSERT_TRUE(bad_hash);
  EXPECT_FALSE(bad_hash->successful);
  auto first_not_zero = sim_c->request<v02::Response>(v02::UploadBlob{4, id, hash, 1, 2, data});
  ASSERT_TRUE(first_not_zero);
  EXPECT_FALSE(first_not_zero->successful);
  EXPECT_TRUE(sim_c->expect_silence(100ms));  // the instance got nothing
}

TEST(PieSimPrograms, UploadedProgramBehavesLikeEcho) {
  auto c = shared_sim().login("uploader");
  auto up = upload_program(*c, "fake wasm", manifest("acme/greeter", "1.0.0"));
  ASSERT_TRUE(up && up->successful);
  auto run = collect(*c, launch(*c, "acme/greeter@1.0.0", {"hi", "there"}));
  EXPECT_EQ(run.out(), "hi there");
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->message, "hi there");
  auto reg = c->request<v02::InstanceLaunchResult>(v02::LaunchInstanceFromRegistry{1, "acme/greeter@1.0.0", {}, false});
  ASSERT_TRUE(reg);
  EXPECT_FALSE(reg->successful);  // the registry does not know uploads
}

// ==== program uploads ======================================================================

TEST(PieSimUpload, MultiChunkUploadRepliesOnceWithTheHash) {
  auto c = shared_sim().login("up");
  std::string bytes(300 * 1024, 'w');
  const auto hash = pg::hash::blake3_hex(bytes);
  const auto m = manifest("acme/big", "0.3.0");
  ASSERT_TRUE(c->send(v02::UploadProgram{1, hash, m, 0, 2, bytes.substr(0, v02::kChunkSize)}));
  EXPECT_TRUE(c->expect_silence(150ms));
  auto r = c->request<v02::Response>(v02::UploadProgram{2, hash, m, 1, 2, bytes.substr(v02::kChunkSize)});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->corr_id, 2u);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, hash);
}

TEST(PieSimUpload, EmptyProgramIsOneEmptyChunk) {
  auto c = shared_sim().login("up-empty");
  auto r = upload_program(*c, "", manifest("acme/empty", "1.0.0"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, pg::hash::blake3_hex(""));
}

TEST(PieSimUpload, ChunkRuleViolationsAreRejected) {
  auto c = shared_sim().login("up-rules");
  const std::string bytes(10, 'x');
  const auto h = pg::hash::blake3_hex(bytes + bytes + bytes);
  const auto m = manifest("acme/rules", "1.0.0");
  auto expect_false = [&](std::optional<v02::Response> r, const char* what) {
    ASSERT_TRUE(r) << what;
    EXPECT_FALSE(r->successful) << what;
    EXPECT_FALSE(r->result.empty()) << what;
  };
  expect_false(c->request<v02::Response>(v02::UploadProgram{1, h, m, 1, 3, bytes}), "first index not 0");
  ASSERT_TRUE(c->send(v02::UploadProgram{2, h, m, 0, 3, bytes}));
  expect_false(c->request<v02::Response>(v02::UploadProgram{3, h, m, 2, 3, bytes}), "out of order");
  ASSERT_TRUE(c->send(v02::UploadProgram{4, h, m, 0, 3, bytes}));
  expect_false(c->request<v02::Response>(v02::UploadProgram{5, h, m, 1, 4, bytes}), "total changed");
  expect_false(c->request<v02::Response>(v02::UploadProgram{6, h, m, 0, 1, std::string(v02::kChunkSize + 1, 'z')}),
               "chunk too big");
  auto ok = upload_program(*c, "abc", m, 1);  // three 1-byte chunks: the session still uploads
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->successful) << ok->result;
}

TEST(PieSimUpload, HashMismatchAndBadManifestsAreRejected) {
  auto c = shared_sim().login("up-bad");
  auto wrong = c->request<v02::Response>(v02::UploadProgram{1, std::string(64, 'f'), manifest("a/b", "1"), 0, 1, "x"});
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->successful);
  EXPECT_NE(wrong->result.find("Hash mismatch"), std::string::npos);
  for (std::string bad : {"not = [valid toml", "[other]\nname = \"a/b\"\n", "[package]\nname = \"a/b\"\n",
                          "[package]\nversion = \"1.0\"\n"}) {
    auto r = upload_program(*c, "prog", bad);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->successful) << bad;
  }
  auto fine = upload_program(*c, "prog", manifest("a/b", "1.0.0"));  // the session still uploads
  ASSERT_TRUE(fine);
  EXPECT_TRUE(fine->successful);
}

// ==== attach, detach, signals, termination, listing ========================================

TEST(PieSimLifecycle, DetachedLaunchIsBufferedUntilAttach) {
  auto c = shared_sim().login("detached");
  const auto id = launch(*c, "echo", {"kept", "for", "later"}, /*detached=*/true);
  EXPECT_TRUE(c->expect_silence(150ms));
  auto before = list(*c);
  ASSERT_TRUE(find_info(before, id));
  EXPECT_EQ(find_info(before, id)->status, "Finished");
  auto a = c->request<v02::InstanceAttachResult>(v02::AttachInstance{3, id});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->successful);
  auto run = collect(*c, id);
  EXPECT_EQ(run.out_chunks, std::vector<std::string>{"kept for later"});
  ASSERT_TRUE(run.end);
  EXPECT_EQ(run.end->event, 1u);
  EXPECT_FALSE(find_info(list(*c), id));  // reported, so gone
}

TEST(PieSimLifecycle, ClosingDetachesAndAnotherSessionResumes) {
  Sim sim({"--token-delay-ms", "40"});
  std::string id, seen;
  {
    auto a = sim.login("carol");
    id = launch(*a, "text-completion", {"--prompt", "resume me", "--max-tokens", "8"});
    auto first = a->recv_as<v02::StreamingOutput>();
    ASSERT_TRUE(first);
    seen = first->text;
    a->close();
  }
  auto b = sim.login("carol");
  auto running = list(*b);
  ASSERT_TRUE(find_info(running, id));
  EXPECT_EQ(find_info(running, id)->status, "Detached");
  std::this_thread::sleep_for(450ms);  // let it finish while detached
  auto done = list(*b);
  ASSERT_TRUE(find_info(done, id));
  EXPECT_EQ(find_info(done, id)->status, "Finished");
  auto r = b->request<v02::InstanceAttachResult>(v02::AttachInstance{1, id});
  ASSERT_TRUE(r && r->successful);
  auto run = collect(*b, id);
  ASSERT_EQ(run.out_chunks.size(), 1u);  // everything buffered, as one chunk
  ASSERT_TRUE(run.end);
  EXPECT_EQ(seen + run.out_chunks[0], run.end->message);
  EXPECT_EQ(run.end->message, [] {
    std::string s;
    for (const auto& t : pie_sim::pseudo_tokens("resume me", 8)) s += t;
    return s;
  }());
}

TEST(PieSimLifecycle, DetachedOutputKeepsTheNewestMiBAndFramesStayWithin1MiB) {
  auto c = shared_sim().login("ring");
  std::vector<std::string> args;
  for (char ch : {'a', 'b', 'c'}) args.emplace_back(512 * 1024, ch);
  const auto id = launch(*c, "echo", args, true);
  std::string text = args[0] + " " + args[1] + " " + args[2];
  auto a = c->request<v02::InstanceAttachResult>(v02::AttachInstance{2, id});
  ASSERT_TRUE(a && a->successful);
  auto run = collect(*c, id);
  ASSERT_EQ(run.out_chunks.size(), 1u);
  EXPECT_EQ(run.out_chunks[0].size(), kMiB);
  EXPECT_EQ(run.out_chunks[0], text.substr(text.size() - kMiB));
  ASSERT_TRUE(run.end);
  EXPECT_LE(run.end->message.size(), kMiB);
  EXPECT_LE(c->max_frame_bytes(), kMiB + 1024);
}

TEST(PieSimLifecycle, AttachErrors) {
  auto a = shared_sim().login("att");
  auto b = shared_sim().login("att");
  auto nf = b->request<v02::InstanceAttachResult>(v02::AttachInstance{1, random_uuid()});
  ASSERT_TRUE(nf);
  EXPECT_FALSE(nf->successful);
  EXPECT_EQ(nf->message, "Instance not found");
  auto bad = b->request<v02::InstanceAttachResult>(v02::AttachInstance{2, "not-a-uuid"});
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->successful);
  const auto id = launch(*a, "chat", {});
  auto taken = b->request<v02::InstanceAttachResult>(v02::AttachInstance{3, id});
  ASSERT_TRUE(taken);
  EXPECT_FALSE(taken->successful);
  EXPECT_EQ(taken->message, "Instance already attached");
}

TEST(PieSimLifecycle, SignalsOnlyReachInstancesAttachedToTheSender) {
  auto a = shared_sim().login("sig");
  auto b = shared_sim().login("sig");
  const auto id = launch(*a, "chat", {});
  ASSERT_TRUE(b->send(v02::SignalInstance{id, "from b"}));
  EXPECT_TRUE(a->expect_silence(150ms));
  EXPECT_TRUE(b->expect_silence(10ms));
  ASSERT_TRUE(a->send(v02::SignalInstance{id, "from a"}));
  auto e = a->recv_as<v02::InstanceEvent>();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "echo: from a");
}

TEST(PieSimLifecycle, TerminateAttachedRepliesThenAborts) {
  auto c = shared_sim().login("term");
  const auto id = launch(*c, "sleep", {"--ms", "5000"});
  auto r = c->request<v02::Response>(v02::TerminateInstance{4, id});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->successful);
  EXPECT_EQ(r->result, "Instance terminated");
  auto e = c->recv_as<v02::InstanceEvent>();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->instance_id, id);
  EXPECT_EQ(e->event, 2u);
  EXPECT_EQ(e->message, "Signal termination");
  EXPECT_TRUE(c->expect_silence(100ms));
}

TEST(PieSimLifecycle, TerminateUnknownMalformedAndDetached) {
  auto c = shared_sim().login("term2");
  auto unknown = c->request<v02::Response>(v02::TerminateInstance{1, random_uuid()});
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->successful);
  auto malformed = c->request<v02::Response>(v02::TerminateInstance{2, "xyz"});
  ASSERT_TRUE(malformed);
  EXPECT_FALSE(malformed->successful);
  const auto id = launch(*c, "sleep", {"--ms", "5000"}, true);
  auto other = shared_sim().login("someone-else");  // any session may terminate any instance
  auto r = other->request<v02::Response>(v02::TerminateInstance{3, id});
  ASSERT_TRUE(r && r->successful);
  EXPECT_TRUE(c->expect_silence(100ms));  // a detached instance produces no event
  EXPECT_FALSE(find_info(list(*c), id));
}

TEST(PieSimLifecycle, ListInstancesVisibilityAndOrder) {
  auto alice = shared_sim().login("list-alice");
  auto bob = shared_sim().login("list-bob");
  const auto a1 = launch(*alice, "sleep", {"--ms", "3000"}, true);
  const auto a2 = launch(*alice, "chat", {});
  const auto b1 = launch(*bob, "sleep", {"--ms", "3000"}, true);
  auto la = list(*alice);
  ASSERT_EQ(la.size(), 2u);
  EXPECT_EQ(la[0].id, a2);  // newest first
  EXPECT_EQ(la[0].status, "Attached");
  EXPECT_EQ(la[1].id, a1);
  EXPECT_EQ(la[1].status, "Detached");
  EXPECT_EQ(la[1].username, "list-alice");
  EXPECT_EQ(la[1].arguments, (std::vector<std::string>{"--ms", "3000"}));
  auto lb = list(*bob);
  ASSERT_EQ(lb.size(), 1u);
  EXPECT_EQ(lb[0].id, b1);
  auto internal = shared_sim().connect();
  auto ok = internal->request<v02::Response>(v02::InternalAuthenticate{1, "internal-secret"});
  ASSERT_TRUE(ok && ok->successful);
  auto all = list(*internal);
  EXPECT_TRUE(find_info(all, a1) || all.size() == 50u);
  EXPECT_LE(all.size(), 50u);
  auto many = shared_sim().login("list-many");
  for (int i = 0; i < 55; ++i) launch(*many, "sleep", {"--ms", "3000"}, true);
  EXPECT_EQ(list(*many).size(), 50u);
}

// ==== robustness ===========================================================================

TEST(PieSimRobustness, MalformedFramesGetNoReplyAndTheSessionGoesOn) {
  auto c = shared_sim().login("garbage");
  ASSERT_TRUE(c->send_raw("\x01\x02\x03 garbage"));
  ASSERT_TRUE(c->send_raw(std::string("\x2a", 1)));                       // a msgpack int, not a map
  ASSERT_TRUE(c->send_raw("\x81\xa3""abc\x01"));                         // a map without "type"
  ASSERT_TRUE(c->send_raw("\x82\xa4type\xa4nope\xa7""corr_id\x01"));    // unknown type
  ASSERT_TRUE(c->send_raw("\x82\xa4type\xa4ping\xa7""corr_id\xa1x"));   // corr_id of the wrong type
  ASSERT_TRUE(c->send_raw("\x84\xa4type\xaflaunch_instance\xa7""corr_id\x01\xa8inferlet\xa4""echo"
                          "\xa9""arguments\x90"));                        // launch without "detached"
  ASSERT_TRUE(c->send_raw(""));
  ASSERT_TRUE(c->send_text("{\"type\":\"ping\",\"corr_id\":1}"));
  EXPECT_TRUE(c->expect_silence(300ms));
  auto pong = c->request<v02::Response>(v02::Ping{42});
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->corr_id, 42u);
}

TEST(PieSimRobustness, OversizedFrameEndsOnlyThatSession) {
  auto c = shared_sim().login("huge");
  c->send_raw(std::string(5 * kMiB, 'x'));
  EXPECT_TRUE(c->wait_closed(3000ms));
  auto d = shared_sim().login("after-huge");
  EXPECT_TRUE(d->request<v02::Response>(v02::Ping{1}).has_value());
}

// ==== fault injection ======================================================================

TEST(PieSimFaults, DropAfterClosesAbruptly) {
  Sim sim({"--drop-after", "2"});
  auto c = sim.login("drop");
  auto pong = c->request<v02::Response>(v02::Ping{1});
  ASSERT_TRUE(pong);
  EXPECT_TRUE(c->wait_closed(2000ms));
  EXPECT_EQ(c->close_kind(), PieTestClient::CloseKind::Abrupt);
}

TEST(PieSimFaults, StallAfterStopsAnsweringButKeepsTheSocket) {
  Sim sim({"--stall-after", "2"});
  auto c = sim.login("stall");
  ASSERT_TRUE(c->request<v02::Response>(v02::Ping{1}).has_value());
  ASSERT_TRUE(c->send(v02::Ping{2}));
  EXPECT_TRUE(c->expect_silence(400ms));
  EXPECT_EQ(c->close_kind(), PieTestClient::CloseKind::Open);
  auto fresh = sim.login("stall-2");  // other sessions are served
  EXPECT_TRUE(fresh->request<v02::Response>(v02::Ping{1}).has_value());
}

TEST(PieSimFaults, RefuseLaunches) {
  Sim sim({"--refuse-launches"});
  auto c = sim.login("refused");
  auto r = c->request<v02::InstanceLaunchResult>(v02::LaunchInstance{1, "echo", {}, false});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->successful);
  EXPECT_EQ(r->message, "launch refused (fault injection)");
  EXPECT_TRUE(c->request<v02::Response>(v02::Ping{2}).has_value());
}

TEST(PieSimFaults, ReplyDelay) {
  Sim sim({"--reply-delay-ms", "150"});
  auto c = sim.login("delayed");
  const auto t0 = Clock::now();
  auto r = c->request<v02::Response>(v02::Ping{1});
  ASSERT_TRUE(r);
  EXPECT_GE(Clock::now() - t0, 150ms);
}

TEST(PieSimFaults, SigtermExitsCleanlyWithLiveSessionsAndInstances) {
  Sim sim;
  auto c = sim.login("bye");
  launch(*c, "sleep", {"--ms", "10000"});
  launch(*c, "chat", {}, true);
  sim.process().signal(SIGTERM);
  auto status = sim.process().wait(5000ms);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(c->wait_closed(2000ms));
}

TEST(PieSimRobustness, RandomAndMutatedFramesNeverCrashTheServer) {
  auto c = shared_sim().login("fuzz");
  std::mt19937 rng(1234);
  const std::vector<std::string> seeds = {
      v02::encode(v02::ClientMessage{v02::Ping{1}}),
      v02::encode(v02::ClientMessage{v02::LaunchInstance{2, "echo", {"a", "b"}, true}}),
      v02::encode(v02::ClientMessage{v02::UploadBlob{3, random_uuid(), std::string(64, 'a'), 0, 1, "xyz"}}),
      v02::encode(v02::ClientMessage{v02::Query{4, "program_exists", "a/b@1#c"}})};
  for (int i = 0; i < 300; ++i) {
    std::string frame;
    if (i % 3 == 0) {
      frame.resize(rng() % 64);
      for (auto& ch : frame) ch = static_cast<char>(rng());
    } else {
      frame = seeds[rng() % seeds.size()];
      for (int k = 0; k < 3; ++k) frame[rng() % frame.size()] = static_cast<char>(rng());
    }
    ASSERT_TRUE(c->send_raw(frame));
  }
  // Mutations may decode as valid requests and get replies: drain, then check the server is alive.
  for (int i = 0; i < 1000 && c->recv(100ms); ++i) {
  }
  auto d = shared_sim().login("after-fuzz");
  EXPECT_TRUE(d->request<v02::Response>(v02::Ping{1}).has_value());
}

TEST(PieSimLifecycle, LargeAttachedOutputIsSplitIntoFramesOfAtMost1MiB) {
  auto c = shared_sim().login("big-out");
  const std::vector<std::string> args{std::string(900 * 1024, 'x'), std::string(600 * 1024, 'y')};
  auto run = collect(*c, launch(*c, "echo", args));
  EXPECT_EQ(run.out_chunks.size(), 2u);
  EXPECT_EQ(run.out(), args[0] + " " + args[1]);
  EXPECT_LE(c->max_frame_bytes(), kMiB + 1024);
}

// ==== pie-sim internals (linked in-process) ================================================

TEST(PieSimInternals, RingTextKeepsTheNewestBytesOnUtf8Boundaries) {
  pie_sim::RingText ring(8);
  ring.append("0123");
  ring.append("456789");
  EXPECT_EQ(ring.take(), "23456789");
  EXPECT_TRUE(ring.empty());
  ring.append("abcdefg\xc3\xa9");  // 9 bytes, the last two one character
  EXPECT_EQ(ring.take(), "bcdefg\xc3\xa9");
  ring.append("abcdefgh\xc3\xa9");  // 10 bytes: the newest 8
  EXPECT_EQ(ring.take(), "cdefgh\xc3\xa9");
  pie_sim::RingText cut(3);
  cut.append("a\xe2\x82\xac");  // keeping 3 bytes = the whole euro sign
  EXPECT_EQ(cut.take(), "\xe2\x82\xac");
  cut.append("\xe2\x82\xac\xe2\x82\xac!");  // newest 3 bytes start mid-character: skip to '!'
  EXPECT_EQ(cut.take(), "!");
}

TEST(PieSimInternals, NamesAndIds) {
  EXPECT_EQ(pie_sim::parse_program_name("echo").full(), "std/echo@latest");
  EXPECT_EQ(pie_sim::parse_program_name("acme/x").full(), "acme/x@latest");
  EXPECT_EQ(pie_sim::parse_program_name("x@1.2").full(), "std/x@1.2");
  EXPECT_FALSE(pie_sim::parse_manifest("a = " + std::string(200000, '[')));  // deep nesting is an error, not a crash
  EXPECT_FALSE(pie_sim::parse_manifest("a = " + std::string(200000, '{')));
  auto named = pie_sim::parse_manifest("[package]\nname = \"solo\"\nversion = \"1\"\n");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->full(), "std/solo@1");
  const auto id = pie_sim::new_uuid_v4();
  EXPECT_EQ(pie_sim::normalize_uuid(id), id);
  EXPECT_EQ(id[14], '4');
  EXPECT_EQ(pie_sim::normalize_uuid("3F2B8C1E9A4D4E7F8B1A0C2D3E4F5A6B"), random_uuid());
  EXPECT_FALSE(pie_sim::normalize_uuid("3f2b8c1e-9a4d-4e7f-8b1a-0c2d3e4f5a6"));
  EXPECT_FALSE(pie_sim::normalize_uuid("3f2b8c1e-9a4d-4e7f-8b1a-0c2d3e4f5a6g"));
}

TEST(PieSimInternals, PublicKeyParsingRejectsBadAndWeakKeys) {
  EXPECT_TRUE(pie_sim::auth::PublicKey::parse(keys().pub("ed")));
  EXPECT_TRUE(pie_sim::auth::PublicKey::parse(keys().pub("rsa")));
  EXPECT_FALSE(pie_sim::auth::PublicKey::parse("ssh-ed25519 !!!notbase64"));
  EXPECT_FALSE(pie_sim::auth::PublicKey::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA=="));  // truncated
  EXPECT_FALSE(pie_sim::auth::PublicKey::parse("ssh-dss AAAAB3NzaC1kc3M="));
  const auto dir = pg::test::temp_dir();
  ASSERT_EQ(std::system(("ssh-keygen -q -t rsa -b 1024 -N '' -f " + dir + "/weak >/dev/null 2>&1").c_str()), 0);
  auto weak = pie_sim::auth::PublicKey::parse(KeySet{dir}.pub("weak"));
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().find("2048"), std::string::npos);
  EXPECT_FALSE(pie_sim::auth::AuthorizedUsers::parse("[alice]\nk = 3\n"));
  EXPECT_FALSE(pie_sim::auth::AuthorizedUsers::parse("not toml ["));
  EXPECT_EQ(pie_sim::auth::base64_encode("abcd"), "YWJjZA==");
  EXPECT_EQ(pie_sim::auth::base64_decode("YWJjZA=="), std::optional<std::string>("abcd"));
}

}  // namespace
