#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "endpoints/arg_template.hpp"
#include "endpoints/registry.hpp"

using pg::endpoints::ArgTemplate;
using pg::endpoints::Registry;

TEST(ArgTemplate, PlaceholdersAndEscapes) {
  auto t = ArgTemplate::parse("--ms={ms} {{literal}} {a}{b}");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->names(), (std::vector<std::string>{"ms", "a", "b"}));
  std::map<std::string, std::string> v{{"ms", "300"}, {"a", "x"}, {"b", "y"}};
  EXPECT_EQ(t->render([&](const std::string& n) -> const std::string& { return v[n]; }), "--ms=300 {literal} xy");
}

TEST(ArgTemplate, Errors) {
  EXPECT_FALSE(ArgTemplate::parse("{unclosed"));
  EXPECT_FALSE(ArgTemplate::parse("a}b"));
  EXPECT_FALSE(ArgTemplate::parse("{}"));
  EXPECT_FALSE(ArgTemplate::parse("{1abc}"));
  EXPECT_FALSE(ArgTemplate::parse("{a-b}"));
}

namespace {
Registry build(const std::string& endpoints_yaml) {
  auto c = pg::config::load_string("servers: [{name: a, uri: \"ws://127.0.0.1:1/\"}]\nendpoints:" + endpoints_yaml, "t.yaml");
  EXPECT_TRUE(c) << c.error();
  auto r = Registry::build(c->endpoints);
  EXPECT_TRUE(r) << r.error();
  return std::move(*r);
}

Registry registry() {
  return build(R"(
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params:
      - {name: prompt}
      - {name: max_tokens, type: int, default: "16"}
      - {name: greedy, type: bool, default: "false"}
      - {name: temp, type: float, default: "0.5"}
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}", "--greedy={greedy}", "--t={temp}"]
  - {name: complete, kind: post, inferlet: x}
  - {name: tools/list, kind: get, inferlet: y}
)");
}
}  // namespace

TEST(Registry, FindsByNameKindAndUnderscoreAlias) {
  auto r = registry();
  auto* n = r.find("complete");
  ASSERT_NE(n, nullptr);
  EXPECT_NE(n->get, nullptr);
  EXPECT_NE(n->post, nullptr);
  ASSERT_NE(r.find("tools/list"), nullptr);
  ASSERT_NE(r.find("tools_list"), nullptr) << "the TARP Python client calls /tools_list";
  EXPECT_EQ(r.find("tools_list")->get, r.find("tools/list")->get);
  EXPECT_EQ(r.find("nope"), nullptr);
}

TEST(Registry, BindAppliesDefaultsAndTypes) {
  auto r = registry();
  const auto* ep = r.find("complete")->get;
  auto args = ep->bind_named({{"prompt", "hi there"}, {"greedy", "YES"}});
  ASSERT_TRUE(args) << args.error();
  EXPECT_EQ(args->arguments, (std::vector<std::string>{"--prompt", "hi there", "--max-tokens", "16", "--greedy=true", "--t=0.5"}));
}

