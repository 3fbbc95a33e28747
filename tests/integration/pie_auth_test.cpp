// SSH public-key authentication to Pie: keys made by ssh-keygen (and openssl for a PKCS#8
// Ed25519 key), loaded by pie::auth::SshKey, used by a v0.2 session against
// `pie-sim --auth keys`. Refusals: wrong key, unknown user, open permissions, weak or
// unsupported keys, encrypted files without (or with the wrong) passphrase.
#include <gtest/gtest.h>

#include <utility>  // before Asio with C++20

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/ssh_keys.hpp"
#include "pie/auth/ssh_key.hpp"
#include "pie/session.hpp"
#include "support/process.hpp"

namespace pg::pie {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kPassphrase = "correct horse";

// One key per authorized user of the shared pie-sim.
struct KeyCase {
  std::string user;
  std::string type;  // expected SshKey::type()
  std::string passphrase;
};

const std::vector<KeyCase> kCases = {
    {"ed", "ssh-ed25519", ""},          {"ec256", "ecdsa-sha2-nistp256", ""},
    {"ec384", "ecdsa-sha2-nistp384", ""}, {"rsa", "ssh-rsa", ""},
    {"rsa_pem", "ssh-rsa", ""},         {"ec256_pem", "ecdsa-sha2-nistp256", ""},
    {"ec384_p8", "ecdsa-sha2-nistp384", ""}, {"rsa_p8", "ssh-rsa", ""},
    {"ed_p8", "ssh-ed25519", ""},       {"ec256_pem_enc", "ecdsa-sha2-nistp256", kPassphrase},
    {"rsa_p8_enc", "ssh-rsa", kPassphrase},
};

class PieAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    const auto& d = *dir_;
    test::keygen(d, "ed", "ed25519");
    test::keygen(d, "ec256", "ecdsa -b 256");
    test::keygen(d, "ec384", "ecdsa -b 384");
    test::keygen(d, "rsa", "rsa -b 2048");
    test::keygen(d, "rsa_pem", "rsa -b 2048", "PEM");
    test::keygen(d, "ec256_pem", "ecdsa -b 256", "PEM");
    test::keygen(d, "ec384_p8", "ecdsa -b 384", "PKCS8");
    test::keygen(d, "rsa_p8", "rsa -b 2048", "PKCS8");
    test::openssl_ed25519(d, "ed_p8");
    test::keygen(d, "ec256_pem_enc", "ecdsa -b 256", "PEM", kPassphrase);
    test::keygen(d, "rsa_p8_enc", "rsa -b 2048", "PKCS8", kPassphrase);
    std::string users;
    for (const auto& c : kCases) users += "[" + c.user + "]\nkey = \"" + test::pub_line(d + "/" + c.user) + "\"\n";
    users += "[alice]\nlaptop = \"" + test::pub_line(d + "/ed") + "\"\n";
    test::write_file(d + "/users.toml", users);
    sim_ = new test::Process({test::binary_path("pie-sim"), "--port", "0", "--auth", "keys", "--authorized-users",
                              d + "/users.toml"});
    port_ = static_cast<std::uint16_t>(sim_->wait_for_port(10s));
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(port_, 0) << "pie-sim did not start"; }
  void TearDown() override {
    sessions_.clear();
    io_.run_for(50ms);
  }

  static std::string key_path(const std::string& name) { return *dir_ + "/" + name; }

  std::shared_ptr<const auth::SshKey> load(const std::string& name, const std::string& passphrase = {}) {
    auto k = auth::SshKey::load_file(key_path(name), passphrase);
    EXPECT_TRUE(k.ok()) << k.error();
    return k ? *k : nullptr;
  }

  // start() with key auth; returns the reply text or "error: ...".
  std::string start(const std::string& user, std::shared_ptr<const auth::SshKey> key, std::uint16_t port = 0,
                    Session::Ptr* out = nullptr) {
    SessionOptions o;
    o.port = port ? port : port_;
    o.connect_timeout = 3000ms;
    o.request_timeout = 5000ms;
    o.auth_timeout = 5000ms;
    o.auth.kind = key ? AuthConfig::Kind::Key : AuthConfig::Kind::Username;
    o.auth.username = user;
    o.auth.key = std::move(key);
    auto s = make_session_v02(io_.get_executor(), o);
    sessions_.push_back(s);
    std::optional<Result<std::string>> r;
    s->start([&](Result<std::string> x) { r.emplace(std::move(x)); });
    EXPECT_TRUE(run_until([&] { return r.has_value(); })) << "start did not finish";
    if (out) *out = s;
    if (!r) return "<pending>";
    return r->ok() ? r->value() : "error: " + r->error();
  }

  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!pred() && Clock::now() < deadline) {
      io_.run_for(5ms);
      if (io_.stopped()) io_.restart();
    }
    return pred();
  }

  static std::string* dir_;
  static test::Process* sim_;
  static std::uint16_t port_;
  boost::asio::io_context io_;
  std::vector<Session::Ptr> sessions_;
};

std::string* PieAuthTest::dir_ = nullptr;
test::Process* PieAuthTest::sim_ = nullptr;
std::uint16_t PieAuthTest::port_ = 0;

TEST_F(PieAuthTest, EveryKeyTypeAndFormatAuthenticates) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.user);
    auto key = load(c.user, c.passphrase);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->type(), c.type);
    EXPECT_EQ(key->fingerprint(), test::fingerprint(key_path(c.user)));  // same public key as ssh-keygen's
    EXPECT_EQ(key->public_key_line(), test::pub_line(key_path(c.user)));
    Session::Ptr s;
    EXPECT_EQ(start(c.user, key, 0, &s), "Authenticated");
    std::optional<Result<std::string>> pong;
    s->ping([&](Result<std::string> x) { pong.emplace(std::move(x)); });
    ASSERT_TRUE(run_until([&] { return pong.has_value(); }));
    EXPECT_TRUE(pong->ok() && pong->value() == "Pong");
  }
}

