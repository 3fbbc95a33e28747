#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>

#include "pickle_corpus.hpp"
#include "python_helper.hpp"
#include "tarp/pickle.hpp"

using pg::tarp::PickleLimits;
using pg::tarp::pickle;
using pg::tarp::unpickle;
using pg::test::from_hex;
using pg::test::to_hex;
using pg::value::Value;

namespace {

const std::map<std::string, pg::test::CorpusCase>& corpus() {
  static const auto* m = [] {
    auto* out = new std::map<std::string, pg::test::CorpusCase>();
    for (auto& c : pg::test::pickle_corpus()) out->emplace(c.name, c);
    return out;
  }();
  return *m;
}

std::string python_cases() {
  std::string s = std::string(pg::test::kCorpusPrelude) + "import pickle, pickletools, sys\ncases = {\n";
  for (const auto& [name, c] : corpus()) s += "  '" + name + "': lambda: " + c.python + ",\n";
  return s + "}\n";
}

// Lines "name tag hex" from CPython: pickle.dumps under protocols 0-5 ("3"), the same optimized by
// pickletools ("3o": no unused PUTs) and the pure-Python pickler ("3py") when it differs.
struct Sample {
  std::string name, tag, bytes;
};
const std::vector<Sample>& cpython_samples() {
  static const auto* samples = [] {
    auto* out = new std::vector<Sample>();
    auto r = pg::test::run_python(python_cases() + R"(
for name, f in cases.items():
    v = f()
    for p in range(6):
        d = pickle.dumps(v, protocol=p)
        print(name, p, d.hex())
        o = pickletools.optimize(d)
        if o != d:
            print(name, str(p) + 'o', o.hex())
        y = pickle._dumps(v, protocol=p)
        if y != d:
            print(name, str(p) + 'py', y.hex())
)");
    if (!r) {
      out->push_back({"python-failed", r.error(), ""});
      return out;
    }
    std::istringstream in(*r);
    std::string name, tag, hex;
    while (in >> name >> tag >> hex) out->push_back({name, tag, from_hex(hex)});
    return out;
  }();
  return *samples;
}

// Refusal is checked by its message: the limits stop hostile input before it costs anything
// (bench, not tests, is where speed is measured).
void expect_error(std::string_view data, const std::string& fragment, const PickleLimits& limits = {}) {
  auto r = unpickle(data, limits);
  ASSERT_FALSE(r) << "accepted: " << r->repr().substr(0, 200);
  EXPECT_NE(r.error().find(fragment), std::string::npos) << "error was: " << r.error();
}

Value read_ok(std::string_view data) {
  auto r = unpickle(data);
  EXPECT_TRUE(r) << r.error();
  return r ? *r : Value();
}

// String literals keep their embedded NULs.
template <std::size_t N>
std::string B(const char (&s)[N]) {
  return std::string(s, N - 1);
}
template <std::size_t N>
void expect_error(const char (&s)[N], const std::string& fragment, const PickleLimits& limits = {}) {
  expect_error(std::string_view(s, N - 1), fragment, limits);
}
template <std::size_t N>
Value read_ok(const char (&s)[N]) {
  return read_ok(std::string_view(s, N - 1));
}

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

}  // namespace

TEST(Unpickle, EveryCPythonProtocol) {
  const auto& samples = cpython_samples();
  ASSERT_FALSE(samples.empty());
  ASSERT_NE(samples[0].name, "python-failed") << samples[0].tag;
  std::size_t checked = 0;
  for (const auto& s : samples) {
    const auto& want = corpus().at(s.name).value;
    auto r = unpickle(s.bytes);
    ASSERT_TRUE(r) << s.name << " protocol " << s.tag << ": " << r.error() << "\n  " << to_hex(s.bytes).substr(0, 200);
    EXPECT_EQ(*r, want) << s.name << " protocol " << s.tag << ": got " << r->repr().substr(0, 300);
    if (s.name == "f_negzero") {
      EXPECT_TRUE(std::signbit(r->as_float()));
    }
    ++checked;
  }
  EXPECT_GE(checked, corpus().size() * 6);
}

