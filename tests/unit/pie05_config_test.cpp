// Pie 0.5 in the configuration: servers' protocol/identity and their defaults, endpoints'
// launch_input and the 0.5 input a call binds to, and the load-time checks that every endpoint,
// daemon and program can run on the 0.5 servers it targets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "endpoints/registry.hpp"

using pg::config::load_string;
using pg::config::PieServer;
using pg::endpoints::Registry;
using json = nlohmann::json;

namespace {

std::string error_of(const std::string& yaml) {
  auto c = load_string(yaml, "t.yaml");
  return c ? std::string("(loaded)") : c.error();
}

std::string server(const std::string& extra) {
  return "servers:\n  - name: edge\n    uri: ws://127.0.0.1:9000\n" + extra;
}

const char* kV05 = "servers:\n  - {name: edge, uri: \"ws://127.0.0.1:9000\", protocol: \"0.5\"}\n";

Registry registry_of(const std::string& yaml) {
  auto c = load_string(yaml, "t.yaml");
  EXPECT_TRUE(c) << c.error();
  if (!c) return *Registry::build({});
  auto r = Registry::build(c->endpoints);
  EXPECT_TRUE(r) << r.error();
  return std::move(*r);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The shipped config/gateway.yaml with its one server entry switched to protocol 0.5.
std::string shipped_as_v05() {
  std::string text = read_file(std::string(PG_SOURCE_DIR) + "/config/gateway.yaml");
  const std::string uri = "    uri: ws://127.0.0.1:9123/\n";
  const auto at = text.find(uri);
  EXPECT_NE(at, std::string::npos) << "the shipped server entry moved: update this test";
  if (at != std::string::npos) text.insert(at + uri.size(), "    protocol: \"0.5\"\n");
  return text;
}

}  // namespace

// ---- servers ----------------------------------------------------------------------------------

TEST(Pie05Config, DefaultsTo02) {
  auto c = load_string(server("endpoints: []\n"), "t.yaml");
  ASSERT_TRUE(c) << c.error();
  const auto& s = c->servers[0];
  EXPECT_EQ(s.protocol, PieServer::Protocol::V02);
  EXPECT_EQ(s.path, "/");
  EXPECT_EQ(s.max_instances, 0u) << "0.2: no cap";
  EXPECT_EQ(s.identity, "default/pie-gateway");
}

TEST(Pie05Config, ProtocolQuotedOrPlain) {
  for (const char* p : {"\"0.5\"", "0.5", "'0.5'"}) {
    auto c = load_string(server("    protocol: " + std::string(p) + "\n"), "t.yaml");
    ASSERT_TRUE(c) << p << ": " << c.error();
    EXPECT_EQ(c->servers[0].protocol, PieServer::Protocol::V05) << p;
  }
  for (const char* p : {"\"0.2\"", "0.2"}) {
    auto c = load_string(server("    protocol: " + std::string(p) + "\n"), "t.yaml");
    ASSERT_TRUE(c) << p << ": " << c.error();
    EXPECT_EQ(c->servers[0].protocol, PieServer::Protocol::V02) << p;
  }
}

TEST(Pie05Config, BadProtocolNamesLineColumnAndAllowedValues) {
  EXPECT_EQ(error_of(server("    protocol: 0.4\n")),
            "t.yaml:4:15: servers[0].protocol: must be \"0.2\" or \"0.5\" (got '0.4')");
  EXPECT_NE(error_of(server("    protocol: [0.5]\n")).find("t.yaml:4:15: servers[0].protocol: must be a single value"),
            std::string::npos);
}

TEST(Pie05Config, V05Defaults) {
  auto c = load_string(std::string(kV05), "t.yaml");
  ASSERT_TRUE(c) << c.error();
  const auto& s = c->servers[0];
  EXPECT_EQ(s.protocol, PieServer::Protocol::V05);
  EXPECT_EQ(s.path, "/v1/ws") << "no path: the 0.5 edge's route";
  EXPECT_EQ(s.max_instances, 240u) << "below the edge's 256 live processes per worker";
  EXPECT_EQ(s.identity, "default/pie-gateway");
  EXPECT_EQ(s.port, 9000);
}

TEST(Pie05Config, V05PathAndMaxInstances) {
  auto slash = load_string("servers:\n  - {name: e, uri: \"ws://h:1/\", protocol: \"0.5\"}\n", "t.yaml");
  ASSERT_TRUE(slash) << slash.error();
  EXPECT_EQ(slash->servers[0].path, "/v1/ws") << "just '/': the 0.5 edge's route";
  auto own = load_string("servers:\n  - {name: e, uri: \"ws://h:1/pie/ws\", protocol: \"0.5\", max_instances: 0}\n", "t.yaml");
  ASSERT_TRUE(own) << own.error();
  EXPECT_EQ(own->servers[0].path, "/pie/ws") << "any other path is kept";
  EXPECT_EQ(own->servers[0].max_instances, 0u) << "an explicit 0 = no cap";
  auto v02 = load_string("servers:\n  - {name: e, uri: \"ws://h:1/\", max_instances: 7}\n", "t.yaml");
  ASSERT_TRUE(v02) << v02.error();
  EXPECT_EQ(v02->servers[0].path, "/");
  EXPECT_EQ(v02->servers[0].max_instances, 7u);
}

TEST(Pie05Config, Identity) {
  auto full = load_string(server("    protocol: \"0.5\"\n    identity: lab/gw-1\n"), "t.yaml");
  ASSERT_TRUE(full) << full.error();
  EXPECT_EQ(full->servers[0].identity, "lab/gw-1");
  auto bare = load_string(server("    protocol: \"0.5\"\n    identity: alice\n"), "t.yaml");
  ASSERT_TRUE(bare) << bare.error();
  EXPECT_EQ(bare->servers[0].identity, "default/alice") << "a bare user is tenant default";
}

TEST(Pie05Config, BadIdentities) {
  auto err = [](const std::string& id) { return error_of(server("    protocol: \"0.5\"\n    identity: " + id + "\n")); };
  EXPECT_EQ(err("'a b'"), "t.yaml:5:15: servers[0].identity: must be printable ASCII without spaces (got 'a b')");
  EXPECT_EQ(err("a/b/c"), "t.yaml:5:15: servers[0].identity: must be tenant/user with at most one '/' (got 'a/b/c')");
  EXPECT_NE(err("lab/").find("t.yaml:5:15: servers[0].identity: has an empty user part"), std::string::npos) << err("lab/");
  EXPECT_NE(err("/bob").find("servers[0].identity: has an empty tenant part"), std::string::npos) << err("/bob");
  EXPECT_NE(err("''").find("servers[0].identity: must be 1 to 128 characters"), std::string::npos) << err("''");
  EXPECT_NE(err(std::string(129, 'u')).find("must be 1 to 128 characters"), std::string::npos);
  EXPECT_EQ(err(std::string(128, 'u')), "(loaded)");
  EXPECT_NE(err("\"caf\xc3\xa9\"").find("must be printable ASCII"), std::string::npos);
}

TEST(Pie05Config, IdentityOnlyFor05) {
  EXPECT_EQ(error_of(server("    identity: lab/gw\n")),
            "t.yaml:4:15: servers[0].identity: only for protocol 0.5 servers (the x-pie-identity header); this one "
            "speaks 0.2");
}

TEST(Pie05Config, EveryAuthKindStaysValid) {
  EXPECT_EQ(error_of(server("    protocol: \"0.5\"\n    auth: {kind: username, username: gw}\n")), "(loaded)");
  EXPECT_EQ(error_of(server("    protocol: \"0.5\"\n    auth: {kind: none}\n")), "(loaded)");
  ::setenv("PG_TEST_PIE05_TOKEN", "secret", 1);
  EXPECT_EQ(error_of(server("    protocol: \"0.5\"\n    auth: {kind: token, token_env: PG_TEST_PIE05_TOKEN}\n")),
            "(loaded)");
}

// ---- endpoints: targets and inferlet names -----------------------------------------------------

TEST(Pie05Config, EndpointsOnA05ServerAreMarked) {
  auto c = load_string("servers:\n"
                       "  - {name: old, uri: \"ws://h:1/\"}\n"
                       "  - {name: edge, uri: \"ws://h:2\", protocol: \"0.5\"}\n"
                       "groups: {olds: [old]}\n"
                       "endpoints:\n"
                       "  - {name: a, kind: get, inferlet: std/echo@0.1.0}\n"
                       "  - {name: b, kind: get, inferlet: std/echo, group: olds}\n",
                       "t.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_TRUE(c->endpoints[0].runs_on_v05) << "no group: every server, edge included";
  EXPECT_FALSE(c->endpoints[1].runs_on_v05) << "group olds has only the 0.2 server: any 0.2 name is fine";
}

TEST(Pie05Config, InferletMustMapOn05) {
  const std::string yaml =
      "servers:\n"
      "  - {name: old, uri: \"ws://h:1/\"}\n"
      "  - {name: edge1, uri: \"ws://h:2\", protocol: \"0.5\"}\n"
      "  - {name: edge2, uri: \"ws://h:3\", protocol: \"0.5\", labels: {gpu: a100}}\n"
      "groups:\n"
      "  gpus: {labels: {gpu: a100}}\n"
      "endpoints:\n"
      "  - {name: a, kind: get, inferlet: std/echo@0.1.0}\n"
      "  - {name: b, kind: get, inferlet: echo@0.1.0}\n"
      "  - {name: c, kind: get, inferlet: std/text-completion@0.1.0, group: gpus}\n"
      "  - name: d\n"
      "    kind: get\n"
      "    inferlet: std/echo\n"
      "  - {name: e, kind: get, inferlet: lab/tool@1.0.0, group: gpus}\n"
      "  - {name: f, kind: get, inferlet: std/echo@latest}\n"
      "  - {name: g, kind: get, inferlet: std/echo@1.0}\n";
  const std::string err = error_of(yaml);
  EXPECT_NE(err.find("t.yaml:13:15: endpoints[3].inferlet: 'std/echo' cannot run on Pie 0.5 server(s) edge1, edge2: "
                     "it needs an exact version (name@MAJOR.MINOR.PATCH)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t.yaml:14:36: endpoints[4].inferlet: 'lab/tool@1.0.0' cannot run on Pie 0.5 server(s) edge2: "
                     "0.5 names have no namespace (only std/ maps)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("endpoints[5].inferlet: 'std/echo@latest' cannot run on Pie 0.5 server(s) edge1, edge2: it needs"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("endpoints[6].inferlet: 'std/echo@1.0' cannot run on Pie 0.5 server(s) edge1, edge2: version '1.0' "
                     "is not MAJOR.MINOR.PATCH"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("endpoints[0]"), std::string::npos) << err;
  EXPECT_EQ(err.find("endpoints[1]"), std::string::npos) << err;
  EXPECT_EQ(err.find("endpoints[2]"), std::string::npos) << err;
}

TEST(Pie05Config, SessionsFanoutAndInputsAreFineOn05) {
  EXPECT_EQ(error_of(std::string(kV05) +
                     "endpoints:\n"
                     "  - {name: chat, kind: session, inferlet: std/chat@0.1.0}\n"
                     "  - {name: all, kind: get, inferlet: std/echo@0.1.0, fanout: all}\n"
                     "  - {name: up, kind: post, inferlet: std/file-echo@0.1.0, result: blob,"
                     " input: {send: blob, from: body}}\n"
                     "  - {name: say, kind: post, inferlet: std/chat@0.1.0, result: messages,"
                     " input: {send: message, from: body}}\n"),
            "(loaded)");
}

// ---- daemons and programs -----------------------------------------------------------------------

TEST(Pie05Config, NoDaemonsOn05) {
  EXPECT_EQ(error_of("servers:\n"
                     "  - {name: old, uri: \"ws://h:1/\"}\n"
                     "  - {name: edge, uri: \"ws://h:2\", protocol: \"0.5\"}\n"
                     "daemons:\n"
                     "  - {server: old, port: 8000, inferlet: std/httpd@0.1.0}\n"
                     "  - {server: edge, port: 8001, inferlet: std/httpd@0.1.0}\n"),
            "t.yaml:6:14: daemons[1].server: 'edge' is a Pie 0.5 server: 0.5 has no daemons");
}

TEST(Pie05Config, ProgramsNeedAStdNameOn05) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("pg-pie05-programs-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "a.wasm") << "wasm";
  std::ofstream(dir / "lab.toml") << "[package]\nname = \"lab/hello\"\nversion = \"0.1.0\"\n";
  std::ofstream(dir / "std.toml") << "[package]\nname = \"std/hello\"\nversion = \"0.1.0\"\n";
  const std::string programs = "programs:\n"
                               "  - {wasm: " + (dir / "a.wasm").string() + ", manifest: " + (dir / "std.toml").string() + "}\n"
                               "  - {wasm: " + (dir / "a.wasm").string() + ", manifest: " + (dir / "lab.toml").string() + "}\n";
  EXPECT_EQ(error_of("servers:\n  - {name: old, uri: \"ws://h:1/\"}\n" + programs), "(loaded)") << "0.2 only: any namespace";
  const std::string err = error_of("servers:\n  - {name: old, uri: \"ws://h:1/\"}\n"
                                   "  - {name: edge, uri: \"ws://h:2\", protocol: \"0.5\"}\n" + programs);
  EXPECT_NE(err.find("t.yaml:6:"), std::string::npos) << err;
  EXPECT_NE(err.find("programs[1].manifest: program lab/hello@0.1.0 cannot be provisioned on Pie 0.5 server(s) edge: "),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("programs[0]"), std::string::npos) << err;
  fs::remove_all(dir);
}

// ---- launch_input: loading ----------------------------------------------------------------------

TEST(Pie05Config, LaunchInputMustBeAMapping) {
  EXPECT_EQ(error_of(std::string(kV05) + "endpoints:\n  - {name: a, kind: get, inferlet: std/echo@0.1.0, launch_input: [1]}\n"),
            "t.yaml:4:66: endpoints[0].launch_input: must be a mapping of JSON member names to values or templates, e.g. "
            "{text: \"{*args}\"}");
}

TEST(Pie05Config, LaunchInputUnknownPlaceholder) {
  EXPECT_EQ(error_of(std::string(kV05) +
                     "endpoints:\n"
                     "  - name: a\n"
                     "    kind: get\n"
                     "    inferlet: std/echo@0.1.0\n"
                     "    params: [{name: text}]\n"
                     "    launch_input:\n"
                     "      text: \"{txt}\"\n"
                     "      other: \"say {text} {nope}\"\n"),
            "t.yaml:9:13: endpoints[0].launch_input.text: placeholder {txt} names no declared parameter\n"
            "t.yaml:10:14: endpoints[0].launch_input.other: placeholder {nope} names no declared parameter");
}

TEST(Pie05Config, LaunchInputBadValues) {
  const std::string err = error_of(std::string(kV05) +
                                   "endpoints:\n"
                                   "  - name: a\n"
                                   "    kind: get\n"
                                   "    inferlet: std/echo@0.1.0\n"
                                   "    params: [{name: text}]\n"
                                   "    launch_input:\n"
                                   "      a: {text}\n"
                                   "      b: \"{unclosed\"\n"
                                   "      c: .inf\n"
                                   "      d: [1, 2]\n");
  EXPECT_NE(err.find("t.yaml:9:10: endpoints[0].launch_input.a: must be a single value or a template string, not a list "
                     "or mapping (quote templates: \"{param}\")"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("t.yaml:10:10: endpoints[0].launch_input.b: unclosed '{'"), std::string::npos) << err;
  EXPECT_NE(err.find("t.yaml:11:10: endpoints[0].launch_input.c: '.inf' has no JSON form"), std::string::npos) << err;
  EXPECT_NE(err.find("t.yaml:12:10: endpoints[0].launch_input.d: must be a single value"), std::string::npos) << err;
}

TEST(Pie05Config, LaunchInputUnknownFieldStillListed) {
  EXPECT_NE(error_of(std::string(kV05) + "endpoints:\n  - {name: a, kind: get, inferlet: std/echo@0.1.0, launch_inputs: {}}\n")
                .find("launch_input)"),
            std::string::npos);
}

TEST(Pie05Config, ParamDefaultsMustFitTheirType) {
  EXPECT_EQ(error_of(server("endpoints:\n"
                            "  - name: a\n"
                            "    kind: get\n"
                            "    inferlet: x\n"
                            "    params: [{name: n, type: int, default: ten}]\n")),
            "t.yaml:8:44: endpoints[0].params[0].default: does not fit type int: parameter 'n' must be a whole number "
            "(got 'ten')");
}

TEST(Pie05Config, ArgsParamClashesWithDefaultArgsMember) {
  const std::string eps = "endpoints:\n"
                          "  - {name: a, kind: rpc, inferlet: std/echo@0.1.0, params: [{name: args}],"
                          " arguments: [\"{args}\", \"{*args}\"]}\n";
  EXPECT_NE(error_of(std::string(kV05) + eps).find("endpoints[0].params: parameter 'args' and {*args} would both be"),
            std::string::npos);
  EXPECT_EQ(error_of("servers: [{name: a, uri: \"ws://h:1/\"}]\n" + eps), "(loaded)") << "0.2 only: no 0.5 input";
}

// ---- launch_input: binding ----------------------------------------------------------------------

TEST(Pie05Endpoint, DefaultInputIsTheTypedParams) {
  auto r = registry_of(std::string(kV05) +
                       "endpoints:\n"
                       "  - name: gen\n"
                       "    kind: get\n"
                       "    inferlet: std/text-completion@0.1.0\n"
                       "    params:\n"
                       "      - {name: prompt}\n"
                       "      - {name: max_tokens, type: int, default: \"16\"}\n"
                       "      - {name: temp, type: float, default: \"0.5\"}\n"
                       "      - {name: greedy, type: bool, default: \"no\"}\n"
                       "    arguments: [\"--prompt\", \"{prompt}\"]\n");
  const auto* ep = r.find("gen")->get;
  auto b = ep->bind_named({{"prompt", "Hi \"you\"\n\\ \x01"}});
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->arguments, (std::vector<std::string>{"--prompt", "Hi \"you\"\n\\ \x01"}));
  EXPECT_EQ(b->input, R"({"prompt":"Hi \"you\"\n\\ \u0001","max_tokens":16,"temp":0.5,"greedy":false})");
  auto typed = ep->bind_named({{"prompt", "x"}, {"max_tokens", " +007"}, {"temp", "2"}, {"greedy", "YES"}});
  ASSERT_TRUE(typed) << typed.error();
  EXPECT_EQ(typed->input, R"({"prompt":"x","max_tokens":7,"temp":2.0,"greedy":true})");
  auto big = ep->bind_named({{"prompt", "x"}, {"max_tokens", "-9223372036854775808"}, {"temp", "1e300"}});
  ASSERT_TRUE(big) << big.error();
  EXPECT_EQ(json::parse(big->input)["max_tokens"].get<long long>(), INT64_MIN);
  EXPECT_DOUBLE_EQ(json::parse(big->input)["temp"].get<double>(), 1e300);
}

TEST(Pie05Endpoint, InputIsValidJsonForAnyText) {
  auto r = registry_of(std::string(kV05) + "endpoints:\n  - {name: e, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}]}\n");
  const auto* ep = r.find("e")->get;
  for (const std::string& text : {std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string("\x7f\t\r\b\f/"),
                                 std::string("bad \xff\xfe utf8 \xc3"), std::string("nul \0 inside", 12)}) {
    auto b = ep->bind_named({{"text", text}});
    ASSERT_TRUE(b) << b.error();
    json j;
    ASSERT_NO_THROW(j = json::parse(b->input)) << b->input;
    ASSERT_TRUE(j.is_object());
    if (text.find('\xff') == std::string::npos && text.back() != '\xc3') EXPECT_EQ(j["text"].get<std::string>(), text);
    else EXPECT_NE(j["text"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos) << "U+FFFD for bad bytes";
  }
}

TEST(Pie05Endpoint, ExtraArgsAndKwargs) {
  auto r = registry_of(std::string(kV05) +
                       "endpoints:\n"
                       "  - name: gen\n"
                       "    kind: rpc\n"
                       "    inferlet: std/text-completion@0.1.0\n"
                       "    params: [{name: prompt}, {name: n, type: int, default: \"1\"}]\n"
                       "    arguments: [\"{prompt}\", \"-n\", \"{n}\", \"{*args}\", \"{**kwargs}\"]\n"
                       "  - {name: none, kind: rpc, inferlet: std/fail@0.1.0}\n");
  const auto* gen = r.find("gen")->post;
  auto b = gen->bind({{"hi", "5", "x", "y z"}, {{"temp", "0.5"}, {"mode", "fast"}}});
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->input, R"({"prompt":"hi","n":5,"args":["x","y z"],"temp":"0.5","mode":"fast"})");
  auto plain = gen->bind({{"hi"}, {}});
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->input, R"({"prompt":"hi","n":1,"args":[]})");
  auto clash = gen->bind({{"hi"}, {{"args", "x"}}});
  ASSERT_FALSE(clash);
  EXPECT_NE(clash.error().find("keyword 'args' clashes"), std::string::npos) << clash.error();
  auto none = r.find("none")->post->bind({{}, {}});
  ASSERT_TRUE(none) << none.error();
  EXPECT_EQ(none->input, "{}");
}

TEST(Pie05Endpoint, ExplicitLaunchInput) {
  auto r = registry_of(std::string(kV05) +
                       "endpoints:\n"
                       "  - name: e\n"
                       "    kind: rpc\n"
                       "    inferlet: std/text-completion@0.1.0\n"
                       "    params: [{name: prompt}, {name: n, type: int, default: \"3\"}, {name: t, type: float, default: \"1\"}]\n"
                       "    arguments: [\"{prompt}\"]\n"
                       "    launch_input:\n"
                       "      prompt: \"Q: {prompt}\\nA: {*args}\"\n"
                       "      max_tokens: \"{n}\"\n"
                       "      n_text: \"n={n}\"\n"
                       "      quoted_n: \"{{n}}\"\n"
                       "      temperature: \"{t}\"\n"
                       "      rest: \"{*args}\"\n"
                       "      kw: \"{**kwargs}\"\n"
                       "      flag: true\n"
                       "      off: False\n"
                       "      count: 007\n"
                       "      neg: -12\n"
                       "      ratio: 2.50\n"
                       "      sci: 1e3\n"
                       "      nothing: ~\n"
                       "      empty:\n"
                       "      str_true: \"true\"\n"
                       "      str_num: '5'\n"
                       "      word: hello world\n"
                       "      \"we\\\"ird\": x\n");
  const auto* ep = r.find("e")->post;
  auto b = ep->bind({{"why?", "7", "1.5", "more", "args"}, {{"k", "v"}}});
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->arguments, (std::vector<std::string>{"why?"})) << "extras go only where a template takes them";
  EXPECT_EQ(b->input,
            R"({"prompt":"Q: why?\nA: more args","max_tokens":7,"n_text":"n=7","quoted_n":"{n}","temperature":1.5,)"
            R"("rest":"more args","kw":{"k":"v"},"flag":true,"off":false,"count":7,"neg":-12,"ratio":2.5,"sci":1000.0,)"
            R"("nothing":null,"empty":null,"str_true":"true","str_num":"5","word":"hello world","we\"ird":"x"})");
  EXPECT_TRUE(json::accept(b->input));
}

