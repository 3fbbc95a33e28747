// pg-loadgen: an open-loop load generator for pie-gateway's latency benchmark (bench/latency.sh).
//
// Calls are scheduled at fixed intervals of 1/rate from the start, whatever the target does (a
// schedule, not "send when the previous call returns"), and each call's latency runs from its
// SCHEDULED send time to its completion, so a stalled target cannot hide its stall by slowing the
// generator down (no coordinated omission). A call that finds no idle connection waits in a queue
// and that wait is part of its latency; such calls are counted as "late".
//
//   --mode http: HTTP/1.1 keep-alive GETs of one URL over N connections; a call succeeds on 200.
//   --mode pie:  Pie v0.2 `launch_instance` (detached:false) over N sessions (this project's
//                pg_pie client session, the same code the gateway uses), many launches in flight
//                per session; a call succeeds at the instance's Completed event.
//
// Single-threaded (one io_context), callback style. Output on stdout: one JSON line, then one
// human-readable line. Logs (pg_pie's) go to stderr. Only loopback addresses are accepted.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "pie/session.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::nanoseconds;

struct Options {
  std::string mode;
  std::string url;
  std::string pie;
  std::string inferlet = "std/echo@0.1.0";
  std::vector<std::string> args;
  int connections = 32;
  int sessions = 4;
  double rate = 1000;
  double duration = 10;
  double warmup = 1;
  double timeout = 10;  // per call
  double drain = 5;     // after the last scheduled send, wait this long for calls in flight
};

/// One scheduled call.
struct Call {
  std::uint64_t index = 0;
  Clock::time_point scheduled;
  bool recorded = false;  // false during warm-up
};

// ---- results ------------------------------------------------------------------------------

class Recorder {
 public:
  void sent(const Call& c, Clock::duration lag) {
    if (!c.recorded) return;
    ++sent_;
    const auto ns = duration_cast<nanoseconds>(lag).count();
    lag_max_ns_ = std::max<std::int64_t>(lag_max_ns_, ns);
    if (ns >= 1'000'000) ++lag_over_1ms_;
  }
  void queued(const Call& c) {
    if (c.recorded) ++late_;
  }
  void done(const Call& c, bool ok, Clock::time_point now) {
    if (!c.recorded) return;
    if (!ok) {
      ++errors_;
      return;
    }
    ++ok_;
    last_ok_ = std::max(last_ok_, now);
    samples_ns_.push_back(duration_cast<nanoseconds>(now - c.scheduled).count());
  }
  void timed_out(std::uint64_t n) { errors_ += n; }

  nlohmann::ordered_json report(const Options& o, Clock::time_point window_start, const std::string& client) {
    std::sort(samples_ns_.begin(), samples_ns_.end());
    auto pct = [&](double p) -> double {
      if (samples_ns_.empty()) return 0;
      // Nearest rank: the smallest sample with at least p% of the samples at or below it.
      auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples_ns_.size())));
      rank = std::clamp<std::size_t>(rank, 1, samples_ns_.size());
      return static_cast<double>(samples_ns_[rank - 1]) / 1000.0;
    };
    double mean = 0;
    for (auto s : samples_ns_) mean += static_cast<double>(s);
    if (!samples_ns_.empty()) mean /= static_cast<double>(samples_ns_.size()) * 1000.0;
    // Completions per second over the measured window, or until the last completion if the
    // target fell behind and finished later than the window's end.
    const double window = std::max(o.duration, std::chrono::duration<double>(last_ok_ - window_start).count());
    auto r1 = [](double v) { return std::round(v * 10) / 10; };
    nlohmann::ordered_json j;
    j["mode"] = o.mode;
    j["target"] = o.mode == "http" ? o.url : o.pie;
    j["client"] = client;
    j["rate"] = o.rate;
    j["duration_s"] = o.duration;
    j["warmup_s"] = o.warmup;
    j["connections"] = o.mode == "http" ? o.connections : o.sessions;
    j["sent"] = sent_;
    j["ok"] = ok_;
    j["errors"] = errors_;
    j["late"] = late_;
    j["achieved_rate"] = r1(ok_ > 0 ? static_cast<double>(ok_) / window : 0.0);
    j["p50_us"] = r1(pct(50));
    j["p90_us"] = r1(pct(90));
    j["p99_us"] = r1(pct(99));
    j["p999_us"] = r1(pct(99.9));
    j["max_us"] = r1(samples_ns_.empty() ? 0.0 : static_cast<double>(samples_ns_.back()) / 1000.0);
    j["mean_us"] = r1(mean);
    j["send_lag_max_us"] = r1(static_cast<double>(lag_max_ns_) / 1000.0);
    j["send_lag_over_1ms"] = lag_over_1ms_;
    return j;
  }

 private:
  std::uint64_t sent_ = 0, ok_ = 0, errors_ = 0, late_ = 0, lag_over_1ms_ = 0;
  std::int64_t lag_max_ns_ = 0;
  Clock::time_point last_ok_{};
  std::vector<std::int64_t> samples_ns_;
};

