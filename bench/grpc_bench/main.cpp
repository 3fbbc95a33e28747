// pg-grpc-bench: the same work through the gateway's gRPC API and its HTTP API, closed loop, for
// bench/grpc_vs_http.sh.
//
// N worker threads each keep one call in flight for the duration (after a warm-up) and record
// each call's latency: send to the complete answer (HTTP: the 200 response; gRPC Call: the
// response; gRPC CallStream: the stream's OK status, after every token event). Closed loop: it
// measures throughput at a concurrency, and the latency at that throughput.
//
//   --mode grpc-call    Call(endpoint, kwargs)              --mode http   GET --path on keep-alive
//   --mode grpc-stream  CallStream(endpoint, kwargs)                      connections (one a worker)
//
// Output on stdout: one JSON line, then one human-readable line. Loopback only.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pie/gateway/v1/gateway.grpc.pb.h"

namespace {

namespace pb = ::pie::gateway::v1;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode, target, path = "/echo?text=hello", endpoint = "echo";
  std::vector<std::string> kwargs;  // name=value (strings; digits-only values are sent as int)
  int concurrency = 16;
  double duration = 10, warmup = 2;
};

struct Tally {
  std::vector<double> latencies_us;  // measured calls only
  std::size_t errors = 0;
  std::string first_error;
};

pb::CallRequest request(const Options& o) {
  pb::CallRequest r;
  r.set_endpoint(o.endpoint);
  for (const auto& kv : o.kwargs) {
    auto eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    pb::Value val;
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) val.set_int_value(std::stoll(v));
    else val.set_string_value(v);
    (*r.mutable_kwargs())[k] = val;
  }
  return r;
}

/// One worker: calls back to back until `end`; latencies after `measure_from` are kept.
void grpc_worker(const Options& o, std::shared_ptr<grpc::Channel> ch, Clock::time_point measure_from,
                 Clock::time_point end, Tally& t) {
  auto stub = pb::Gateway::NewStub(ch);
  const auto req = request(o);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status st;
    if (o.mode == "grpc-call") {
      pb::CallResponse resp;
      st = stub->Call(&ctx, req, &resp);
    } else {
      auto reader = stub->CallStream(&ctx, req);
      pb::JobEvent ev;
      std::size_t n = 0;
      while (reader->Read(&ev)) ++n;
      st = reader->Finish();
      if (st.ok() && n < 2) st = grpc::Status(grpc::StatusCode::INTERNAL, "stream without events");
    }
    const auto t1 = Clock::now();
    if (!st.ok()) {
      if (t.errors++ == 0) t.first_error = st.error_message();
      continue;
    }
    if (t0 >= measure_from) t.latencies_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
}

void http_worker(const Options& o, Clock::time_point measure_from, Clock::time_point end, Tally& t) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  auto colon = o.target.rfind(':');
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(o.target.substr(0, colon)),
                                    static_cast<unsigned short>(std::stoi(o.target.substr(colon + 1))));
  stream.connect(ep);
  stream.socket().set_option(boost::asio::ip::tcp::no_delay(true));
  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, o.path, 11};
  req.set(beast::http::field::host, o.target);
  beast::flat_buffer buf;
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    beast::http::response<beast::http::string_body> res;
    beast::error_code ec;
    beast::http::write(stream, req, ec);
    if (!ec) beast::http::read(stream, buf, res, ec);
    const auto t1 = Clock::now();
    if (ec || res.result_int() != 200) {
      if (t.errors++ == 0) t.first_error = ec ? ec.message() : "HTTP " + std::to_string(res.result_int());
      if (ec) return;
      continue;
    }
    if (t0 >= measure_from) t.latencies_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"pg-grpc-bench: closed-loop calls through pie-gateway's gRPC or HTTP API"};
  cli.add_option("--mode", o.mode, "grpc-call | grpc-stream | http")->required()->check(CLI::IsMember({"grpc-call", "grpc-stream", "http"}));
  cli.add_option("--target", o.target, "127.0.0.1:PORT (gRPC or HTTP port)")->required();
  cli.add_option("--path", o.path, "http: the GET path and query");
  cli.add_option("--endpoint", o.endpoint, "grpc: the endpoint");
  cli.add_option("--kw", o.kwargs, "grpc: a keyword argument name=value (repeatable)");
  cli.add_option("--concurrency", o.concurrency, "calls in flight (one worker thread each)")->check(CLI::Range(1, 512));
  cli.add_option("--duration", o.duration, "seconds measured")->check(CLI::Range(0.1, 3600.0));
  cli.add_option("--warmup", o.warmup, "seconds before measuring")->check(CLI::Range(0.0, 600.0));
  CLI11_PARSE(cli, argc, argv);
  if (o.target.rfind("127.", 0) != 0 && o.target.rfind("[::1]", 0) != 0) {
    std::cerr << "--target must be a loopback address\n";
    return 2;
  }

  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  std::vector<Tally> tallies(static_cast<std::size_t>(o.concurrency));
  std::vector<std::thread> workers;
  // A few channels (each its own HTTP/2 connection), shared round-robin, as a client service would.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 4 && o.mode != "http"; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct arguments: distinct connections
    channels.push_back(grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args));
  }
  for (int i = 0; i < o.concurrency; ++i) {
    auto& t = tallies[static_cast<std::size_t>(i)];
    if (o.mode == "http") workers.emplace_back([&o, &t, measure_from, end] { http_worker(o, measure_from, end, t); });
    else
      workers.emplace_back([&o, &t, ch = channels[static_cast<std::size_t>(i) % channels.size()], measure_from, end] {
        grpc_worker(o, ch, measure_from, end, t);
      });
  }
  for (auto& w : workers) w.join();

  std::vector<double> all;
  std::size_t errors = 0;
  std::string first_error;
  for (auto& t : tallies) {
    all.insert(all.end(), t.latencies_us.begin(), t.latencies_us.end());
    errors += t.errors;
    if (first_error.empty()) first_error = t.first_error;
  }
  const double rate = static_cast<double>(all.size()) / o.duration;
  const double p50 = percentile(all, 50), p99 = percentile(all, 99);
  nlohmann::json j = {{"mode", o.mode}, {"concurrency", o.concurrency}, {"duration_s", o.duration},
                      {"calls", all.size()}, {"calls_per_s", rate}, {"p50_us", p50}, {"p99_us", p99},
                      {"errors", errors}, {"first_error", first_error}};
  std::cout << j.dump() << "\n";
  std::printf("%s: %zu calls in %.1f s = %.0f calls/s, p50 %.0f us, p99 %.0f us, %zu errors%s%s\n", o.mode.c_str(),
              all.size(), o.duration, rate, p50, p99, errors, first_error.empty() ? "" : ": ", first_error.c_str());
  return errors > 0 && all.empty() ? 1 : 0;
}