TEST(Pie05Endpoint, InputOnlyBuiltForEndpointsThatCanRunOn05) {
  auto r = registry_of("servers:\n"
                       "  - {name: old, uri: \"ws://h:1/\"}\n"
                       "  - {name: edge, uri: \"ws://h:2\", protocol: \"0.5\"}\n"
                       "groups: {olds: [old], edges: [edge]}\n"
                       "endpoints:\n"
                       "  - {name: a, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], group: olds}\n"
                       "  - {name: b, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], group: edges}\n");
  auto a = r.find("a")->get->bind_named({{"text", "x"}});
  auto b = r.find("b")->get->bind_named({{"text", "x"}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->input, "{}");
  EXPECT_TRUE(r.find("a")->get->input.empty());
  EXPECT_EQ(b->input, R"({"text":"x"})");
  EXPECT_EQ(a->arguments, b->arguments);
}

// ---- the shipped config on a 0.5 server ---------------------------------------------------------

TEST(Pie05Config, ShippedConfigRunsUnchangedOn05) {
  auto c = load_string(shipped_as_v05(), "gateway.yaml");
  ASSERT_TRUE(c) << c.error();  // what --check-config checks
  ASSERT_EQ(c->servers.size(), 1u);
  EXPECT_EQ(c->servers[0].protocol, PieServer::Protocol::V05);
  EXPECT_EQ(c->servers[0].path, "/v1/ws");
  EXPECT_EQ(c->servers[0].max_instances, 240u);
  for (const auto& ep : c->endpoints) EXPECT_TRUE(ep.runs_on_v05) << ep.name;
  auto r = Registry::build(c->endpoints);
  ASSERT_TRUE(r) << r.error();

  struct Case {
    const char* name;
    bool get;
    pg::endpoints::CallArgs call;
    const char* inferlet05;  // what the 0.5 session launches (names.hpp maps std/NAME@V)
    const char* input;
  };
  const std::vector<Case> cases = {
      {"echo", true, {{}, {{"text", "Hi"}}}, "echo@0.1.0", R"({"text":"Hi"})"},
      {"complete", true, {{}, {{"prompt", "Hi"}}}, "text-completion@0.1.0", R"({"prompt":"Hi","max_tokens":16})"},
      {"complete", false, {{}, {{"prompt", "Hi"}, {"max_tokens", "4"}}}, "text-completion@0.1.0",
       R"({"prompt":"Hi","max_tokens":4})"},
      {"sleep", true, {{}, {{"ms", "300"}}}, "sleep@0.1.0", R"({"ms":300})"},
      {"image", true, {{}, {}}, "image@0.1.0", R"({"size":16})"},
      {"echo_rpc", false, {{"a", "b"}, {}}, "echo@0.1.0", R"({"text":"a b"})"},
      {"sleep_async", false, {{"300"}, {}}, "sleep@0.1.0", R"({"ms":300})"},
      {"fail_async", false, {{}, {}}, "fail@0.1.0", "{}"},
  };
  std::size_t checked = 0;
  for (const auto& k : cases) {
    const auto* named = r->find(k.name);
    ASSERT_NE(named, nullptr) << k.name;
    const auto* ep = k.get ? named->get : named->post;
    ASSERT_NE(ep, nullptr) << k.name;
    auto b = ep->bind(k.call);
    ASSERT_TRUE(b) << k.name << ": " << b.error();
    EXPECT_EQ(b->input, k.input) << k.name;
    ++checked;
  }
  EXPECT_EQ(checked, r->all().size()) << "a shipped endpoint has no case here: add one";
  // The 0.2 arguments are what they always were.
  EXPECT_EQ(r->find("echo_rpc")->post->bind({{"a", "b"}, {}})->arguments, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->find("sleep")->get->bind_named({{"ms", "300"}})->arguments, (std::vector<std::string>{"--ms", "300"}));
}

TEST(Pie05Config, ShippedConfigStill02ByDefault) {
  auto c = pg::config::load_file(std::string(PG_SOURCE_DIR) + "/config/gateway.yaml");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->servers[0].protocol, PieServer::Protocol::V02);
  for (const auto& ep : c->endpoints) EXPECT_FALSE(ep.runs_on_v05) << ep.name;
}

TEST(Pie05Config, ClusterExampleLoadsWithA05Server) {
  std::string text = read_file(std::string(PG_SOURCE_DIR) + "/config/cluster-example.yaml");
  const std::string uri = "    uri: ws://127.0.0.1:9203/\n";
  const auto at = text.find(uri);
  ASSERT_NE(at, std::string::npos);
  text.insert(at + uri.size(), "    protocol: \"0.5\"\n");
  ::setenv("PIE_TOKEN", "t", 1);
  auto c = load_string(text, "cluster-example.yaml");
  ASSERT_TRUE(c) << c.error();
  auto r = Registry::build(c->endpoints);
  ASSERT_TRUE(r) << r.error();
  auto echo = r->find("echo_rpc")->post->bind({{"a", "b"}, {}});
  ASSERT_TRUE(echo) << echo.error();
  EXPECT_EQ(echo->input, R"({"text":"a b"})");
}