/// Where calls go. `complete` must be called exactly once per submitted call.
class Target {
 public:
  using Complete = std::function<void(const Call&, bool ok)>;
  virtual ~Target() = default;
  /// Connect everything; `ready(error)` with an empty error once all connections are usable.
  virtual void start(std::function<void(std::string error)> ready) = 0;
  virtual void submit(Call c) = 0;
  virtual void stop() = 0;
  virtual std::string client() const = 0;
  void on_complete(Complete c) { complete_ = std::move(c); }
  void on_queued(std::function<void(const Call&)> q) { queued_ = std::move(q); }

 protected:
  Complete complete_;
  std::function<void(const Call&)> queued_;
};

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  beast::error_code ec;
  auto a = net::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

// ---- HTTP/1.1 keep-alive GETs -------------------------------------------------------------

class HttpTarget;

class HttpConn : public std::enable_shared_from_this<HttpConn> {
 public:
  HttpConn(net::io_context& ioc, HttpTarget& owner, std::size_t id) : stream_(ioc), owner_(owner), id_(id) {}
  void connect(std::function<void(beast::error_code)> done);
  void start(Call c);
  void close() {
    stopped_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void on_write(beast::error_code ec, std::size_t);
  void on_read(beast::error_code ec, std::size_t);
  void finish(bool ok, bool reusable);

  beast::tcp_stream stream_;
  HttpTarget& owner_;
  std::size_t id_;
  beast::flat_buffer buf_;
  std::optional<http::response_parser<http::string_body>> parser_;
  Call call_;
  bool stopped_ = false;
};

class HttpTarget final : public Target {
 public:
  HttpTarget(net::io_context& ioc, const Options& o) : ioc_(ioc), o_(o) {}

  bool parse_url(std::string& err) {
    const std::string prefix = "http://";
    if (o_.url.rfind(prefix, 0) != 0) return err = "--url must start with http://", false;
    auto rest = o_.url.substr(prefix.size());
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    target_ = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string host, port;
    if (!hostport.empty() && hostport[0] == '[') {
      auto close = hostport.find(']');
      if (close == std::string::npos) return err = "bad [v6] host in --url", false;
      host = hostport.substr(1, close - 1);
      if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
    } else {
      auto colon = hostport.rfind(':');
      host = hostport.substr(0, colon);
      if (colon != std::string::npos) port = hostport.substr(colon + 1);
    }
    if (port.empty()) port = "80";
    if (!is_loopback_host(host)) return err = "only loopback targets are allowed, not " + host, false;
    host_header_ = hostport;
    beast::error_code ec;
    tcp::resolver r(ioc_);
    auto results = r.resolve(host, port, ec);
    if (ec || results.empty()) return err = "cannot resolve " + hostport + ": " + ec.message(), false;
    for (const auto& e : results)
      if (!e.endpoint().address().is_loopback()) return err = host + " does not resolve to loopback", false;
    endpoint_ = results.begin()->endpoint();
    req_.method(http::verb::get);
    req_.target(target_);
    req_.version(11);
    req_.set(http::field::host, host_header_);
    req_.set(http::field::user_agent, "pg-loadgen");
    req_.keep_alive(true);
    req_.prepare_payload();
    return true;
  }

  void start(std::function<void(std::string)> ready) override {
    auto left = std::make_shared<int>(o_.connections);
    auto failed = std::make_shared<bool>(false);
    for (int i = 0; i < o_.connections; ++i) {
      auto c = std::make_shared<HttpConn>(ioc_, *this, static_cast<std::size_t>(i));
      conns_.push_back(c);
      c->connect([this, c, left, failed, ready](beast::error_code ec) {
        if (*failed) return;
        if (ec) {
          *failed = true;
          return ready("cannot connect to " + o_.url + ": " + ec.message());
        }
        idle_.push_back(c.get());
        if (--*left == 0) ready({});
      });
    }
  }

