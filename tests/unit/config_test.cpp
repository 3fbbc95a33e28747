#include <gtest/gtest.h>

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
