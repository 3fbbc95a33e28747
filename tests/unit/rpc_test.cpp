#include <gtest/gtest.h>

#include <sstream>

#include "python_helper.hpp"
#include "tarp/rpc.hpp"
#include "value/base64.hpp"

using pg::tarp::decode_rpc_body;
using pg::value::Value;

namespace {

Value I(std::int64_t i) { return Value::integer(i); }
Value S(std::string s) { return Value::str(std::move(s)); }

// String literals keep their embedded NULs.
template <std::size_t N>
std::string B(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string b64(std::string_view bytes) { return pg::base64_encode(bytes); }

// Bodies the way tarp.client builds them, for every protocol (and the default one).
std::vector<std::string> python_bodies() {
  auto r = pg::test::run_python(R"(
import base64, json, pickle
args = (1, 'a', None, [1.5, b'\x00'], {'x': {2, 3}})
kwargs = {'k': [1, 2], 'n': None, 'big': 2**70}
for p in [None, 0, 1, 2, 3, 4, 5]:
    body = {'args': base64.b64encode(pickle.dumps(args, protocol=p)).decode('utf-8'),
            'kwargs': base64.b64encode(pickle.dumps(kwargs, protocol=p)).decode('utf-8')}
    print(json.dumps(body))
# base64.encodebytes wraps lines every 76 characters.
print(json.dumps({'args': base64.encodebytes(pickle.dumps(('x' * 200,))).decode('ascii')}))
)");
  EXPECT_TRUE(r) << r.error();
  std::vector<std::string> out;
  std::istringstream in(r ? *r : "");
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void expect_error(std::string_view body, const std::string& fragment, std::string_view type = "application/json") {
  auto r = decode_rpc_body(type, body);
  ASSERT_FALSE(r) << "accepted: " << body;
  EXPECT_NE(r.error().find(fragment), std::string::npos) << "error was: " << r.error();
}

std::string pickled_body(const char* key, const std::string& pickle_bytes) {
  return std::string("{\"") + key + "\": \"" + b64(pickle_bytes) + "\"}";
}

}  // namespace

TEST(Rpc, DecodesPythonClientBodies) {
  const auto bodies = python_bodies();
  ASSERT_EQ(bodies.size(), 8u);
  const std::vector<Value> want_args = {
      I(1), S("a"), Value(), Value::list({Value::real(1.5), Value::bytes(B("\0"))}),
      Value::dict({{S("x"), Value::set({I(2), I(3)})}})};
  for (std::size_t i = 0; i + 1 < bodies.size(); ++i) {
    auto r = decode_rpc_body("application/json", bodies[i]);
    ASSERT_TRUE(r) << r.error() << "\n" << bodies[i];
    EXPECT_EQ(r->args, want_args) << "body " << i;
    ASSERT_EQ(r->kwargs.size(), 3u);
    EXPECT_EQ(r->kwargs[0].first, "k");
    EXPECT_EQ(r->kwargs[0].second, Value::list({I(1), I(2)}));
    EXPECT_EQ(r->kwargs[1].first, "n");
    EXPECT_EQ(r->kwargs[1].second, Value());
    EXPECT_EQ(r->kwargs[2].first, "big");
    EXPECT_EQ(r->kwargs[2].second.as_bigint().to_decimal(), "1180591620717411303424");
  }
  auto wrapped = decode_rpc_body("application/json; charset=utf-8", bodies.back());
  ASSERT_TRUE(wrapped) << wrapped.error();
  EXPECT_EQ(wrapped->args, std::vector<Value>{S(std::string(200, 'x'))});
  EXPECT_TRUE(wrapped->kwargs.empty());
}

TEST(Rpc, MissingOrNullKeysAreEmpty) {
  for (const char* body : {"{}", R"({"args": null, "kwargs": null})", R"({"other": 1})"}) {
    auto r = decode_rpc_body("application/json", body);
    ASSERT_TRUE(r) << body << ": " << r.error();
    EXPECT_TRUE(r->args.empty());
    EXPECT_TRUE(r->kwargs.empty());
  }
  auto only_args = decode_rpc_body("", pickled_body("args", B("\x80\x04K\x07\x85.")));
  ASSERT_TRUE(only_args) << only_args.error();
  EXPECT_EQ(only_args->args, std::vector<Value>{I(7)});
  auto only_kwargs = decode_rpc_body("", pickled_body("kwargs", B("\x80\x04}\x8c\x01k\x88s.")));
  ASSERT_TRUE(only_kwargs) << only_kwargs.error();
  ASSERT_EQ(only_kwargs->kwargs.size(), 1u);
  EXPECT_EQ(only_kwargs->kwargs[0].first, "k");
  EXPECT_EQ(only_kwargs->kwargs[0].second, Value::boolean(true));
}

TEST(Rpc, RefusesBadBodies) {
  expect_error("{nope", "RPC body is not valid JSON");
  expect_error("", "RPC body is not valid JSON");
  expect_error("[1, 2]", "RPC body must be a JSON object {\"args\": ..., \"kwargs\": ...}, not a JSON array");
  expect_error("\"x\"", "not a JSON string");
  expect_error("{}", "an RPC body must be JSON (Content-Type: application/json), not 'text/plain'", "text/plain");
  expect_error(R"({"args": 5})", "RPC body: 'args' must be a base64 string of a pickle, not a JSON number");
  expect_error(R"({"kwargs": ["x"]})", "'kwargs' must be a base64 string of a pickle, not a JSON array");
  expect_error(R"({"args": "!!!!"})", "RPC body: 'args': invalid base64: '!' at position 0");
  expect_error(R"({"args": "gAR"})", "RPC body: 'args': invalid base64:");
  expect_error(R"({"args": ""})", "RPC body: 'args': invalid pickle: empty input");
  expect_error(pickled_body("args", B("\x80\x04]\x94.")), "RPC body: 'args' must be a pickled tuple, not a list");
  expect_error(pickled_body("args", B("\x80\x04N.")), "'args' must be a pickled tuple, not a NoneType");
  expect_error(pickled_body("kwargs", B("\x80\x04)\x94.")), "RPC body: 'kwargs' must be a pickled dict, not a tuple");
  expect_error(pickled_body("kwargs", B("\x80\x04}K\x01K\x02s.")), "RPC body: 'kwargs' keys must be str, found int 1");
  expect_error(pickled_body("args", "\x80\x04" "cos\nsystem\n\x8c\x02ls\x85R."),
               "RPC body: 'args': pickle refused: opcode GLOBAL at offset 2 names os.system; only None");
  expect_error(pickled_body("kwargs", "\x80\x04" "cposix\nsystem\n."), "RPC body: 'kwargs': pickle refused: opcode GLOBAL");
}

TEST(Rpc, LimitsArePassedThrough) {
  pg::tarp::PickleLimits limits;
  limits.max_input_bytes = 4;
  auto r = decode_rpc_body("application/json", pickled_body("args", B("\x80\x04K\x07\x85.")), limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("(max_input_bytes)"), std::string::npos) << r.error();
}

// A JSON body cannot make the parser build deep trees: nesting is bounded before anything is kept.
TEST(Rpc, DeeplyNestedJsonBodiesAreRefused) {
  const std::string deep = "{\"args\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(deep, "RPC body is nested deeper than 64 levels");
  auto ok = decode_rpc_body("application/json", "{\"args\": null, \"x\": " + std::string(60, '[') + std::string(60, ']') + "}");
  EXPECT_TRUE(ok) << ok.error();
}

TEST(Rpc, PayloadLoadsInPython) {
  const Value v = Value::dict({{S("text"), S("héllo ✓")},
                               {S("tokens"), Value::list({I(1), I(2), Value::big(pg::value::BigInt::from_decimal("-99999999999999999999").value())})},
                               {S("raw"), Value::bytes(B("\x00\xff"))},
                               {S("t"), Value::tuple({Value::real(0.25), Value(), Value::boolean(false)})},
                               {S("s"), Value::frozenset({S("a")})}});
  const std::string payload = pg::tarp::rpc_payload_b64(v);
  auto r = pg::test::run_python(R"(
import base64, pickle
v = pickle.loads(base64.b64decode(')" + payload + R"(', validate=True))
want = {'text': 'héllo ✓', 'tokens': [1, 2, -99999999999999999999], 'raw': b'\x00\xff',
        't': (0.25, None, False), 's': frozenset({'a'})}
print('OK' if v == want and list(v) == list(want) else 'FAIL %r' % (v,))
)");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, "OK\n");
}
