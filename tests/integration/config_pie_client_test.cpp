// Config for the Pie client side that reads files: servers' `auth:` with key_file (and
// passphrases from files or the environment), and `programs:`. Errors are config errors with
// file:line:col and the field; `pie-gateway --check-config` reports them and exits 2.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "config/loader.hpp"
#include "integration/ssh_keys.hpp"
#include "pie/auth/ssh_key.hpp"
#include "support/process.hpp"

namespace {

using namespace std::chrono_literals;
using pg::config::load_file;
using pg::config::load_string;
using pg::config::PieAuth;

class ConfigPieClientTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = pg::test::temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes dir/gateway.yaml = one server with `auth_yaml` (flow map), plus `extra`; loads it.
  pg::Result<pg::config::Config> load(const std::string& auth_yaml, const std::string& extra = "") {
    pg::test::write_file(dir_ + "/gateway.yaml", "servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\n    auth: " +
                                                     auth_yaml + "\n" + extra);
    return load_file(dir_ + "/gateway.yaml");
  }
  std::string yaml() const { return dir_ + "/gateway.yaml"; }

  std::string dir_;
};

TEST_F(ConfigPieClientTest, KeyFileLoadsTheKey) {
  pg::test::keygen(dir_, "id_ed25519", "ed25519");
  auto c = load("{kind: key, username: alice, key_file: " + dir_ + "/id_ed25519}");
  ASSERT_TRUE(c) << c.error();
  const auto& a = c->servers[0].auth;
  EXPECT_EQ(a.kind, PieAuth::Kind::Key);
  EXPECT_EQ(a.username, "alice");
  EXPECT_EQ(a.key_file, dir_ + "/id_ed25519");
  ASSERT_TRUE(a.key);
  EXPECT_EQ(a.key->type(), "ssh-ed25519");
  EXPECT_EQ(a.key->fingerprint(), pg::test::fingerprint(dir_ + "/id_ed25519"));
}

TEST_F(ConfigPieClientTest, KeyFileIsRelativeToTheConfigDirAndImpliesKindKey) {
  std::filesystem::create_directory(dir_ + "/keys");
  pg::test::keygen(dir_ + "/keys", "id", "ecdsa -b 256");
  auto c = load("{username: alice, key_file: keys/id}");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->servers[0].auth.kind, PieAuth::Kind::Key);
  EXPECT_EQ(c->servers[0].auth.key_file, dir_ + "/keys/id");
}

TEST_F(ConfigPieClientTest, KeyFileErrorsNameFileLineAndField) {
  pg::test::keygen(dir_, "id", "ed25519");
  pg::test::chmod_file(dir_ + "/id", 0644);
  auto c = load("{kind: key, username: alice, key_file: " + dir_ + "/id}");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), yaml() + ":4:50: servers[0].auth.key_file: '" + dir_ + "/id' has mode 0644: a private key "
                       "must not be accessible by group or others (chmod 600 '" + dir_ + "/id')");

  auto missing = load("{kind: key, username: alice, key_file: nope}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(),
            yaml() + ":4:50: servers[0].auth.key_file: '" + dir_ + "/nope': No such file or directory");

  auto no_file = load("{kind: key, username: alice}");
  ASSERT_FALSE(no_file);
  EXPECT_NE(no_file.error().find("servers[0].auth.key_file: is required for kind 'key'"), std::string::npos)
      << no_file.error();

  auto no_user = load("{kind: key, key_file: nope}");
  ASSERT_FALSE(no_user);
  EXPECT_NE(no_user.error().find("servers[0].auth.username: is required"), std::string::npos) << no_user.error();

  pg::test::keygen(dir_, "weak", "rsa -b 1024");
  auto weak = load("{kind: key, username: alice, key_file: weak}");
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().find("servers[0].auth.key_file: '" + dir_ + "/weak' is an RSA key of 1024 bits"),
            std::string::npos)
      << weak.error();
}

TEST_F(ConfigPieClientTest, KeyOptionsBelongToKindKey) {
  auto c = load("{kind: username, username: alice, key_file: id}");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("servers[0].auth.key_file: only kind 'key' takes key_file (kind is 'username')"),
            std::string::npos)
      << c.error();
}

