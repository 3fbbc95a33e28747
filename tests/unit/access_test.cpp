// access/: credentials, identities, roles, rates and the slow-down of failing addresses; the
// access: config section and its clients file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "access/access.hpp"
#include "access/credentials.hpp"
#include "access/token.hpp"
#include "config/access_section.hpp"
#include "config/loader.hpp"
#include "value/base64.hpp"

using namespace std::chrono_literals;
using pg::access::Access;
using pg::access::Caller;
using pg::access::Credential;
using pg::access::Denial;

namespace {

pg::config::AccessClient client(std::string name, const std::string& token, std::vector<std::string> roles = {}) {
  pg::config::AccessClient c;
  c.name = std::move(name);
  c.token_sha256 = pg::access::sha256(token);
  c.roles = std::move(roles);
  return c;
}

pg::config::Access two_clients() {
  pg::config::Access a;
  a.enabled = true;
  a.clients.push_back(client("alice", "tok-alice"));
  a.clients.push_back(client("root", "tok-root", {"admin"}));
  return a;
}

std::string basic(const std::string& user_pass) { return "Basic " + pg::base64_encode(user_pass); }

Caller caller_of(const Access::Outcome& o) {
  EXPECT_TRUE(std::holds_alternative<Caller>(o)) << std::get<Denial>(o).message;
  return std::get<Caller>(o);
}

}  // namespace