TEST_F(PieAuthTest, WrongKeyIsRefusedByTheServer) {
  auto key = load("ec256");
  const auto r = start("alice", key);  // alice's only key is "ed"
  EXPECT_TRUE(r.starts_with("error: authentication failed: the server refused user 'alice' with "
                            "ecdsa-sha2-nistp256 key SHA256:"))
      << r;
  EXPECT_NE(r.find("Signature verification failed"), std::string::npos) << r;
}

TEST_F(PieAuthTest, UnknownUserIsRefused) {
  EXPECT_EQ(start("mallory", load("ed")), "error: authentication failed: User 'mallory' is not authorized");
}

TEST_F(PieAuthTest, SessionWithoutKeyIsToldTheServerWantsOne) {
  EXPECT_EQ(start("ed", nullptr), "error: server requires public-key authentication");
}

TEST_F(PieAuthTest, KeyWorksAgainstServerWithAuthDisabled) {
  test::Process open_sim({test::binary_path("pie-sim"), "--port", "0"});
  const auto port = static_cast<std::uint16_t>(open_sim.wait_for_port(10s));
  ASSERT_NE(port, 0);
  EXPECT_EQ(start("ed", load("ed"), port), "Authenticated (Engine disabled authentication)");
}

TEST_F(PieAuthTest, KeyFileAccessibleByOthersIsRefusedBeforeConnecting) {
  const auto copy = key_path("ed_open");
  test::write_file(copy, test::read_text(key_path("ed")));
  for (mode_t mode : {0644, 0640, 0620, 0604}) {
    test::chmod_file(copy, mode);
    auto k = auth::SshKey::load_file(copy);
    ASSERT_FALSE(k.ok());
    char m[8];
    std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(k.error(), "'" + copy + "' has mode " + m +
                             ": a private key must not be accessible by group or others (chmod 600 '" + copy + "')");
  }
  test::chmod_file(copy, 0400);
  EXPECT_TRUE(auth::SshKey::load_file(copy).ok());
}

TEST_F(PieAuthTest, MissingFileIsNamed) {
  auto k = auth::SshKey::load_file(key_path("nope"));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), "'" + key_path("nope") + "': No such file or directory");
}

TEST_F(PieAuthTest, Rsa1024IsRefused) {
  test::keygen(*dir_, "rsa1024", "rsa -b 1024");
  test::keygen(*dir_, "rsa1024_pem", "rsa -b 1024", "PEM");
  for (const char* name : {"rsa1024", "rsa1024_pem"}) {
    auto k = auth::SshKey::load_file(key_path(name));
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.error(), "'" + key_path(name) + "' is an RSA key of 1024 bits; Pie needs at least 2048");
  }
}

TEST_F(PieAuthTest, UnsupportedCurveIsRefused) {
  test::keygen(*dir_, "ec521", "ecdsa -b 521");
  auto k = auth::SshKey::load_file(key_path("ec521"));
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().find("'ecdsa-sha2-nistp521' is not supported"), std::string::npos) << k.error();
}

TEST_F(PieAuthTest, EncryptedPemNeedsTheRightPassphrase) {
  for (const char* name : {"ec256_pem_enc", "rsa_p8_enc"}) {
    SCOPED_TRACE(name);
    auto wrong = auth::SshKey::load_file(key_path(name), "wrong horse");
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error(),
              "'" + key_path(name) + "' cannot be decrypted with the given passphrase (wrong passphrase?)");
    auto none = auth::SshKey::load_file(key_path(name));
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error(), "'" + key_path(name) + "' is encrypted and no passphrase was given");
    EXPECT_TRUE(auth::SshKey::load_file(key_path(name), kPassphrase).ok());
  }
}

TEST_F(PieAuthTest, EncryptedOpenSshKeyIsRefusedWithAHint) {
  test::keygen(*dir_, "ed_enc", "ed25519", "", kPassphrase);
  auto k = auth::SshKey::load_file(key_path("ed_enc"), kPassphrase);
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().find("is an encrypted OpenSSH key (cipher aes256-ctr, kdf bcrypt)"), std::string::npos)
      << k.error();
  EXPECT_NE(k.error().find("ssh-keygen -p -m PEM"), std::string::npos) << k.error();
}

TEST_F(PieAuthTest, NotAPrivateKeyIsRefused) {
  auto pub = auth::SshKey::parse(test::read_text(key_path("ed") + ".pub"), "", "id.pub");
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error(), "'id.pub' is a public key; the private key file is needed");
  auto junk = auth::SshKey::parse("hello", "", "junk");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.error(), "'junk' is not a private key (expected an OpenSSH or PEM private key file)");
  // A truncated OpenSSH body fails cleanly, whatever is cut.
  const auto text = test::read_text(key_path("rsa"));
  for (std::size_t cut = 40; cut + 40 < text.size(); cut += 37) {
    auto t = text.substr(0, cut) + "\n-----END OPENSSH PRIVATE KEY-----\n";
    EXPECT_FALSE(auth::SshKey::parse(t, "", "cut").ok());
  }
}

TEST_F(PieAuthTest, SignaturesDifferPerChallengeAndKeyStaysUsable) {
  // A key is loaded once and shared by every session of a server: many sessions, one key.
  auto key = load("ec384_p8");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(start("ec384_p8", key), "Authenticated");
  auto a = key->sign("challenge one");
  auto b = key->sign("challenge two");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace pg::pie
