#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "config/loader.hpp"
#include "support/process.hpp"

using pg::config::load_string;

namespace {

const char* kMinimal = R"(
servers:
  - name: a
    uri: ws://127.0.0.1:9000/
endpoints:
  - name: echo
    kind: get
    inferlet: std/echo@0.1.0
    params:
      - name: text
    arguments: ["{text}"]
)";

std::string with_endpoint(const std::string& ep) {
  return std::string("servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\nendpoints:\n") + ep;
}

}  // namespace

TEST(Config, MinimalIsValidWithDefaults) {
  auto c = load_string(kMinimal, "t.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.host, "127.0.0.1");
  EXPECT_EQ(c->http.port, 8080);
  ASSERT_EQ(c->servers.size(), 1u);
  EXPECT_EQ(c->servers[0].host, "127.0.0.1");
  EXPECT_EQ(c->servers[0].port, 9000);
  EXPECT_EQ(c->servers[0].path, "/");
  ASSERT_EQ(c->endpoints.size(), 1u);
  EXPECT_EQ(c->endpoints[0].timeout.count(), 30000);
  EXPECT_EQ(c->endpoints[0].result, pg::config::ResultSource::Return);
}

TEST(Config, ShippedConfigIsValid) {
  auto c = pg::config::load_file(std::string(PG_SOURCE_DIR) + "/config/gateway.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.port, 8080);
  EXPECT_GE(c->endpoints.size(), 3u);
}

TEST(Config, YamlSyntaxErrorNamesFileAndLine) {
  auto c = load_string("servers:\n  - name: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("bad.yaml:"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("YAML syntax error"), std::string::npos) << c.error();
}

TEST(Config, UnknownFieldNamesLineAndField) {
  auto c = load_string(with_endpoint("  - name: e\n    kind: get\n    inferlet: x\n    timout: 5s\n"), "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("f.yaml:8:5: endpoints[0].timout: unknown field"), std::string::npos) << c.error();
}

TEST(Config, ReportsEveryErrorAtOnce) {
  auto c = load_string(with_endpoint("  - name: e\n    kind: put\n    inferlet: x\n    timeout: soon\n"
                                     "    result: everything\n"),
                       "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("f.yaml:6:11: endpoints[0].kind: must be one of get, post, rpc, asyncrpc, session (got 'put')"), std::string::npos)
      << c.error();
  EXPECT_NE(c.error().find("endpoints[0].timeout: invalid duration 'soon'"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("endpoints[0].result: must be one of return, stdout"), std::string::npos) << c.error();
}

TEST(Config, PlaceholderMustNameAParameter) {
  auto c = load_string(with_endpoint("  - name: e\n    kind: get\n    inferlet: x\n    arguments: [\"{txt}\"]\n"), "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("f.yaml:8:17: endpoints[0].arguments[0]: placeholder {txt} names no declared parameter"),
            std::string::npos)
      << c.error();
}

TEST(Config, BadTemplateSyntax) {
  auto c = load_string(with_endpoint("  - name: e\n    kind: get\n    inferlet: x\n    arguments: [\"{a\"]\n"), "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("unclosed '{'"), std::string::npos) << c.error();
}

TEST(Config, MissingRequiredFields) {
  auto c = load_string(with_endpoint("  - kind: get\n"), "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("endpoints[0].name: is required"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("endpoints[0].inferlet: is required"), std::string::npos) << c.error();
}

TEST(Config, DuplicateEndpointOfSameKind) {
  auto c = load_string(with_endpoint("  - {name: e, kind: get, inferlet: x}\n  - {name: e, kind: get, inferlet: y}\n"
                                     "  - {name: e, kind: post, inferlet: y}\n"),
                       "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("endpoint 'e' of kind get clashes with the get endpoint of that name on line 5"), std::string::npos)
      << c.error();
  EXPECT_EQ(c.error().find("of kind post"), std::string::npos) << c.error();
  auto rpc = load_string(with_endpoint("  - {name: e, kind: post, inferlet: x}\n  - {name: e, kind: asyncrpc, inferlet: y}\n"), "f.yaml");
  ASSERT_FALSE(rpc);
  EXPECT_NE(rpc.error().find("kind asyncrpc clashes with the post endpoint"), std::string::npos) << rpc.error();
}

TEST(Config, NoServers) {
  auto c = load_string("endpoints: []\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("servers: is missing"), std::string::npos) << c.error();
}

TEST(Config, BadServerUriAndAuth) {
  auto c = load_string("servers:\n  - name: a\n    uri: http://x:1/\n    auth: {kind: password}\n"
                       "  - name: b\n    uri: ws://host-without-port/\n",
                       "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("servers[0].uri: must start with ws://"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("servers[0].auth.kind: must be one of none, token, username"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("servers[1].uri: must name host and port"), std::string::npos) << c.error();
}

TEST(Config, InlineTokenIsRefused) {
  auto c = load_string("servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    auth: {kind: token, token: hunter2}\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("secrets must not be written in the config"), std::string::npos) << c.error();
  EXPECT_EQ(c.error().find("hunter2"), std::string::npos) << "the secret itself must not be echoed";
}

TEST(Config, TokenFromFileAndEnv) {
  auto dir = pg::test::temp_dir();
  pg::test::write_file(dir + "/tok", "s3cret\n");
  ::setenv("PG_TEST_TOKEN", "from-env", 1);
  auto c = load_string("servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    auth: {kind: token, token_file: " + dir +
                           "/tok}\n  - name: b\n    uri: ws://127.0.0.1:2/\n    auth: {kind: token, token_env: PG_TEST_TOKEN}\n",
                       "f.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->servers[0].auth.token, "s3cret");
  EXPECT_EQ(c->servers[1].auth.token, "from-env");
  auto missing = load_string("servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    auth: {kind: token, token_env: PG_NOT_SET_XYZ}\n", "f.yaml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("environment variable 'PG_NOT_SET_XYZ' is not set"), std::string::npos);
}

TEST(Config, ListenAddress) {
  auto c = load_string(std::string("listen: {http: \"[::1]:0\"}\n") + kMinimal, "f.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.host, "::1");
  EXPECT_EQ(c->http.port, 0);
  auto bad = load_string(std::string("listen: {http: \"localhost\"}\n") + kMinimal, "f.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("listen.http: expected host:port"), std::string::npos) << bad.error();
}

TEST(Config, Durations) {
  using pg::config::parse_duration;
  EXPECT_EQ(parse_duration("500ms")->count(), 500);
  EXPECT_EQ(parse_duration("30s")->count(), 30000);
  EXPECT_EQ(parse_duration("2m")->count(), 120000);
  EXPECT_EQ(parse_duration("1.5")->count(), 1500);
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("10 parsecs"));
  EXPECT_FALSE(parse_duration("1e300h"));
}

// ---- input that cannot be read safely (issue 14, item 5) ----------------------------------

namespace {

std::string token_server(const std::string& token_file) {
  return "servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    auth: {kind: token, token_file: " + token_file + "}\n";
}

}  // namespace

TEST(Config, SecretFilesMustBeRegularAndSmall) {
  auto dev = load_string(token_server("/dev/zero"), "f.yaml");
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().find("f.yaml:4:37: servers[0].auth.token_file: '/dev/zero' is not a regular file (a character "
                             "device): only a regular file of at most 64 KiB is read"),
            std::string::npos)
      << dev.error();

  auto dir = pg::test::temp_dir();
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  auto fifo = load_string(token_server(dir + "/fifo"), "f.yaml");  // returns: no writer is waited for
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().find("is not a regular file (a FIFO)"), std::string::npos) << fifo.error();

  auto directory = load_string(token_server(dir), "f.yaml");
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().find("is not a regular file (a directory)"), std::string::npos) << directory.error();

  pg::test::write_file(dir + "/big", std::string(70000, 'x'));
  auto big = load_string(token_server(dir + "/big"), "f.yaml");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().find("'" + dir + "/big' is 70000 bytes: at most 65536 bytes (64 KiB) are read"),
            std::string::npos)
      << big.error();

  // A key's passphrase is a secret file too.
  auto pass = load_string("servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    auth: {kind: key, username: u, "
                          "key_file: " + dir + "/big, passphrase_file: /dev/zero}\n",
                          "f.yaml");
  ASSERT_FALSE(pass);
  EXPECT_NE(pass.error().find("servers[0].auth.passphrase_file: '/dev/zero' is not a regular file"), std::string::npos)
      << pass.error();
}

TEST(Config, ConfigFileMustBeRegular) {
  auto c = pg::config::load_file("/dev/zero");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("/dev/zero: cannot read the configuration file: '/dev/zero' is not a regular file"),
            std::string::npos)
      << c.error();
}

TEST(Config, DuplicateKeyNamesBothLines) {
  auto c = load_string(std::string(kMinimal) + "cluster: {ping_interval: 1s}\ncluster:\n  ping_interval: 2s\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("f.yaml:13:1: cluster: duplicate key: 'cluster' is already set on line 12"),
            std::string::npos)
      << c.error();
  auto nested = load_string("servers:\n  - name: a\n    uri: ws://127.0.0.1:1/\n    name: b\n", "f.yaml");
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().find("f.yaml:4:5: servers[0].name: duplicate key: 'name' is already set on line 2"),
            std::string::npos)
      << nested.error();
}

TEST(Config, SecondDocumentIsRefused) {
  auto c = load_string(std::string(kMinimal) + "---\nservers: []\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("f.yaml:13:1: (document): a second YAML document"), std::string::npos) << c.error();
}

TEST(Config, NestingAndAliasBombsAreBounded) {
  auto deep = load_string("a: " + std::string(100, '[') + std::string(100, ']') + "\n", "f.yaml");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().find("nested deeper than 64 levels"), std::string::npos) << deep.error();
  // Each level uses the previous one ten times: a million values from a few lines.
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 6; ++i) {
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *l" : "*l") + std::to_string(i - 1);
    bomb += "]\n";
  }
  auto b = load_string(bomb, "f.yaml");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("the document has more than 200000 values"), std::string::npos) << b.error();
}

TEST(Config, DurationsOutsideTheirRangeAreRefused) {
  auto c = load_string(std::string("limits: {read_timeout: 0s, idle_timeout: 0}\ncluster: {ping_timeout: 0s}\n") +
                           kMinimal + "    timeout: 1000h\n",
                       "f.yaml");
  ASSERT_FALSE(c);
  const auto& e = c.error();
  EXPECT_NE(e.find("f.yaml:1:24: limits.read_timeout: must be from 100ms to 1h (got '0s')"), std::string::npos) << e;
  EXPECT_NE(e.find("limits.idle_timeout: must be from 100ms to 24h (got '0')"), std::string::npos) << e;
  EXPECT_NE(e.find("cluster.ping_timeout: must be from 100ms to 1h (got '0s')"), std::string::npos) << e;
  EXPECT_NE(e.find("endpoints[0].timeout: must be from 10ms to 24h (got '1000h')"), std::string::npos) << e;
}
