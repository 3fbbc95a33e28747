#include "soak.hpp"

#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "grpc_calls.hpp"
#include "http_calls.hpp"

namespace pg::soak {
namespace {

using Done = std::function<void(const std::string&)>;
using Start = std::function<void(std::uint64_t n, Done done)>;

/// One class of call: its own fixed-rate schedule and its own bound on calls in flight (a call
/// due while the class is at its bound is not sent and counts as "shed").
struct Class {
  std::string name;
  double rate = 0;  // calls per second
  int max_in_flight = 0;
  Start start;
  std::atomic<int> in_flight{0};
  std::uint64_t next = 0;
  std::unique_ptr<net::steady_timer> timer;
};

// The mix at --scale 1: about 137 calls per second.
struct Mix {
  const char* name;
  double rate;
  HttpCall http;  // nullptr: a gRPC class
};
constexpr Mix kMix[] = {
    {"echo", 40, sync_echo},          {"complete", 10, sync_complete},  {"rpc", 15, rpc_echo},
    {"async", 10, async_poll},        {"async_sse", 5, async_watch},    {"sse", 10, sse_call},
    {"chat", 3, conversation},        {"vanish", 6, vanish},            {"bad", 5, bad_request},
    {"grpc_call", 20, nullptr},       {"grpc_stream", 8, nullptr},      {"grpc_converse", 2, nullptr},
    {"grpc_submit", 3, nullptr},
};

Start grpc_start(GrpcCalls& g, const std::string& name) {
  if (name == "grpc_call") return [&g](std::uint64_t n, Done d) { g.unary(n, std::move(d)); };
  if (name == "grpc_stream") return [&g](std::uint64_t n, Done d) { g.stream(n, std::move(d)); };
  if (name == "grpc_converse") return [&g](std::uint64_t n, Done d) { g.converse(n, std::move(d)); };
  return [&g](std::uint64_t n, Done d) { g.submit_wait(n, std::move(d)); };
}

bool split(const std::string& hostport, std::string& host, std::string& port) {
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  host = hostport.substr(0, colon);
  port = hostport.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (err != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535) return false;
  boost::system::error_code ec;
  auto a = net::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

class Soak {
 public:
  Soak(net::io_context& ioc, const Options& o, HttpCtx& http, GrpcCalls& grpc)
      : ioc_(ioc), o_(o), http_(http), sampler_(ioc) {
    for (const auto& m : kMix) {
      auto c = std::make_unique<Class>();
      c->name = m.name;
      c->rate = m.rate * o.scale;
      // Room for every call of 20 s at its rate (a stalled server holds launches for its
      // request_timeout before they go elsewhere), and never fewer than 32.
      c->max_in_flight = static_cast<int>(std::ceil(c->rate * 20)) + 32;
      if (m.http) {
        c->start = [this, fn = m.http](std::uint64_t n, Done d) {
          net::co_spawn(ioc_, fn(http_, n), [this, d](std::exception_ptr e, std::string out) {
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& ex) {
                http_.tally.note("exception", ex.what());
              }
              out = kBad;
            }
            d(out);
          });
        };
      } else {
        c->start = grpc_start(grpc, c->name);
      }
      c->timer = std::make_unique<net::steady_timer>(ioc);
      classes_.push_back(std::move(c));
    }
  }

