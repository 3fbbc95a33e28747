// Browser-facing pieces without sockets: the cors: and content_type: configuration, CORS answers,
// Last-Event-ID parsing, SSE framing and the final event of a job.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "frontdoor/cors.hpp"
#include "frontdoor/sse.hpp"
#include "value/base64.hpp"

using nlohmann::json;
using pg::config::load_string;

namespace {

std::string config(const std::string& endpoint, const std::string& tail = "") {
  return "servers:\n  - name: a\n    uri: ws://127.0.0.1:9000/\nendpoints:\n" + endpoint + tail;
}
const std::string kEcho = "  - {name: echo, kind: get, inferlet: std/echo@0.1.0}\n";

pg::http::Request preflight(std::string origin, std::string method, std::string headers = "") {
  pg::http::Request r;
  r.method = "OPTIONS";
  r.path = r.target = "/echo";
  r.headers = {{"Origin", origin}, {"Access-Control-Request-Method", method}};
  if (!headers.empty()) r.headers.emplace_back("Access-Control-Request-Headers", headers);
  return r;
}

std::string header(const pg::http::Response& r, std::string_view name) {
  return std::string(pg::http::find_header(r.headers, name));
}

}  // namespace

TEST(BrowserConfig, CorsIsOffByDefaultAndLoadsWhenGiven) {
  auto off = load_string(config(kEcho), "t.yaml");
  ASSERT_TRUE(off) << off.error();
  EXPECT_FALSE(off->cors.enabled());
  auto on = load_string(config(kEcho, "cors:\n  allowed_origins: [\"*\", \"https://lab.example\"]\n  max_age: 1h\n"
                                      "  allowed_headers: [Content-Type]\n"),
                        "t.yaml");
  ASSERT_TRUE(on) << on.error();
  EXPECT_TRUE(on->cors.enabled());
  EXPECT_EQ(on->cors.allowed_origins.size(), 2u);
  EXPECT_EQ(on->cors.max_age, std::chrono::hours(1));
  EXPECT_EQ(on->cors.allowed_headers, std::vector<std::string>{"Content-Type"});
}

TEST(BrowserConfig, BadCorsValuesNameFileLineAndField) {
  auto c = load_string(config(kEcho, "cors:\n  allowed_origins: [\"http://lab.example/app\"]\n"
                                     "  allowed_methods: [GET, PUT]\n  allowed_headers: [\"bad header\"]\n"
                                     "  max_age: 2d\n  allow_credentials: true\n"),
                       "c.yaml");
  ASSERT_FALSE(c);
  const auto& e = c.error();
  EXPECT_NE(e.find("c.yaml:7:21: cors.allowed_origins: 'http://lab.example/app' is not an origin"), std::string::npos) << e;
  EXPECT_NE(e.find("cors.allowed_methods: 'PUT' is not a method the gateway answers"), std::string::npos) << e;
  EXPECT_NE(e.find("cors.allowed_headers: 'bad header' is not a header name"), std::string::npos) << e;
  EXPECT_NE(e.find("cors.max_age: invalid duration"), std::string::npos) << e;
  EXPECT_NE(e.find("cors.allow_credentials: unknown field"), std::string::npos) << e;
}

TEST(BrowserConfig, RawResultsAreForGetAndPostWithAMimeType) {
  auto blob = load_string(config("  - {name: img, kind: get, inferlet: std/image@0.1.0, result: blob}\n"), "t.yaml");
  ASSERT_TRUE(blob) << blob.error();
  EXPECT_EQ(blob->endpoints[0].result, pg::config::ResultSource::Blob);
  EXPECT_EQ(blob->endpoints[0].content_type, "application/octet-stream");
  auto png = load_string(config("  - {name: img, kind: get, inferlet: x, result: stdout, content_type: image/png}\n"), "t.yaml");
  ASSERT_TRUE(png) << png.error();
  EXPECT_EQ(png->endpoints[0].content_type, "image/png");
  struct Case {
    std::string endpoint, error;
  } cases[] = {
      {"  - {name: r, kind: rpc, inferlet: x, content_type: image/png}\n", "content_type is for get and post"},
      {"  - {name: j, kind: get, inferlet: x, result: json, content_type: image/png}\n", "cannot also be parsed as JSON"},
      {"  - {name: m, kind: get, inferlet: x, content_type: png}\n", "'png' is not a MIME type"},
      {"  - {name: b, kind: get, inferlet: x, result: blob, result_format: json}\n", "a blob result is bytes"},
      {"  - {name: s, kind: get, inferlet: x, result: everything}\n", "must be one of return, stdout, json, blob"},
  };
  for (const auto& k : cases) {
    auto c = load_string(config(k.endpoint), "t.yaml");
    ASSERT_FALSE(c) << k.endpoint;
    EXPECT_NE(c.error().find(k.error), std::string::npos) << c.error();
  }
}