TEST(Pickle, CPythonLoadsOurOutput) {
  std::string lines = "samples = [\n";
  for (const auto& [name, c] : corpus())
    for (int p = 2; p <= 5; ++p) lines += "  ('" + name + "', " + std::to_string(p) + ", '" + to_hex(pickle(c.value, p)) + "'),\n";
  lines += "]\n";
  auto r = pg::test::run_python(python_cases() + lines + R"(
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return [repr(k) for k in a] == [repr(k) for k in b] and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (set, frozenset)):
        return sorted(map(repr, a)) == sorted(map(repr, b))
    return a == b
for name, p, h in samples:
    data = bytes.fromhex(h)
    try:
        v = pickle.loads(data)
    except Exception as e:
        print(name, p, 'FAIL', type(e).__name__, e)
        continue
    if data[1] != p:
        print(name, p, 'FAIL protocol byte', data[1])
    elif same(v, cases[name]()):
        print(name, p, 'OK')
    else:
        print(name, p, 'FAIL', repr(v)[:200])
)");
  ASSERT_TRUE(r) << r.error();
  std::istringstream in(*r);
  std::string line;
  std::size_t ok = 0;
  while (std::getline(in, line)) {
    if (line.find(" OK") != std::string::npos) {
      ++ok;
    } else {
      ADD_FAILURE() << line;
    }
  }
  EXPECT_EQ(ok, corpus().size() * 4);
}

TEST(Pickle, RoundTripsThroughOurReader) {
  for (const auto& [name, c] : corpus()) {
    for (int p = 2; p <= 5; ++p) {
      auto r = unpickle(pickle(c.value, p));
      ASSERT_TRUE(r) << name << " protocol " << p << ": " << r.error();
      EXPECT_EQ(*r, c.value) << name << " protocol " << p;
    }
  }
  EXPECT_EQ(pickle(Value(), 0), pickle(Value(), 2)) << "protocols below 2 are written as 2";
  EXPECT_EQ(pickle(Value(), 9), pickle(Value(), 5)) << "protocols above 5 are written as 5";
}

TEST(Pickle, WriterShapes) {
  EXPECT_EQ(pickle(Value::integer(1), 4), std::string("\x80\x04K\x01.", 5));
  EXPECT_EQ(pickle(Value::str("hi"), 4), std::string("\x80\x04\x8c\x02hi.", 7));
  EXPECT_EQ(pickle(Value::str("hi"), 3), std::string("\x80\x03X\x02\x00\x00\x00hi.", 10));
  EXPECT_EQ(pickle(Value::bytearray("x"), 5), std::string("\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00x.", 13));
  EXPECT_EQ(pickle(Value::set({}), 3), B("\x80\x03" "cbuiltins\nset\n]\x85R."));
  EXPECT_EQ(pickle(Value::bytes(""), 2), B("\x80\x02" "c__builtin__\nbytes\n)R."));
  // Ill-formed UTF-8 is replaced, so that Python can load it.
  EXPECT_EQ(*unpickle(pickle(Value::str("a\xff"), 4)), Value::str("a\xEF\xBF\xBD"));
  // APPENDS in batches of 1000: 3001 items -> 3 APPENDS + 1 APPEND.
  pg::value::Items items(3001, Value::integer(7));
  const std::string p = pickle(Value::list(items), 4);
  EXPECT_EQ(std::count(p.begin(), p.end(), 'e'), 3);
  EXPECT_EQ(std::count(p.begin(), p.end(), 'a'), 1);
}

