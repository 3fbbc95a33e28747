// Micro-benchmarks of the pure per-call work on the hot path: Pie codec, TARP envelope,
// query parsing, argument binding. Run: build/bin/micro_bench
#include <benchmark/benchmark.h>

#include "config/loader.hpp"
#include "endpoints/registry.hpp"
#include "pie/v02/codec.hpp"
#include "tarp/envelope.hpp"
#include "tarp/query.hpp"

namespace v02 = pg::pie::v02;

static void BM_EncodeLaunch(benchmark::State& s) {
  v02::LaunchInstance m{42, "std/echo@0.1.0", {"hello", "world"}, false};
  for (auto _ : s) benchmark::DoNotOptimize(v02::encode(v02::ClientMessage{m}));
}
BENCHMARK(BM_EncodeLaunch);

static void BM_DecodeEvent(benchmark::State& s) {
  auto bytes = v02::encode(v02::ServerMessage{v02::InstanceEvent{"0a386e63-7908-42f6-88b9-f7823537133d", 1, "hello world"}});
  for (auto _ : s) benchmark::DoNotOptimize(v02::decode_server(bytes));
}
BENCHMARK(BM_DecodeEvent);

static void BM_EnvelopeText(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(pg::tarp::success_text("hello world"));
}
BENCHMARK(BM_EnvelopeText);

static void BM_ParseQuery(benchmark::State& s) {
  for (auto _ : s) benchmark::DoNotOptimize(pg::tarp::parse_query("prompt=Once+upon+a+time&max_tokens=16"));
}
BENCHMARK(BM_ParseQuery);

static void BM_Bind(benchmark::State& s) {
  auto cfg = pg::config::load_string(R"(
servers: [{name: a, uri: "ws://127.0.0.1:1/"}]
endpoints:
  - {name: c, kind: get, inferlet: x, params: [{name: prompt}, {name: max_tokens, type: int, default: "16"}],
     arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]}
)", "bench");
  auto reg = pg::endpoints::Registry::build(cfg->endpoints);
  const auto* ep = reg->find("c")->get;
  pg::endpoints::Params p{{"prompt", "Once upon a time"}};
  for (auto _ : s) benchmark::DoNotOptimize(ep->bind_named(p));
}
BENCHMARK(BM_Bind);

BENCHMARK_MAIN();