TEST(AccessTokens, NewTokensAreDistinctUrlSafeAndHashToTheirEntry) {
  auto a = pg::access::new_token(), b = pg::access::new_token();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 47u);
  EXPECT_EQ(a.substr(0, 4), "pgt_");
  EXPECT_EQ(a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"), std::string::npos) << a;
  EXPECT_EQ(pg::access::to_hex(pg::access::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(pg::access::same_secret("abc", "abc"));
  EXPECT_FALSE(pg::access::same_secret("abc", "abd"));
  EXPECT_FALSE(pg::access::same_secret("abc", "ab"));
}

TEST(AccessCredentials, BearerAndBasicCarryTheTokenAnythingElseIsMalformed) {
  EXPECT_EQ(pg::access::parse_authorization("").kind, Credential::Kind::None);
  auto b = pg::access::parse_authorization("Bearer tok-1");
  EXPECT_EQ(b.kind, Credential::Kind::Token);
  EXPECT_EQ(b.token, "tok-1");
  EXPECT_EQ(pg::access::parse_authorization("bearer  tok-1 ").token, "tok-1");
  auto basic_cred = pg::access::parse_authorization(basic("anyone:tok:with:colons"));
  EXPECT_EQ(basic_cred.kind, Credential::Kind::Token);
  EXPECT_EQ(basic_cred.token, "tok:with:colons") << "the password is everything after the first ':'";
  for (const std::string& bad : std::vector<std::string>{"Bearer", "Bearer \x01", "Digest x", "Basic !!!", basic("no-colon"),
                                                         basic("user:"), "Bearer " + std::string(5000, 'a')}) {
    auto c = pg::access::parse_authorization(bad);
    EXPECT_EQ(c.kind, Credential::Kind::Malformed) << bad;
    EXPECT_TRUE(c.token.empty());
  }
}

TEST(AccessIdentity, OffMeansEveryoneIsTheOpenCallerWhoMayDoEverything) {
  Access acc(pg::config::Access{});
  const Caller c = caller_of(acc.authenticate({"Bearer whatever", "", "10.0.0.1:1"}));
  EXPECT_TRUE(c.id->open);
  EXPECT_TRUE(c.admin());
  EXPECT_EQ(c.owner(), "");
  EXPECT_FALSE(acc.authorize(c, {"ops"}, "endpoint 'x'"));
  EXPECT_FALSE(acc.charge(c));
}

TEST(AccessIdentity, TokensBasicAndCertificatesNameClientsWrongOnesAre401) {
  Access acc(two_clients());
  EXPECT_EQ(caller_of(acc.authenticate({"Bearer tok-alice", "", "10.0.0.1:1"})).name(), "alice");
  EXPECT_EQ(caller_of(acc.authenticate({basic("x:tok-root"), "", "10.0.0.1:1"})).name(), "root");
  EXPECT_TRUE(caller_of(acc.authenticate({"Bearer tok-root", "", ""})).admin());
  EXPECT_EQ(caller_of(acc.authenticate({"", "alice", "10.0.0.1:1"})).name(), "alice") << "a verified CN";
  for (std::string bad : {"", "Bearer tok-bob", "Digest x"}) {
    auto o = acc.authenticate({bad, "", "10.0.0.1:1"});
    ASSERT_TRUE(std::holds_alternative<Denial>(o)) << bad;
    const auto& d = std::get<Denial>(o);
    EXPECT_EQ(d.http_status(), 401);
    EXPECT_EQ(d.type, "Unauthorized");
    EXPECT_EQ(d.message.find("tok-bob"), std::string::npos) << "never echo a credential: " << d.message;
  }
  auto cn = acc.authenticate({"", "mallory", "10.0.0.1:1"});
  ASSERT_TRUE(std::holds_alternative<Denial>(cn));
  EXPECT_NE(std::get<Denial>(cn).message.find("mallory"), std::string::npos);
  auto wrong_token_good_cn = acc.authenticate({"Bearer nope", "alice", "10.0.0.1:1"});
  EXPECT_TRUE(std::holds_alternative<Denial>(wrong_token_good_cn)) << "a wrong token is never overridden";
}

TEST(AccessIdentity, AnonymousRolesServeCallersWithoutACredentialButNotWrongOnes) {
  auto cfg = two_clients();
  cfg.anonymous_roles = {"public"};
  Access acc(cfg);
  const Caller anon = caller_of(acc.authenticate({"", "", "10.0.0.1:1"}));
  EXPECT_TRUE(anon.id->anonymous);
  EXPECT_EQ(anon.owner(), pg::access::kAnonymous);
  EXPECT_FALSE(acc.authorize(anon, {"public"}, "e"));
  auto d = acc.authorize(anon, {}, "endpoint 'e'");
  ASSERT_TRUE(d) << "an endpoint without allow: needs an authenticated client";
  EXPECT_EQ(d->http_status(), 403);
  EXPECT_TRUE(std::holds_alternative<Denial>(acc.authenticate({"Bearer wrong", "", "10.0.0.1:1"})));
}

TEST(AccessAuthorization, AllowListsNameRolesOrClientsAdminAlwaysPasses) {
  auto cfg = two_clients();
  cfg.clients.push_back(client("bob", "tok-bob", {"ops"}));
  Access acc(cfg);
  const Caller alice = caller_of(acc.authenticate({"Bearer tok-alice", "", ""}));
  const Caller bob = caller_of(acc.authenticate({"Bearer tok-bob", "", ""}));
  const Caller root = caller_of(acc.authenticate({"Bearer tok-root", "", ""}));
  EXPECT_FALSE(acc.authorize(alice, {}, "e"));
  EXPECT_TRUE(acc.authorize(alice, {"ops"}, "e"));
  EXPECT_FALSE(acc.authorize(bob, {"ops"}, "e"));
  EXPECT_FALSE(acc.authorize(alice, {"ops", "alice"}, "e"));
  EXPECT_FALSE(acc.authorize(root, {"ops"}, "e"));
  EXPECT_TRUE(acc.require_admin(bob, "gateway/daemons"));
  EXPECT_FALSE(acc.require_admin(root, "gateway/daemons"));
  EXPECT_TRUE(Access::may_see(alice, "alice"));
  EXPECT_FALSE(Access::may_see(alice, "bob"));
  EXPECT_TRUE(Access::may_see(root, "bob"));
}

TEST(AccessRates, ABucketRefusesPastItsBurstWithRetryAfterAndRefillsOverTime) {
  auto cfg = two_clients();
  cfg.clients[0].rate = {2, 3};  // alice: 2/s, 3 at once
  Access acc(cfg);
  const Caller alice = caller_of(acc.authenticate({"Bearer tok-alice", "", ""}));
  const Caller root = caller_of(acc.authenticate({"Bearer tok-root", "", ""}));
  auto t0 = pg::access::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(acc.charge(alice, t0)) << i;
  auto refused = acc.charge(alice, t0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->http_status(), 429);
  EXPECT_EQ(refused->retry_after, 500ms);
  EXPECT_FALSE(acc.charge(root, t0)) << "another client's calls are unaffected";
  EXPECT_FALSE(acc.charge(alice, t0 + 600ms)) << "refilled";
  EXPECT_TRUE(acc.charge(alice, t0 + 600ms));
  acc.configure(cfg);
  EXPECT_TRUE(acc.charge(alice, t0 + 600ms)) << "a reload keeps what was spent";
}

TEST(AccessFailures, AnAddressThatKeepsFailingIsSlowedDownOthersAreNot) {
  auto cfg = two_clients();
  cfg.free_failures = 3;
  cfg.max_delay = 1s;
  Access acc(cfg);
  auto t = pg::access::Clock::now();
  std::chrono::milliseconds last{};
  for (int i = 1; i <= 10; ++i) {
    auto o = acc.authenticate({"Bearer guess" + std::to_string(i), "", "10.0.0.9:4000"}, t);
    last = std::get<Denial>(o).delay;
    if (i <= 3) {
      EXPECT_EQ(last, 0ms) << i;
    }
  }
  EXPECT_EQ(last, 1s) << "doubling from 100 ms, capped at max_delay";
  EXPECT_EQ(std::get<Denial>(acc.authenticate({"Bearer guess", "", "10.0.0.8:4000"}, t)).delay, 0ms);
  EXPECT_EQ(caller_of(acc.authenticate({"Bearer tok-alice", "", "10.0.0.9:4001"}, t)).name(), "alice")
      << "a right token from that address is not delayed";
  EXPECT_EQ(std::get<Denial>(acc.authenticate({"Bearer x", "", "10.0.0.9:4000"}, t + 61s)).delay, 0ms)
      << "the window slides";
  EXPECT_EQ(std::get<Denial>(acc.authenticate({"", "", "10.0.0.7:1"}, t)).delay, 0ms) << "a missing credential is not a guess";
}

TEST(AccessFailures, TheTrackedAddressesAreBounded) {
  pg::access::FailureThrottle th;
  auto t = pg::access::Clock::now();
  for (std::size_t i = 0; i < pg::access::FailureThrottle::kMaxAddresses + 500; ++i)
    th.fail("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255), t);
  EXPECT_LE(th.tracked(), pg::access::FailureThrottle::kMaxAddresses);
  EXPECT_EQ(pg::access::address_only("[::1]:8080"), "::1");
  EXPECT_EQ(pg::access::address_only("10.1.2.3:99"), "10.1.2.3");
}

namespace {
struct TempDir {
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("pg-access-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  std::filesystem::path path;
  static inline int counter = 0;
};

const std::string kHashA = pg::access::to_hex(pg::access::sha256("tok-a"));

std::string config_with(const std::string& access, const std::string& endpoint_extra = "") {
  return "servers: [{name: s, uri: 'ws://127.0.0.1:9/'}]\n" + access +
         "endpoints:\n  - {name: echo, kind: get, inferlet: 'std/echo@0.1.0'" + endpoint_extra + "}\n";
}
}  // namespace

TEST(AccessConfig, ClientsFileIsReadWithRolesRatesAndAllowLists) {
  TempDir d;
  d.write("clients.yaml", "clients:\n  - {name: alice, token_sha256: " + kHashA +
                              ", roles: [ops], rate: {per_second: 5, burst: 10}, max_live_jobs: 7}\n  - {name: cert-only, roles: admin}\n");
  auto cfg = d.write("g.yaml", config_with("access: {clients_file: clients.yaml, anonymous: [ops]}\n", ", allow: [ops, alice]"));
  auto c = pg::config::load_file(cfg);
  ASSERT_TRUE(c) << c.error();
  ASSERT_TRUE(c->access.enabled);
  ASSERT_EQ(c->access.clients.size(), 2u);
  const auto& a = c->access.clients[0];
  EXPECT_EQ(a.token_sha256, pg::access::sha256("tok-a"));
  EXPECT_EQ(a.roles, std::vector<std::string>{"ops"});
  EXPECT_EQ(a.rate.per_second, 5);
  EXPECT_EQ(a.rate.burst, 10);
  EXPECT_EQ(a.max_live_jobs, 7u);
  EXPECT_TRUE(c->access.clients[1].token_sha256.empty());
  EXPECT_EQ(c->access.anonymous_roles, std::vector<std::string>{"ops"});
  EXPECT_EQ(c->endpoints[0].allow, (std::vector<std::string>{"ops", "alice"}));
}

TEST(AccessConfig, ErrorsNameTheClientsFileLineAndField) {
  TempDir d;
  struct Case {
    std::string clients, expect;
  };
  for (const auto& [clients, expect] : std::vector<Case>{
           {"clients:\n  - {name: alice, token_sha256: tok-a}\n", "clients.yaml:2:"},
           {"clients:\n  - {name: alice, token_sha256: tok-a}\n", "clients[0].token_sha256: must be the 64 hex digits"},
           {"clients:\n  - {name: 'a b'}\n", "clients[0].name: 'a b' is not a client name"},
           {"clients:\n  - {name: a}\n  - {name: a}\n", "client 'a' is already declared on line 2"},
           {"clients:\n  - {name: a, rate: {per_second: 0}}\n", "clients[0].rate.per_second: must be a number above 0"},
           {"clients:\n  - {name: a, colour: red}\n", "clients[0].colour: unknown field"},
           {"users: []\n", "(top level).users: unknown field"},
       }) {
    d.write("clients.yaml", clients);
    auto c = pg::config::load_file(d.write("g.yaml", config_with("access: {clients_file: clients.yaml}\n")));
    ASSERT_FALSE(c) << clients;
    EXPECT_NE(c.error().find(expect), std::string::npos) << c.error();
    EXPECT_EQ(c.error().find("tok-a"), std::string::npos) << "a token pasted by mistake is not echoed: " << c.error();
  }
  d.write("clients.yaml", "clients: [{name: a, token_sha256: " + kHashA + "}]\n");
  for (const auto& [access, extra, expect] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"access: {clients_file: missing.yaml}\n", "", "missing.yaml: cannot read the clients file"},
           {"access: {}\n", "", "access.clients_file: is required"},
           {"access: {clients_file: clients.yaml, anonymous: [admin]}\n", "", "access.anonymous: must not grant admin"},
           {"access: {clients_file: clients.yaml}\n", ", allow: [opps]", "'opps' names no client and no role"},
           {"", ", allow: [a]", "allow: needs an `access:` section"},
       }) {
    auto c = pg::config::load_file(d.write("g.yaml", config_with(access, extra)));
    ASSERT_FALSE(c) << access << extra;
    EXPECT_NE(c.error().find(expect), std::string::npos) << c.error();
  }
}