  void begin() {
    t0_ = Clock::now();
    end_ = t0_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration));
    for (auto& c : classes_)
      if (c->rate > 0) tick(*c);
    sample(1);
  }

 private:
  Clock::time_point due(const Class& c, std::uint64_t i) const {
    return t0_ + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / c.rate));
  }

  void tick(Class& c) {
    const auto now = Clock::now();
    while (due(c, c.next) <= now && due(c, c.next) < end_) {
      const auto n = c.next++;
      if (c.in_flight.load() >= c.max_in_flight) {
        http_.tally.add(c.name, kShed);
        continue;
      }
      ++c.in_flight;
      c.start(n, [this, &c](const std::string& out) {
        http_.tally.add(c.name, out);
        --c.in_flight;
      });
    }
    if (due(c, c.next) >= end_) return;
    c.timer->expires_at(due(c, c.next));
    c.timer->async_wait([this, &c](boost::system::error_code ec) {
      if (!ec) tick(c);
    });
  }

  int in_flight() const {
    int n = 0;
    for (const auto& c : classes_) n += c->in_flight.load();
    return n;
  }

  double since_start() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  void print(nlohmann::ordered_json j) {
    const auto p = sample_proc(o_.watch_pid);
    j["rss_kib"] = p.rss_kib;
    j["fds"] = p.fds;
    j["in_flight"] = in_flight();
    std::cout << j.dump() << std::endl;
  }

  // Every sample_every: RSS and fds; every report_every: the counts since the last report.
  void sample(std::uint64_t k) {
    sampler_.expires_at(t0_ + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o_.sample_every * static_cast<double>(k))));
    sampler_.async_wait([this, k](boost::system::error_code ec) {
      if (ec) return;
      const double t = o_.sample_every * static_cast<double>(k);
      const bool last = Clock::now() >= end_;
      const auto per_report = std::max<std::uint64_t>(1, std::llround(o_.report_every / o_.sample_every));
      if (k % per_report == 0 || last) {
        nlohmann::ordered_json j;
        j["report"] = std::round(t * 10) / 10;
        j["counts"] = http_.tally.take_interval();
        print(std::move(j));
      } else {
        print({{"sample", std::round(t * 10) / 10}});
      }
      if (last) return drain(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(o_.timeout + 5)));
      sample(k + 1);
    });
  }

  // After the last send: every call in flight must end within its deadline (plus slack).
  void drain(Clock::time_point until) {
    if (in_flight() > 0 && Clock::now() < until) {
      sampler_.expires_after(std::chrono::milliseconds(100));
      sampler_.async_wait([this, until](boost::system::error_code ec) {
        if (!ec) drain(until);
      });
      return;
    }
    for (auto& c : classes_)
      for (int i = 0, n = c->in_flight.load(); i < n; ++i) http_.tally.add(c->name, kUnanswered);
    left_in_flight_ = in_flight();
    close_idle(http_);
    nlohmann::ordered_json j;
    j["final"] = std::round(since_start() * 10) / 10;
    j["counts"] = http_.tally.totals();
    j["left_in_flight"] = left_in_flight_;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);  // this process's own CPU time: the generator must not be the bottleneck
    j["cpu_s"] = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    print(std::move(j));
    ioc_.stop();
  }

 public:
  int left_in_flight_ = 0;

 private:
  net::io_context& ioc_;
  const Options& o_;
  HttpCtx& http_;
  net::steady_timer sampler_;
  std::vector<std::unique_ptr<Class>> classes_;
  Clock::time_point t0_, end_;
};

}  // namespace

int run(const Options& o) {
  std::string host, port, ghost, gport;
  if (!split(o.http, host, port) || !split(o.grpc, ghost, gport)) {
    std::cerr << "--http and --grpc must be loopback HOST:PORT\n";
    return 2;
  }
  // Thousands of calls may be in flight when a server stalls: one socket each.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  net::io_context ioc(1);
  Tally tally;
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout * 1000));
  HttpCtx http{ioc, tcp::endpoint(net::ip::make_address(host), static_cast<unsigned short>(std::stoi(port))), o.http,
               tally, timeout, 64, {}};
  auto grpc = std::make_unique<GrpcCalls>(o.grpc, tally, timeout);
  Soak soak(ioc, o, http, *grpc);
  soak.begin();
  ioc.run();
  if (soak.left_in_flight_ > 0) {
    // gRPC calls still running would outlive their channel: leave without tearing anything down.
    std::cout.flush();
    std::_Exit(0);
  }
  return 0;
}

}  // namespace pg::soak