TEST_F(ConfigPieClientTest, PassphraseFromFileOrEnvironmentNeverInline) {
  pg::test::keygen(dir_, "enc", "ecdsa -b 256", "PEM", "s3cret pass");
  pg::test::write_file(dir_ + "/pass", "s3cret pass\n");
  auto from_file = load("{kind: key, username: alice, key_file: enc, passphrase_file: pass}");
  ASSERT_TRUE(from_file) << from_file.error();
  EXPECT_TRUE(from_file->servers[0].auth.key);

  ::setenv("PG_TEST_KEY_PASS", "wrong", 1);
  auto wrong = load("{kind: key, username: alice, key_file: enc, passphrase_env: PG_TEST_KEY_PASS}");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().find("servers[0].auth.key_file: '" + dir_ +
                               "/enc' cannot be decrypted with the given passphrase (wrong passphrase?)"),
            std::string::npos)
      << wrong.error();
  ::setenv("PG_TEST_KEY_PASS", "s3cret pass", 1);
  auto right = load("{kind: key, username: alice, key_file: enc, passphrase_env: PG_TEST_KEY_PASS}");
  EXPECT_TRUE(right) << right.error();
  ::unsetenv("PG_TEST_KEY_PASS");

  auto none = load("{kind: key, username: alice, key_file: enc}");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("is encrypted and no passphrase was given (set passphrase_file or passphrase_env)"),
            std::string::npos)
      << none.error();

  auto inline_secret = load("{kind: key, username: alice, key_file: enc, passphrase: s3cret}");
  ASSERT_FALSE(inline_secret);
  EXPECT_NE(inline_secret.error().find("servers[0].auth.passphrase: secrets must not be written in the config: use "
                                       "passphrase_file or passphrase_env"),
            std::string::npos)
      << inline_secret.error();
  EXPECT_EQ(inline_secret.error().find("s3cret"), std::string::npos) << "the secret leaked into the error";
}

// ---- programs: ------------------------------------------------------------------------------

TEST_F(ConfigPieClientTest, ProgramsAreCheckedAndRelativeToTheConfigDir) {
  std::filesystem::create_directory(dir_ + "/hello");
  pg::test::write_file(dir_ + "/hello/hello.wasm", std::string("\0asm\1\0\0\0", 8));
  pg::test::write_file(dir_ + "/hello/Pie.toml", "[package]\nname = \"lab/hello\"\nversion = \"0.2.0\"\n");
  auto c = load("{kind: none}", "programs:\n  - {wasm: hello/hello.wasm, manifest: hello/Pie.toml}\n");
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->programs.size(), 1u);
  EXPECT_EQ(c->programs[0].name, "lab/hello");
  EXPECT_EQ(c->programs[0].version, "0.2.0");
  EXPECT_EQ(c->programs[0].wasm, dir_ + "/hello/hello.wasm");
  EXPECT_EQ(c->programs[0].manifest, dir_ + "/hello/Pie.toml");
}