  void submit(Call c) override {
    if (idle_.empty()) {
      queued_(c);
      queue_.push_back(c);
      return;
    }
    auto* conn = idle_.front();
    idle_.pop_front();
    conn->start(c);
  }

  void stop() override {
    stopped_ = true;
    for (auto& c : conns_) c->close();
    for (auto& c : queue_) complete_(c, false);
    queue_.clear();
  }

  std::string client() const override { return "beast http/1.1 keep-alive"; }

  // From the connections.
  void done(HttpConn* conn, const Call& c, bool ok, bool reusable) {
    complete_(c, ok);
    if (stopped_) return;
    if (!reusable) {
      reconnect(conn);
      return;
    }
    release(conn);
  }
  const tcp::endpoint& endpoint() const { return endpoint_; }
  const http::request<http::empty_body>& request() const { return req_; }
  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(static_cast<std::int64_t>(o_.timeout * 1000));
  }

 private:
  void release(HttpConn* conn) {
    if (!queue_.empty()) {
      auto next = queue_.front();
      queue_.pop_front();
      conn->start(next);
    } else {
      idle_.push_back(conn);
    }
  }
  void reconnect(HttpConn* conn) {
    // The connection object is reused; connect() replaces its socket. Bounded by the run: once
    // stopped, nothing reconnects. A failing connect retries after 100 ms.
    auto self = shared_of(conn);
    self->connect([this, self](beast::error_code ec) {
      if (stopped_) return;
      if (!ec) return release(self.get());
      auto t = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(100));
      t->async_wait([this, self, t](beast::error_code) {
        if (!stopped_) reconnect(self.get());
      });
    });
  }
  std::shared_ptr<HttpConn> shared_of(HttpConn* p) {
    for (auto& c : conns_)
      if (c.get() == p) return c;
    return {};
  }

  net::io_context& ioc_;
  const Options& o_;
  tcp::endpoint endpoint_;
  std::string target_, host_header_;
  http::request<http::empty_body> req_;
  std::vector<std::shared_ptr<HttpConn>> conns_;
  std::deque<HttpConn*> idle_;
  std::deque<Call> queue_;
  bool stopped_ = false;
};

void HttpConn::connect(std::function<void(beast::error_code)> done) {
  if (stream_.socket().is_open()) stream_.close();
  buf_.clear();
  stream_.expires_after(owner_.timeout());
  stream_.async_connect(owner_.endpoint(), [self = shared_from_this(), done](beast::error_code ec) {
    if (!ec) {
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay(true), ignored);
      self->stream_.expires_never();
    }
    done(ec);
  });
}

void HttpConn::start(Call c) {
  call_ = c;
  stream_.expires_after(owner_.timeout());
  http::async_write(stream_, owner_.request(), beast::bind_front_handler(&HttpConn::on_write, shared_from_this()));
}

void HttpConn::on_write(beast::error_code ec, std::size_t) {
  if (ec) return finish(false, false);
  parser_.emplace();
  parser_->body_limit(16 * 1024 * 1024);
  http::async_read(stream_, buf_, *parser_, beast::bind_front_handler(&HttpConn::on_read, shared_from_this()));
}

void HttpConn::on_read(beast::error_code ec, std::size_t) {
  if (ec) return finish(false, false);
  const auto& res = parser_->get();
  finish(res.result() == http::status::ok, res.keep_alive());
}

void HttpConn::finish(bool ok, bool reusable) {
  stream_.expires_never();
  parser_.reset();
  if (stopped_) return;
  owner_.done(this, call_, ok, reusable);
}

// ---- Pie v0.2 launches --------------------------------------------------------------------

class PieTarget final : public Target {
 public:
  PieTarget(net::io_context& ioc, const Options& o) : ioc_(ioc), o_(o) {}