TEST(Unpickle, HandWrittenOldForms) {
  // Python 2 style protocol 0: list with STRING items, PUT/GET text memo, LONG with 'L'.
  EXPECT_EQ(read_ok("(lp0\nI1\naS'abc'\np1\nag1\naL12345678901234567890L\na."),
            Value::list({Value::integer(1), Value::str("abc"), Value::str("abc"),
                         Value::big(pg::value::BigInt::from_decimal("12345678901234567890").value())}));
  EXPECT_EQ(read_ok("S'a\\x41\\n\\'\\101\\q'\n."), Value::str("aA\n'A\\q"));
  EXPECT_EQ(read_ok("S\"x\"\n."), Value::str("x"));
  EXPECT_EQ(read_ok("U\x03" "abc."), Value::str("abc"));
  EXPECT_EQ(read_ok(std::string("T\x01\x00\x00\x00z.", 7)), Value::str("z"));
  EXPECT_EQ(read_ok("I01\n."), Value::boolean(true));
  EXPECT_EQ(read_ok("I00\n."), Value::boolean(false));
  EXPECT_EQ(read_ok("I-7\n."), Value::integer(-7));
  EXPECT_EQ(read_ok("F-1.5e+300\n."), Value::real(-1.5e300));
  EXPECT_EQ(read_ok("Vx\\u00e9\\U0001F600\xe9\n."), Value::str("xé😀é"));
  EXPECT_EQ(read_ok("V\\\\u0041\n."), Value::str("\\\\u0041"));
  // POP, POP_MARK, DUP, duplicate keys and members (later dict values win, first key kept).
  EXPECT_EQ(read_ok("\x80\x02K\x01K\x02" "0."), Value::integer(1));
  EXPECT_EQ(read_ok("\x80\x02K\x01(K\x02K\x03" "1."), Value::integer(1));
  EXPECT_EQ(read_ok("\x80\x02K\x01" "2\x86."), Value::tuple({Value::integer(1), Value::integer(1)}));
  EXPECT_EQ(read_ok("\x80\x02}(K\x01K\x02K\x01K\x03u."), Value::dict({{Value::integer(1), Value::integer(3)}}));
  EXPECT_EQ(read_ok("\x80\x04\x8f(K\x01K\x01\x90."), Value::set({Value::integer(1)}));
  EXPECT_EQ(read_ok("(K\x01K\x01\x91."), Value::frozenset({Value::integer(1)}));
  // Python 2 bytearray(u'...', 'latin-1').
  EXPECT_EQ(read_ok("c__builtin__\nbytearray\n(V\xff\nS'latin-1'\ntR."), Value::bytearray("\xff"));
}

TEST(Unpickle, RefusesCode) {
  const std::string only = "; only None, bool, int, float, str, bytes, bytearray, tuple, list, dict, set and frozenset are accepted";
  expect_error("\x80\x04" "cos\nsystem\n(S'ls'\ntR.", "pickle refused: opcode GLOBAL at offset 2 names os.system" + only);
  expect_error("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93\x8c\x01x\x85R.",
               "pickle refused: opcode STACK_GLOBAL at offset 18 names builtins.eval" + only);
  expect_error("(S'ls'\nios\nsystem\n.", "pickle refused: opcode INST at offset 7 names os.system" + only);
  expect_error("(]o.", "pickle refused: opcode OBJ at offset 2 builds an object");
  expect_error("\x80\x02])\x81.", "pickle refused: opcode NEWOBJ at offset 4");
  expect_error("\x80\x04])}\x92.", "pickle refused: opcode NEWOBJ_EX at offset 5");
  expect_error("\x80\x02]}b.", "pickle refused: opcode BUILD at offset 4 sets an object's state");
  expect_error("Pfoo\n.", "pickle refused: opcode PERSID at offset 0 names persistent id 'foo'");
  expect_error("\x80\x02X\x01\x00\x00\x00" "aQ.", "pickle refused: opcode BINPERSID at offset 8");
  expect_error("\x80\x02\x82\x01.", "pickle refused: opcode EXT1 at offset 2 names extension registry code 1");
  expect_error("\x80\x02\x83\x01\x02.", "opcode EXT2 at offset 2 names extension registry code 513");
  expect_error(std::string("\x80\x02\x84\x00\x00\x00\x01.", 8), "opcode EXT4 at offset 2 names extension registry code 16777216");
  expect_error("\x80\x05\x97.", "pickle refused: opcode NEXT_BUFFER at offset 2 uses an out-of-band buffer");
  expect_error("\x80\x05\x98.", "opcode READONLY_BUFFER");
  expect_error("c__builtin__\neval\n.", "names __builtin__.eval");
  expect_error("c_codecs\ndecode\n.", "names _codecs.decode");
  expect_error("cbuiltins\nset\x00x\n.", "names builtins.set?x");
  // Whitelisted builtins: only the shapes CPython writes.
  expect_error("c__builtin__\nset\n(S'abc'\ntR.", "opcode REDUCE at offset 26: builtins.set is accepted only applied to ()");
  expect_error("c_codecs\nencode\n(Vx\nVrot13\ntR.", "_codecs.encode is accepted only as encode(str, 'latin1')");
  expect_error("c_codecs\nencode\n(V\\u0100\nVlatin1\ntR.", "characters above U+00FF");
  expect_error("c__builtin__\nbytes\n(I1\ntR.", "builtins.bytes is accepted only as bytes()");
  expect_error("c__builtin__\nset\n((l]atR.", "builtins.set of a list holding an unhashable list");
  expect_error("c__builtin__\nset\n]R.", "the arguments are a list, not a tuple");
  expect_error("\x80\x02])R.", "pickle refused: opcode REDUCE at offset 4 calls a list" + only);
  expect_error("\x80\x02" "c__builtin__\nset\n.", "builtins.set is referenced but never called");
  expect_error("\x80\x02" "c__builtin__\nset\n\x85.", "builtins.set is referenced but never called");
  expect_error("\x80\x02K\x01K\x02\x93.", "STACK_GLOBAL at offset 6: module and name must be two str values");
}

