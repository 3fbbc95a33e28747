#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>

#include "common/expansion.hpp"
#include "tarp/body.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"

using namespace pg::tarp;

TEST(Query, FlattensAndDecodes) {
  auto q = parse_query("text=hello+world&a=1&a=%32&empty=&flag&&x=%zz%");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0].first, "text");
  EXPECT_EQ(q[0].second, std::vector<std::string>{"hello world"});
  EXPECT_EQ(q[1].second, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(q[2].second, std::vector<std::string>{""});
  EXPECT_EQ(q[3].first, "flag");
  EXPECT_EQ(q[4].second, std::vector<std::string>{"%zz%"}) << "bad escapes are kept as written";
}

TEST(Query, Utf8AndPathDecoding) {
  EXPECT_EQ(url_decode("caf%C3%A9"), "café");
  EXPECT_EQ(decode_path("/a+b%2Fc"), "/a+b/c");
  EXPECT_EQ(url_decode("%"), "%");
  EXPECT_EQ(url_decode("%4"), "%4");
}

TEST(Body, JsonObjectForm) {
  auto p = body_params("application/json; charset=utf-8", R"({"prompt":"hi","max_tokens":8,"greedy":true,"x":null})");
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->size(), 3u) << "null means absent";
  std::map<std::string, std::string> m(p->begin(), p->end());
  EXPECT_EQ(m["prompt"], "hi");
  EXPECT_EQ(m["max_tokens"], "8");
  EXPECT_EQ(m["greedy"], "true");
  auto f = body_params("application/x-www-form-urlencoded", "prompt=a+b&n=2");
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)[0].second, "a b");
}

TEST(Body, Refusals) {
  EXPECT_EQ(body_params("application/json", "{nope").error(), "request body is not valid JSON");
  EXPECT_NE(body_params("application/json", "[1,2]").error().find("must be an object"), std::string::npos);
  EXPECT_NE(body_params("application/json", R"({"a":{"b":1}})").error().find("'a' must be a string, number or boolean"),
            std::string::npos);
  EXPECT_NE(body_params("text/plain", "hello").error().find("'text/plain' body is not used"), std::string::npos);
  EXPECT_NE(body_params("", "hello").error().find("body without Content-Type"), std::string::npos);
  std::string deep(100000, '[');
  EXPECT_FALSE(body_params("application/json", deep)) << "deep nesting is refused without a crash";
  EXPECT_EQ(body_params("application/json", "{\"a\":" + deep + "}").error(), "request body is nested deeper than 64 levels");
  // Parameters are bounded in number (and the form parser is linear in them).
  std::string form, object = "{";
  for (int i = 0; i < 5000; ++i) {
    form += (i ? "&k" : "k") + std::to_string(i) + "=v";
    object += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  }
  object += "}";
  const auto f = body_params("application/x-www-form-urlencoded", form);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), "a body of 5000 parameters is over the expansion limit of 4096 parameters");
  EXPECT_TRUE(pg::over_expansion_limit(f.error()));
  EXPECT_EQ(body_params("application/json", object).error(), "a body of 5000 parameters is over the expansion limit of 4096 parameters");
  EXPECT_EQ(parse_query(form).size(), 5000u);
}

TEST(Envelope, SuccessAndErrorShapes) {
  auto s = success_text("hello");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_EQ(s.body, R"({"status":"success","mimetype":"text/plain","result":"hello"})");
  auto e = error(404, "NotFound", "no such thing");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(nlohmann::json::parse(e.body), (nlohmann::json{{"status", "error"}, {"type", "NotFound"}, {"message", "no such thing"}}));
  auto bad = success_text(std::string("\xff\xfe ok", 5));
  EXPECT_TRUE(nlohmann::json::accept(bad.body)) << "invalid UTF-8 is replaced, not thrown";
}