  bool parse(std::string& err) {
    auto colon = o_.pie.rfind(':');
    if (colon == std::string::npos) return err = "--pie must be HOST:PORT", false;
    host_ = o_.pie.substr(0, colon);
    if (!host_.empty() && host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
    try {
      port_ = static_cast<std::uint16_t>(std::stoul(o_.pie.substr(colon + 1)));
    } catch (...) {
      return err = "bad port in --pie", false;
    }
    if (!is_loopback_host(host_)) return err = "only loopback targets are allowed, not " + host_, false;
    return true;
  }

  void start(std::function<void(std::string)> ready) override {
    auto left = std::make_shared<int>(o_.sessions);
    auto failed = std::make_shared<bool>(false);
    for (int i = 0; i < o_.sessions; ++i) {
      pg::pie::SessionOptions so;
      so.host = host_;
      so.port = port_;
      so.auth.kind = pg::pie::AuthConfig::Kind::Username;
      so.auth.username = "pg-loadgen";
      so.request_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o_.timeout * 1000));
      auto s = pg::pie::make_session_v02(ioc_.get_executor(), so);
      sessions_.push_back(s);
      s->start([left, failed, ready](pg::Result<std::string> r) {
        if (*failed) return;
        if (!r) {
          *failed = true;
          return ready("Pie session failed: " + r.error());
        }
        if (--*left == 0) ready({});
      });
    }
  }

  void submit(Call c) override {
    // Least busy open session, as the gateway's pool chooses.
    pg::pie::Session* best = nullptr;
    std::size_t best_load = 0;
    for (auto& s : sessions_) {
      if (!s->is_open()) continue;
      const auto load = s->pending_requests() + s->attached_instances();
      if (!best || load < best_load) best = s.get(), best_load = load;
    }
    if (!best) return complete_(c, false);
    auto once = std::make_shared<bool>(false);
    auto finish = [this, c, once](bool ok) {
      if (std::exchange(*once, true)) return;
      complete_(c, ok);
    };
    pg::pie::InstanceSink sink;
    sink.on_end = [finish](pg::pie::InstanceEnd end, std::string_view) {
      finish(end == pg::pie::InstanceEnd::Completed);
    };
    best->launch(pg::pie::LaunchRequest{o_.inferlet, o_.args, false, false}, std::move(sink),
                 [finish](pg::Result<std::string> r) {
                   if (!r) finish(false);
                 });
  }

  void stop() override {
    for (auto& s : sessions_) s->close();
  }

  std::string client() const override { return "pg_pie v0.2 session (lib/pie, as the gateway)"; }

 private:
  net::io_context& ioc_;
  const Options& o_;
  std::string host_;
  std::uint16_t port_ = 0;
  std::vector<pg::pie::Session::Ptr> sessions_;
};

// ---- the schedule -------------------------------------------------------------------------

class Runner {
 public:
  Runner(net::io_context& ioc, const Options& o, Target& t) : ioc_(ioc), o_(o), target_(t), timer_(ioc) {
    total_ = static_cast<std::uint64_t>(std::llround((o.warmup + o.duration) * o.rate));
    warm_ = static_cast<std::uint64_t>(std::llround(o.warmup * o.rate));
    t.on_complete([this](const Call& c, bool ok) {
      if (finished_) return;  // already counted as timed out; now failing because we closed
      rec_.done(c, ok, Clock::now());
      --in_flight_;
      if (c.recorded) --recorded_in_flight_;
      maybe_finish();
    });
    t.on_queued([this](const Call& c) { rec_.queued(c); });
  }

  void begin() {
    t0_ = Clock::now() + std::chrono::milliseconds(5);
    window_start_ = scheduled(warm_);
    tick();
  }

  nlohmann::ordered_json report() { return rec_.report(o_, window_start_, target_.client()); }

 private:
  Clock::time_point scheduled(std::uint64_t i) const {
    return t0_ + nanoseconds(static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / o_.rate));
  }

  void tick() {
    const auto now = Clock::now();
    // Every call whose time has come goes now (the timer may fire late; the schedule does not move).
    while (next_ < total_ && scheduled(next_) <= now) {
      Call c{next_, scheduled(next_), next_ >= warm_};
      ++next_;
      ++in_flight_;
      if (c.recorded) ++recorded_in_flight_;
      rec_.sent(c, now - c.scheduled);
      target_.submit(c);
    }
    if (next_ < total_) {
      timer_.expires_at(scheduled(next_));
      timer_.async_wait([this](beast::error_code ec) {
        if (!ec) tick();
      });
      return;
    }
    sending_done_ = true;
    timer_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(o_.drain * 1000)));
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      // Calls still in flight after the drain period count as errors (timed out).
      rec_.timed_out(recorded_in_flight_);
      recorded_in_flight_ = 0;
      in_flight_ = 0;
      shutdown();
    });
    maybe_finish();
  }

  void maybe_finish() {
    if (sending_done_ && in_flight_ == 0) shutdown();
  }

  void shutdown() {
    if (std::exchange(finished_, true)) return;
    timer_.cancel();
    target_.stop();
    // Let close handshakes run briefly, then stop whatever remains.
    auto t = std::make_shared<net::steady_timer>(ioc_, std::chrono::milliseconds(300));
    t->async_wait([this, t](beast::error_code) { ioc_.stop(); });
  }

  net::io_context& ioc_;
  const Options& o_;
  Target& target_;
  net::steady_timer timer_;
  Recorder rec_;
  Clock::time_point t0_, window_start_;
  std::uint64_t total_ = 0, warm_ = 0, next_ = 0, in_flight_ = 0, recorded_in_flight_ = 0;
  bool sending_done_ = false, finished_ = false;
};