TEST(Unpickle, RefusesMalformedInput) {
  expect_error("", "invalid pickle: empty input");
  expect_error("\x80\x02N.N", "invalid pickle: 1 bytes of trailing data after STOP at offset 3");
  expect_error("\x80\x02N", "invalid pickle: the input ends at offset 3 without STOP");
  expect_error("\x80\x02(N.", "invalid pickle: opcode STOP at offset 4: a MARK is still open");
  expect_error("\x80\x02NN.", "2 values on the stack, expected 1");
  expect_error("\x80\x02.", "0 values on the stack, expected 1");
  expect_error("\x80\x02]Ne.", "invalid pickle: opcode APPENDS at offset 4: no MARK to pop to");
  expect_error("\x80\x02" "1.", "no MARK to pop to");
  expect_error("\x80\x02" "a.", "opcode APPEND at offset 2: stack underflow");
  expect_error("\x80\x02]" "(a.", "opcode APPEND at offset 4: stack underflow");
  expect_error("\x80\x02K\x01\x86.", "opcode TUPLE2 at offset 4: stack underflow");
  expect_error("\x80\x02}K\x01" "a.", "opcode APPEND at offset 5: expects a list below its items, found a dict");
  expect_error("\x80\x02h\x05.", "invalid pickle: opcode BINGET at offset 2: memo key 5 is not defined");
  expect_error("\x80\x02q\x00.", "opcode BINPUT at offset 2: stack underflow");
  expect_error("gx\n.", "memo index is not a number");
  expect_error("\x80\x06N.", "unsupported protocol 6");
  expect_error("\x80\x02\xff.", "invalid pickle: unknown opcode 0xff at offset 2");
  expect_error("\x80\x04\x8f(]\x90.", "opcode ADDITEMS at offset 5: unhashable set member of type list");
  expect_error("\x80\x02}]Ns.", "opcode SETITEM at offset 5: unhashable dict key of type list");
  expect_error("\x80\x02}}\x85Ns.", "unhashable dict key of type tuple");
  expect_error("\x80\x02(}\x91.", "unhashable frozenset member of type dict");
  expect_error("\x80\x02(]K\x01" "d.", "unhashable dict key of type list");
  expect_error("\x80\x02(K\x01" "d.", "odd number of items for a dict");
  expect_error("\x80\x05\x8f(\x96\x01\x00\x00\x00\x00\x00\x00\x00x\x90.", "opcode ADDITEMS at offset 14: unhashable set member of type bytearray");
  expect_error("\x80\x05(\x96\x00\x00\x00\x00\x00\x00\x00\x00\x91.", "unhashable frozenset member of type bytearray");
  expect_error("\x80\x02]q\x00h\x00" "a.", "pickle refused: a list contains itself; recursive structures are not supported");
  expect_error("X\xff\xff\xff\xff" "0123456789.", "invalid pickle: opcode BINUNICODE at offset 0: truncated input: needs 4294967295 bytes, 11 remain");
  expect_error("\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\xff" "ab.", "needs 18446744073709551615 bytes, 3 remain");
  expect_error("\x80\x02T\xff\xff\xff\xff.", "opcode BINSTRING at offset 2: negative length");
  expect_error("\x80\x02X\x02\x00\x00\x00\xc3(.", "a str that is not valid UTF-8");
  expect_error("\x80\x02X\x03\x00\x00\x00\xed\xa0\x80.", "lone surrogates are not accepted");
  expect_error("V\\ud800\n.", "a lone surrogate");
  expect_error("V\\u12\n.", "truncated \\u escape");
  expect_error("S'\xe9'\n.", "a Python 2 str with non-ASCII bytes");
  expect_error("Sabc\n.", "the STRING argument must be quoted");
  expect_error("I010\n.", "integer text with a leading zero");
  expect_error("I1x\n.", "is not a decimal integer");
  expect_error("Fabc\n.", "is not a float");
  expect_error("\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "frame of 255 bytes, 2 remain");
  expect_error("\x80\x02" "cos\n", "truncated input: no end of line");
}

TEST(Unpickle, EveryTruncationIsAnError) {
  ASSERT_NE(cpython_samples().at(0).name, "python-failed") << cpython_samples().at(0).tag;
  std::vector<std::string> valid;
  for (const auto& s : cpython_samples())
    if (s.name == "mixed" || s.name == "neg_2_100" || s.name == "s_unicode" || s.name == "ba_x") valid.push_back(s.bytes);
  ASSERT_GE(valid.size(), 24u);
  for (const auto& v : valid) {
    ASSERT_TRUE(unpickle(v));
    for (std::size_t n = 0; n < v.size(); ++n) {
      auto r = unpickle(std::string_view(v).substr(0, n));
      ASSERT_FALSE(r) << "prefix of " << n << " bytes of " << to_hex(v) << " was accepted";
      EXPECT_FALSE(r.error().empty());
    }
  }
}

TEST(Unpickle, Limits) {
  // 100,000 nested lists.
  expect_error("\x80\x02" + std::string(100000, ']') + std::string(99999, 'a') + ".",
               "pickle refused: the result is nested deeper than 512 levels (max_depth)");
  expect_error("\x80\x02" + std::string(1000, '(') + ".", "more than 512 open MARKs (max_depth)");
  // LONG4 declaring 1 GB; LONG text over the digit limit.
  expect_error(std::string("\x80\x02\x8b\x00\x00\x00\x40", 7) + "xx.", "an integer of 1073741824 bytes is over the limit of 4096 (max_bigint_bytes)");
  expect_error("L" + std::string(20000, '7') + "L\n.", "pickle refused: opcode LONG at offset 0: an integer of 20000 digits");
  expect_error("I" + std::string(20000, '7') + "\n.", "an integer of 20000 digits");
  // 1e6 memo entries (LONG_BINPUT with distinct indices; MEMOIZE).
  std::string memo = "\x80\x04N";
  for (std::uint32_t i = 0; i < 1000000; ++i) memo += "r" + le32(i);
  expect_error(memo + ".", "pickle refused: opcode LONG_BINPUT at offset 500003: more than 100000 memo entries (max_memo)");
  expect_error("\x80\x04N" + std::string(1000000, '\x94') + ".", "more than 100000 memo entries");
  // Shared references cannot multiply the result: 2^30 elements from 30 doublings.
  std::string laughs = "\x80\x02]r" + le32(0);
  for (std::uint32_t i = 1; i <= 30; ++i) laughs += "0(j" + le32(i - 1) + "j" + le32(i - 1) + "lr" + le32(i);
  expect_error(laughs + ".", "pickle refused: the result would hold more than 1000000 values (max_elements)");
  PickleLimits small;
  small.max_output_bytes = 1u << 20;
  std::string strings = "\x80\x02(X" + le32(200000) + std::string(200000, 's') + B("q\x00");
  for (int i = 0; i < 10; ++i) strings += B("h\x00");
  expect_error(strings + "l.", "the result would hold more than 1048576 bytes (max_output_bytes)", small);
  // The stack and the number of values.
  expect_error("\x80\x02" + std::string(1100000, 'N') + ".", "the stack would hold more than 1000000 values");
  expect_error("\x80\x02" + std::string(1000001, ']') + ".", "more than 1000000 values (max_elements)");
  small = {};
  small.max_input_bytes = 10;
  expect_error("\x80\x02(" + std::string(20, 'N') + "l.", "pickle refused: 25 bytes is over the limit of 10 (max_input_bytes)", small);
  // Defaults are what pickle.hpp documents.
  const PickleLimits d;
  EXPECT_EQ(d.max_input_bytes, 16u << 20);
  EXPECT_EQ(d.max_depth, 512u);
  EXPECT_EQ(d.max_elements, 1000000u);
  EXPECT_EQ(d.max_memo, 100000u);
  EXPECT_EQ(d.max_bigint_bytes, 4096u);
  // Within limits: 511 levels of nesting and a 4096-byte integer.
  EXPECT_TRUE(unpickle("\x80\x02" + std::string(511, ']') + std::string(510, 'a') + "."));
  EXPECT_TRUE(unpickle(std::string("\x80\x02\x8b\x00\x10\x00\x00", 7) + std::string(4096, '\x11') + "."));
}

// The budget a request body gets (PickleLimits::for_budget: the gateway passes 4 x
// limits.max_body_bytes): the expanded value is measured on the object graph, memo references
// counted each time they are used, and refused naming the limit.
TEST(Unpickle, BodyBudgetBoundsTheExpandedValue) {
  const auto limits = PickleLimits::for_budget(4u << 20);
  EXPECT_EQ(limits.max_output_bytes, 4u << 20);
  EXPECT_EQ(limits.max_elements, 1u << 20);
  EXPECT_LT(limits.max_output_bytes, PickleLimits{}.max_output_bytes);
  // 100 KB named 100 times through the memo: 10 MB expanded from 100 KB of pickle.
  std::string bomb = "\x80\x04(X" + le32(100000) + std::string(100000, 'a') + B("q\x00");
  for (int i = 1; i < 100; ++i) bomb += B("h\x00");
  expect_error(bomb + "t.",
               "pickle refused: the result would hold more than 4194304 bytes (the expansion limit, "
               "4 x limits.max_body_bytes) (shared references count each time)",
               limits);
  // The same pickle naming it 40 times (4 MB) is within it.
  std::string fits = "\x80\x04(X" + le32(100000) + std::string(100000, 'a') + B("q\x00");
  for (int i = 1; i < 40; ++i) fits += B("h\x00");
  auto ok = unpickle(fits + "t.", limits);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->items().size(), 40u);
  // Doubling a list through the memo 40 times: 2^40 values, refused by count (nothing is copied).
  std::string laughs = "\x80\x02]r" + le32(0);
  for (std::uint32_t i = 1; i <= 40; ++i) laughs += "0(j" + le32(i - 1) + "j" + le32(i - 1) + "lr" + le32(i);
  expect_error(laughs + ".", "the result would hold more than 1048576 values (the expansion limit", limits);
  // Sharing that nests: one list referenced at ever deeper levels is over max_depth wherever it is met.
  std::string deep = "\x80\x02]r" + le32(0);
  for (std::uint32_t i = 1; i <= 600; ++i) deep += "0]j" + le32(i - 1) + "ar" + le32(i);
  expect_error(deep + ".", "the result is nested deeper than 512 levels (max_depth)", limits);
  // A list that contains itself is refused before it is measured to the end.
  expect_error("\x80\x02]q\x00h\x00" "a.", "a list contains itself", limits);
}