TEST(Registry, BindErrorsAreSpecific) {
  auto r = registry();
  const auto* ep = r.find("complete")->get;
  auto missing = ep->bind_named({});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "missing required parameter 'prompt'");
  auto unknown = ep->bind_named({{"prompt", "x"}, {"max_token", "3"}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("unknown parameter 'max_token'"), std::string::npos);
  EXPECT_NE(unknown.error().find("prompt, max_tokens, greedy, temp"), std::string::npos) << unknown.error();
  auto twice = ep->bind_named({{"prompt", "x"}, {"prompt", "y"}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error(), "parameter 'prompt' is given more than once");
  auto badint = ep->bind_named({{"prompt", "x"}, {"max_tokens", "12abc"}});
  ASSERT_FALSE(badint);
  EXPECT_EQ(badint.error(), "parameter 'max_tokens' must be a whole number (got '12abc')");
  EXPECT_FALSE(ep->bind_named({{"prompt", "x"}, {"temp", "nan"}}));
  EXPECT_FALSE(ep->bind_named({{"prompt", "x"}, {"greedy", "maybe"}}));
  EXPECT_FALSE(ep->bind_named({{"prompt", "x"}, {"max_tokens", "99999999999999999999999"}}));
}

namespace {
Registry rpc_registry() {
  return build(R"(
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"]}
  - name: sleep_async
    kind: asyncrpc
    inferlet: std/sleep@0.1.0
    params: [{name: ms, type: int}]
    arguments: ["--ms", "{ms}"]
  - name: gen
    kind: rpc
    inferlet: x
    params: [{name: prompt}, {name: n, type: int, default: "1"}]
    arguments: ["{prompt}", "-n", "{n}", "{*args}", "{**kwargs}"]
)");
}
}  // namespace

TEST(RpcBinding, SpreadsPositionalArguments) {
  auto r = rpc_registry();
  auto args = r.find("echo_rpc")->post->bind({{"a", "b"}, {}});
  ASSERT_TRUE(args) << args.error();
  EXPECT_EQ(args->arguments, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(args->input, "{}") << "only built for endpoints that can run on a 0.5 server";
  auto none = r.find("echo_rpc")->post->bind({{}, {}});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->arguments.empty());
}

TEST(RpcBinding, PythonLikeSignature) {
  auto r = rpc_registry();
  const auto* sleep = r.find("sleep_async")->post;
  EXPECT_TRUE(sleep->cfg.async);
  EXPECT_EQ(sleep->bind({{}, {{"ms", "300"}}})->arguments, (std::vector<std::string>{"--ms", "300"}));
  EXPECT_EQ(sleep->bind({{"300"}, {}})->arguments, (std::vector<std::string>{"--ms", "300"}));
  auto too_many = sleep->bind({{"1", "2"}, {}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error(), "endpoint 'sleep_async' takes 1 positional argument but 2 were given");
  auto both = sleep->bind({{"1"}, {{"ms", "2"}}});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error(), "parameter 'ms' is given both by position and by name");

  const auto* gen = r.find("gen")->post;
  auto all = gen->bind({{"hi", "5", "extra"}, {{"temp", "0.5"}}});
  ASSERT_TRUE(all) << all.error();
  EXPECT_EQ(all->arguments, (std::vector<std::string>{"hi", "-n", "5", "extra", "--temp", "0.5"}));
  auto bad_kw = gen->bind({{"hi"}, {{"--evil", "x"}}});
  ASSERT_FALSE(bad_kw);
  EXPECT_NE(bad_kw.error().find("not a valid name"), std::string::npos);
}

// The expansion limit (common/expansion.hpp): repeated placeholders and spreads are summed before
// anything is rendered; a call over it is refused naming the limit (front doors answer 413).
TEST(Registry, BindRefusesACallThatExpandsOverTheLimit) {
  auto c = pg::config::load_string(R"(servers: [{name: a, uri: "ws://127.0.0.1:1/", protocol: "0.5"}]
endpoints:
  - {name: rep, kind: post, inferlet: std/echo@0.1.0, params: [{name: t}], arguments: ["{t}{t}", "{t}"]}
  - {name: spread, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}", "{*args}"]}
  - {name: text, kind: post, inferlet: std/echo@0.1.0, params: [{name: t}], arguments: ["x"],
     launch_input: {a: "{t}-{t}-{t}"}}
)", "t.yaml");
  ASSERT_TRUE(c) << c.error();
  auto r = Registry::build(c->endpoints, 1000);
  ASSERT_TRUE(r) << r.error();
  const auto& rep = *r->find("rep")->post;
  const auto& spread = *r->find("spread")->post;
  const auto& text = *r->find("text")->post;
  EXPECT_EQ(rep.expansion_limit, 1000u);
  const std::string t(334, 'x');
  auto over = rep.bind_named({{"t", t}});  // 3 x 334 = 1002
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().find("argument list would expand to more than 1000 bytes (the expansion limit, 4 x "
                              "limits.max_body_bytes)"),
            std::string::npos)
      << over.error();
  EXPECT_TRUE(pg::over_expansion_limit(over.error()));
  EXPECT_TRUE(rep.bind_named({{"t", std::string(333, 'x')}}));
  auto spread_over = spread.bind({{std::string(300, 'a'), std::string(201, 'b')}, {}});  // 2 x 501
  ASSERT_FALSE(spread_over);
  EXPECT_TRUE(pg::over_expansion_limit(spread_over.error())) << spread_over.error();
  auto input_over = text.bind_named({{"t", std::string(400, 'x')}});  // the 0.5 input: 3 x 400
  ASSERT_FALSE(input_over);
  EXPECT_NE(input_over.error().find("0.5 input would expand"), std::string::npos) << input_over.error();
  // Too many arguments is over it too (and never costs the quadratic duplicate check).
  pg::endpoints::CallArgs many;
  many.positional.assign(5000, "a");
  auto counted = spread.bind(many);
  ASSERT_FALSE(counted);
  EXPECT_TRUE(pg::over_expansion_limit(counted.error())) << counted.error();
}