std::string human(const nlohmann::ordered_json& j) {
  char line[512];
  std::snprintf(line, sizeof line,
                "%s %s: rate %.0f/s for %.1f s (achieved %.1f/s), sent %llu ok %llu errors %llu late %llu | "
                "latency us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f",
                j["mode"].get<std::string>().c_str(), j["target"].get<std::string>().c_str(),
                j["rate"].get<double>(), j["duration_s"].get<double>(), j["achieved_rate"].get<double>(),
                static_cast<unsigned long long>(j["sent"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["ok"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["errors"].get<std::uint64_t>()),
                static_cast<unsigned long long>(j["late"].get<std::uint64_t>()), j["p50_us"].get<double>(),
                j["p90_us"].get<double>(), j["p99_us"].get<double>(), j["p999_us"].get<double>(),
                j["max_us"].get<double>());
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"pg-loadgen: open-loop (fixed-rate) load generator; latency from each call's scheduled time"};
  app.add_option("--mode", o.mode, "http | pie")->required()->check(CLI::IsMember({"http", "pie"}));
  app.add_option("--url", o.url, "http mode: http://127.0.0.1:PORT/path?query (GET, success = 200)");
  app.add_option("--connections", o.connections, "http mode: keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--pie", o.pie, "pie mode: HOST:PORT of a Pie v0.2 server (auth disabled)");
  app.add_option("--sessions", o.sessions, "pie mode: WebSocket sessions")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--inferlet", o.inferlet, "pie mode: inferlet to launch")->capture_default_str();
  app.add_option("--arg", o.args, "pie mode: an inferlet argument (repeatable)");
  app.add_option("--rate", o.rate, "calls per second")->capture_default_str()->check(CLI::Range(0.1, 1e6));
  app.add_option("--duration", o.duration, "measured seconds")->capture_default_str()->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", o.warmup, "seconds of load before measuring (not recorded)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_option("--timeout", o.timeout, "per-call timeout, seconds")->capture_default_str()->check(CLI::Range(0.01, 600.0));
  app.add_option("--drain", o.drain, "seconds to wait for calls in flight after the last send")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  CLI11_PARSE(app, argc, argv);

  // pg_pie logs through spdlog's default logger: keep stdout for the results.
  spdlog::set_default_logger(spdlog::stderr_color_mt("pg-loadgen"));
  spdlog::set_level(spdlog::level::warn);

  net::io_context ioc(1);
  std::unique_ptr<Target> target;
  std::string err;
  if (o.mode == "http") {
    if (o.url.empty()) return std::cerr << "--mode http needs --url\n", 2;
    auto t = std::make_unique<HttpTarget>(ioc, o);
    if (!t->parse_url(err)) return std::cerr << err << "\n", 2;
    target = std::move(t);
  } else {
    if (o.pie.empty()) return std::cerr << "--mode pie needs --pie HOST:PORT\n", 2;
    auto t = std::make_unique<PieTarget>(ioc, o);
    if (!t->parse(err)) return std::cerr << err << "\n", 2;
    target = std::move(t);
  }

  Runner runner(ioc, o, *target);
  std::string start_error;
  bool started = false;
  net::steady_timer start_timer(ioc, std::chrono::seconds(10));
  start_timer.async_wait([&](beast::error_code ec) {
    if (ec || started) return;
    start_error = "timed out connecting";
    ioc.stop();
  });
  target->start([&](std::string error) {
    if (!error.empty()) {
      start_error = std::move(error);
      ioc.stop();
      return;
    }
    started = true;
    start_timer.cancel();
    runner.begin();
  });
  ioc.run();
  if (!started) {
    std::cerr << "pg-loadgen: " << start_error << "\n";
    return 1;
  }
  const auto j = runner.report();
  std::cout << j.dump() << "\n" << human(j) << std::endl;
  return 0;
}