// The hostile pickles kept as fuzz seeds (fuzz/corpus/pickle/): CPython loads each of them, and
// every one is refused under a request body's budget.
TEST(Unpickle, HostileCorpusIsRefusedUnderTheBodyBudget) {
  const auto limits = PickleLimits::for_budget(4u << 20);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(PG_SOURCE_DIR) + "/fuzz/corpus/pickle")) {
    if (e.path().extension() != ".pickle") continue;
    ++files;
    std::ifstream f(e.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto r = unpickle(data, limits);
    ASSERT_FALSE(r) << e.path().filename() << " was accepted";
    EXPECT_EQ(r.error().rfind("pickle refused: ", 0), 0u) << e.path().filename() << ": " << r.error();
  }
  EXPECT_GE(files, 7u);
}

TEST(Unpickle, FuzzedInputsNeverCrash) {
  std::vector<std::string> seeds;
  for (const auto& name : {"mixed", "d_keys", "shared", "set_123", "ba_x", "neg_2_100", "s_escapes", "t_5", "fs_a"})
    for (int p = 2; p <= 5; ++p) seeds.push_back(pickle(corpus().at(name).value, p));
  for (const auto& s : cpython_samples())
    if (s.name == "mixed" || s.name == "shared" || s.name == "b_00ff") seeds.push_back(s.bytes);
  std::mt19937 rng(20240607);
  std::size_t accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string d = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !d.empty(); ++e) {
      const std::size_t at = rng() % d.size();
      switch (rng() % 5) {
        case 0: d[at] = static_cast<char>(rng()); break;
        case 1: d.insert(d.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng())); break;
        case 2: d.erase(at, 1); break;
        case 3: d.resize(at); break;
        default: d.insert(at, d.substr(rng() % d.size(), 1 + rng() % 8)); break;
      }
    }
    auto r = unpickle(d);
    if (r) ++accepted;
    else {
      ++refused;
      ASSERT_FALSE(r.error().empty());
      ASSERT_TRUE(r.error().rfind("invalid pickle: ", 0) == 0 || r.error().rfind("pickle refused: ", 0) == 0) << r.error();
    }
  }
  EXPECT_EQ(accepted + refused, 20000u);
  EXPECT_GT(refused, 10000u);
}