TEST(BrowserCors, PreflightsAreAnsweredOrRefusedByThePolicy) {
  pg::config::Cors cors;
  cors.allowed_origins = {"http://lab.example:3000"};
  auto ok = pg::frontdoor::options_answer(cors, preflight("http://lab.example:3000", "POST", "Content-Type, last-event-id"));
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(header(ok, "Access-Control-Allow-Origin"), "http://lab.example:3000");
  EXPECT_EQ(header(ok, "Access-Control-Max-Age"), "600");
  EXPECT_EQ(pg::frontdoor::options_answer(cors, preflight("http://other", "GET")).status, 403);
  EXPECT_EQ(pg::frontdoor::options_answer(cors, preflight("http://lab.example:3000", "DELETE")).status, 403);
  EXPECT_EQ(pg::frontdoor::options_answer(cors, preflight("http://lab.example:3000", "GET", "X-Other")).status, 403);
  // "*" origins and headers.
  cors.allowed_origins = {"*"};
  cors.allowed_headers = {"*"};
  auto any = pg::frontdoor::options_answer(cors, preflight("http://anywhere", "GET", "X-Other"));
  EXPECT_EQ(any.status, 204);
  EXPECT_EQ(header(any, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header(any, "Access-Control-Allow-Headers"), "X-Other");
  // CORS off: a preflight is refused with the reason; a plain OPTIONS is answered.
  auto off = pg::frontdoor::options_answer(pg::config::Cors{}, preflight("http://a", "GET"));
  EXPECT_EQ(off.status, 403);
  EXPECT_NE(off.body.find("not enabled"), std::string::npos);
  pg::http::Request plain;
  plain.method = "OPTIONS";
  auto p = pg::frontdoor::options_answer(pg::config::Cors{}, plain);
  EXPECT_EQ(p.status, 204);
  EXPECT_EQ(header(p, "Allow"), "GET, POST, OPTIONS");
  pg::http::Headers none;
  pg::frontdoor::add_cors_headers(pg::config::Cors{}, "http://a", none);
  EXPECT_TRUE(none.empty());
}

TEST(BrowserSse, LastEventIdForms) {
  auto parse = [](std::string header, std::string query = "") {
    pg::http::Request r;
    if (!header.empty()) r.headers.emplace_back("Last-Event-ID", header);
    r.query = query;
    return pg::frontdoor::last_event_id(r, true);
  };
  auto n = parse("5");
  ASSERT_TRUE(n && *n);
  EXPECT_EQ((*n)->job, "");
  EXPECT_EQ((*n)->index, 5u);
  const std::string job = "3f0c6a2e-1d7b-4c8e-9a51-6b2f0e9d4c11";
  auto j = parse(job + ":7");
  ASSERT_TRUE(j && *j);
  EXPECT_EQ((*j)->job, job);
  EXPECT_EQ((*j)->index, 7u);
  auto start = parse(job);
  ASSERT_TRUE(start && *start);
  EXPECT_FALSE((*start)->index);
  auto q = parse("", "last_event_id=12");
  ASSERT_TRUE(q && *q);
  EXPECT_EQ((*q)->index, 12u);
  auto none = parse("");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_FALSE(parse("x"));
  EXPECT_FALSE(parse(job + ":"));
  EXPECT_FALSE(parse("-1"));
}

TEST(BrowserSse, EventsAreFramedWithOneDataLine) {
  EXPECT_EQ(pg::frontdoor::sse_event("stdout", json{{"text", "a\nb"}}, "4"),
            "id: 4\nevent: stdout\ndata: {\"text\":\"a\\nb\"}\n\n");
  EXPECT_EQ(pg::frontdoor::sse_event("gap", json{{"note", "x"}}), "event: gap\ndata: {\"note\":\"x\"}\n\n");
  // Invalid UTF-8 from an inferlet is replaced, never thrown on.
  auto bad = pg::frontdoor::sse_event("stdout", json{{"text", std::string("\xff\xfe")}});
  EXPECT_NE(bad.find("\xef\xbf\xbd"), std::string::npos);
}

TEST(BrowserSse, FinalEventsMirrorThePlainAnswers) {
  pg::jobs::Job ok;
  ok.spec.endpoint = "echo";
  ok.state = pg::jobs::JobState::Completed;
  ok.return_value = "hi";
  auto [name, data] = pg::frontdoor::sse_final(ok);
  EXPECT_EQ(name, "result");
  EXPECT_EQ(data, json::parse(R"({"status":"success","mimetype":"text/plain","result":"hi"})"));

  pg::jobs::Job raw;
  raw.spec.result = pg::config::ResultSource::Blob;
  raw.spec.content_type = "image/png";
  raw.state = pg::jobs::JobState::Completed;
  raw.blobs.push_back({"hash", std::string("\x89PNG", 4)});
  auto [rname, rdata] = pg::frontdoor::sse_final(raw);
  EXPECT_EQ(rname, "result");
  EXPECT_EQ(rdata["mimetype"], "image/png");
  EXPECT_EQ(rdata["encoding"], "base64");
  EXPECT_EQ(rdata["result"], pg::base64_encode(std::string("\x89PNG", 4)));

  pg::jobs::Job failed;
  failed.spec.endpoint = "fail";
  failed.spec.launch.inferlet = "std/fail@0.1.0";
  failed.state = pg::jobs::JobState::Failed;
  failed.error = std::make_unique<pg::jobs::JobError>(
      pg::jobs::JobError{pg::jobs::JobError::Kind::InferletFailed, "Exception", "simulated failure"});
  auto [ename, edata] = pg::frontdoor::sse_final(failed);
  EXPECT_EQ(ename, "error");
  EXPECT_EQ(edata["type"], "Exception");
  EXPECT_EQ(edata["http_status"], 502);
  EXPECT_TRUE(edata.contains("job"));
}