TEST_F(ConfigPieClientTest, BadProgramsAreRefusedPrecisely) {
  pg::test::write_file(dir_ + "/p.wasm", "x");
  const auto with_manifest = [&](const std::string& toml) {
    pg::test::write_file(dir_ + "/Pie.toml", toml);
    return load("{kind: none}", "programs:\n  - wasm: p.wasm\n    manifest: Pie.toml\n");
  };
  const std::string at = yaml() + ":7:15: programs[0].manifest: " + dir_ + "/Pie.toml";

  auto syntax = with_manifest("[package]\nname = lab/hello\n");
  ASSERT_FALSE(syntax);
  EXPECT_TRUE(syntax.error().starts_with(at + ":2:8: invalid TOML: ")) << syntax.error();

  auto no_package = with_manifest("name = \"a/b\"\n");
  ASSERT_FALSE(no_package);
  EXPECT_EQ(no_package.error(), at + ": has no [package] table");

  auto bad_name = with_manifest("[package]\nname = \"hello\"\nversion = \"1.0.0\"\n");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error(), at + ": package.name 'hello' must be \"namespace/name\" (no '@', '#', '+' or spaces)");

  auto no_version = with_manifest("[package]\nname = \"lab/hello\"\n");
  ASSERT_FALSE(no_version);
  EXPECT_EQ(no_version.error(), at + ": package.version is missing or not a string");

  pg::test::write_file(dir_ + "/Pie.toml", "[package]\nname = \"lab/hello\"\nversion = \"1.0.0\"\n");
  auto no_wasm = load("{kind: none}", "programs:\n  - {wasm: gone.wasm, manifest: Pie.toml}\n");
  ASSERT_FALSE(no_wasm);
  EXPECT_EQ(no_wasm.error(), yaml() + ":6:12: programs[0].wasm: '" + dir_ + "/gone.wasm' does not exist");

  auto dup = load("{kind: none}", "programs:\n  - {wasm: p.wasm, manifest: Pie.toml}\n  - {wasm: p.wasm, manifest: Pie.toml}\n");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), yaml() + ":7:5: programs[1]: program lab/hello@1.0.0 is already listed on line 6");

  auto unknown = load("{kind: none}", "programs:\n  - {wasm: p.wasm, manifest: Pie.toml, name: x}\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("programs[0].name: unknown field"), std::string::npos) << unknown.error();
}

// ---- endpoints' fanout: ------------------------------------------------------------------------

TEST_F(ConfigPieClientTest, FanoutIsAllOrACount) {
  const auto with = [&](const std::string& ep) {
    return load("{kind: none}", "endpoints:\n  - {name: e, kind: get, inferlet: std/echo@0.1.0, " + ep + "}\n");
  };
  auto all = with("fanout: all");
  ASSERT_TRUE(all) << all.error();
  EXPECT_EQ(all->endpoints[0].fanout, pg::config::Endpoint::kFanoutAll);
  auto three = with("fanout: 3");
  ASSERT_TRUE(three) << three.error();
  EXPECT_EQ(three->endpoints[0].fanout, 3u);
  auto none = with("async: true");
  ASSERT_TRUE(none) << none.error();
  EXPECT_EQ(none->endpoints[0].fanout, 0u);
  for (const char* bad : {"0", "many", "1001", "-1", "2.5"}) {
    auto c = with(std::string("fanout: ") + bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error(), yaml() + ":6:60: endpoints[0].fanout: must be all or a number of servers from 1 to 1000 (got '" +
                             bad + "')");
  }
  auto raw = with("fanout: all, content_type: text/html");
  ASSERT_FALSE(raw);
  EXPECT_NE(raw.error().find("endpoints[0].fanout: a fan-out endpoint answers a JSON list: it cannot also have content_type"),
            std::string::npos)
      << raw.error();
}

TEST_F(ConfigPieClientTest, CheckConfigReportsKeyAndProgramErrors) {
  pg::test::keygen(dir_, "id", "ed25519");
  pg::test::chmod_file(dir_ + "/id", 0640);
  pg::test::write_file(dir_ + "/Pie.toml", "[package]\nversion = \"1.0.0\"\n");
  pg::test::write_file(dir_ + "/gateway.yaml",
                       "servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\n    auth: {username: alice, key_file: id}\n"
                       "programs:\n  - {wasm: p.wasm, manifest: Pie.toml}\n");
  pg::test::Process p({pg::test::binary_path("pie-gateway"), "--check-config", "--config", yaml()},
                      dir_ + "/err.log");
  EXPECT_EQ(p.wait(10s), 2);
  std::ifstream in(dir_ + "/err.log");
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(err.find(yaml() + ":4:39: servers[0].auth.key_file: '" + dir_ + "/id' has mode 0640"), std::string::npos)
      << err;
  EXPECT_NE(err.find(yaml() + ":6:12: programs[0].wasm: '" + dir_ + "/p.wasm' does not exist"), std::string::npos)
      << err;
  EXPECT_NE(err.find(yaml() + ":6:30: programs[0].manifest: " + dir_ + "/Pie.toml: package.name is missing"),
            std::string::npos)
      << err;
}

}  // namespace
