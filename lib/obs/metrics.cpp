// prometheus-cpp behind obs::Metrics. Label lookups prometheus-cpp does per Add() (a hash of
// the label map under a mutex) happen once per label set: the series are cached here, keyed by
// endpoint or server name with heterogeneous (string_view) lookup, so a hot call is one hash of
// the name plus an atomic add.
#include "obs/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <unordered_map>

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

namespace pg::obs {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

/// Find or create the entry for `name` (one hash lookup when present).
template <class V, class Make>
V& entry(NameMap<V>& map, std::string_view name, Make make) {
  auto it = map.find(name);
  if (it != map.end()) return it->second;
  return map.emplace(std::string(name), make(std::string(name))).first->second;
}

// 100 µs .. 60 s, roughly 1-2.5-5 per decade.
const Histogram::BucketBoundaries& buckets() {
  static const Histogram::BucketBoundaries b{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  return b;
}

constexpr std::array<const char*, 8> kMethods{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "other"};
constexpr std::array<const char*, 5> kCodeClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<const char*, 3> kFinishedStates{"completed", "failed", "cancelled"};
constexpr std::array<const char*, 3> kFailureReasons{"unavailable", "rejected", "timeout"};

std::size_t method_index(std::string_view m) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i)
    if (m == kMethods[i]) return i;
  return kMethods.size() - 1;
}

std::size_t code_class_index(int status) {
  int c = status / 100;
  return c >= 1 && c <= 5 ? static_cast<std::size_t>(c - 1) : kCodeClasses.size() - 1;
}

Family<Counter>& counters(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
Family<Gauge>& gauges(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}
Family<Histogram>& histograms(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();


  Family<Counter>& http_requests = counters(*registry, "pie_gateway_http_requests_total", "HTTP requests answered, by endpoint, method and status class.");
  Family<Histogram>& http_duration = histograms(*registry, "pie_gateway_http_request_duration_seconds", "Time from a request's arrival to its response, by endpoint.");
  Family<Counter>& jobs_started = counters(*registry, "pie_gateway_jobs_started_total", "Jobs started (accepted for launch), by endpoint.");
  Family<Counter>& jobs_total = counters(*registry, "pie_gateway_jobs_total", "Jobs finished, by endpoint and final state (completed, failed, cancelled).");
  Family<Histogram>& job_duration = histograms(*registry, "pie_gateway_job_duration_seconds", "Time from a job's submission to its end, by endpoint.");
  Family<Gauge>& jobs_gauge = gauges(*registry, "pie_gateway_jobs", "Jobs the gateway holds now: queued, running, finished (retained for polling).");
  Family<Counter>& rejections_family = counters(*registry, "pie_gateway_job_rejections_total", "Jobs refused because jobs.max_live was reached.");
  Family<Counter>& truncated_family = counters(*registry, "pie_gateway_job_output_truncated_total", "Jobs whose output passed jobs.max_output_bytes and was cut.");
  Family<Counter>& stream_family = counters(*registry, "pie_gateway_stream_bytes_total", "Bytes of instance output received, by stream (stdout, stderr, message, blob).");
  Family<Counter>& launches = counters(*registry, "pie_gateway_pie_launches_total", "Launches sent to a Pie server.");
  Family<Counter>& launch_failures = counters(*registry, "pie_gateway_pie_launch_failures_total", "Launches that failed, by server (\"\" = none reachable) and reason (unavailable, rejected, timeout).");
  Family<Counter>& reconnects = counters(*registry, "pie_gateway_pie_reconnects_total", "Pie sessions re-established after a loss or a failed connect.");
  Family<Gauge>& server_up = gauges(*registry, "pie_gateway_pie_server_up", "1 when at least one session to the Pie server is open.");
  Family<Gauge>& sessions_open = gauges(*registry, "pie_gateway_pie_sessions_open", "Open, authenticated sessions to the Pie server.");
  Family<Gauge>& in_flight = gauges(*registry, "pie_gateway_pie_instances_in_flight", "Instances attached on the Pie server's sessions.");
  Family<Gauge>& server_info = gauges(*registry, "pie_gateway_pie_server_info", "Always 1; the Pie server's protocol line as a label.");
  Family<Counter>& ejections = counters(*registry, "pie_gateway_pie_ejections_total", "Times the Pie server was ejected (consecutive failed launches or pings).");
  Family<Counter>& reattaches = counters(*registry, "pie_gateway_pie_reattaches_total", "Instances re-attached on the Pie server after their session dropped.");
  Family<Gauge>& queue_depth_family = gauges(*registry, "pie_gateway_pie_launch_queue_depth", "Launches waiting for a Pie server with room (max_instances).");
  Family<Counter>& queue_rejections_family = counters(*registry, "pie_gateway_pie_launch_queue_rejections_total", "Launches refused (503) because the wait queue was full.");
  Family<Counter>& grpc_requests = counters(*registry, "pie_gateway_grpc_requests_total", "gRPC calls finished, by method and status code.");
  Family<Histogram>& grpc_duration = histograms(*registry, "pie_gateway_grpc_request_duration_seconds", "Time from a gRPC call's start to its status, by method.");
  Family<Counter>& auth_failures = counters(*registry, "pie_gateway_auth_failures_total", "Requests refused 401, by reason (missing, invalid, malformed, unknown_certificate).");
  Family<Counter>& client_calls = counters(*registry, "pie_gateway_client_calls_total", "Endpoint calls admitted, by client (access.clients_file).");
  Family<Counter>& client_refusals = counters(*registry, "pie_gateway_client_refusals_total", "Requests refused to a client, by reason (rate, live_jobs, fair_share: 429; forbidden: 403).");
  NameMap<Counter*> auth_failure_counts, client_call_counts, client_refusal_counts;  // the latter keyed "client reason"
  Family<Gauge>& build_info = gauges(*registry, "pie_gateway_build_info", "Always 1; the version is a label.");

  struct HttpSeries {
    Histogram* duration = nullptr;
    std::array<Counter*, kMethods.size() * kCodeClasses.size()> count{};
  };
  NameMap<HttpSeries> http;

  NameMap<Counter*> grpc_counts;      // key "method code"
  NameMap<Histogram*> grpc_durations;  // by method

  struct JobSeries {
    Counter* started = nullptr;
    std::array<Counter*, kFinishedStates.size()> finished{};
    Histogram* duration = nullptr;
  };
  NameMap<JobSeries> jobs;

  struct ServerSeries {
    Counter* launches = nullptr;
    std::array<Counter*, kFailureReasons.size()> failures{};
    Counter* reconnects = nullptr;
    Counter* ejections = nullptr;
    Counter* reattaches = nullptr;
  };
  NameMap<ServerSeries> servers;

  struct ServerGauges {
    Gauge* up = nullptr;
    Gauge* open = nullptr;
    Gauge* in_flight = nullptr;
    Gauge* info = nullptr;
    std::string protocol;
    bool seen = false;
  };
  NameMap<ServerGauges> server_gauges;

  Counter& rejections = rejections_family.Add({});
  Gauge& queue_depth = queue_depth_family.Add({});
  Counter& queue_rejections = queue_rejections_family.Add({});
  Counter& tls_handshake_failures =
      counters(*registry, "pie_gateway_http_tls_handshake_failures_total",
               "HTTPS connections closed because their TLS handshake failed (causes are logged at debug).")
          .Add({});
  Counter& truncated = truncated_family.Add({});
  std::array<Counter*, 4> streams{&stream_family.Add({{"stream", "stdout"}}), &stream_family.Add({{"stream", "stderr"}}),
                                  &stream_family.Add({{"stream", "message"}}), &stream_family.Add({{"stream", "blob"}})};
  Family<Gauge>& conversations = gauges(*registry, "pie_gateway_conversations_open",
                                        "Open conversations (endpoints of kind session), per endpoint.");
  Gauge& queued = jobs_gauge.Add({{"state", "queued"}});
  Gauge& running = jobs_gauge.Add({{"state", "running"}});
  Gauge& finished = jobs_gauge.Add({{"state", "finished"}});

  std::vector<std::function<void()>> hooks;

  JobSeries& job(std::string_view endpoint) {
    return entry(jobs, endpoint, [&](const std::string& name) {
      JobSeries s;
      s.started = &jobs_started.Add({{"endpoint", name}});
      s.duration = &job_duration.Add({{"endpoint", name}}, buckets());
      return s;
    });
  }

  ServerSeries& server(std::string_view name) {
    return entry(servers, name, [&](const std::string& n) {
      ServerSeries s;
      s.launches = &launches.Add({{"server", n}});
      s.reconnects = &reconnects.Add({{"server", n}});
      s.ejections = &ejections.Add({{"server", n}});
      s.reattaches = &reattaches.Add({{"server", n}});
      return s;
    });
  }
};

Metrics::Metrics(std::string_view version) : impl_(std::make_unique<Impl>()) {
  impl_->build_info.Add({{"version", version.empty() ? std::string(PG_VERSION) : std::string(version)}}).Set(1);
}

Metrics::~Metrics() = default;

void Metrics::http_request(std::string_view endpoint, std::string_view method, int status, double seconds) {
  auto& d = *impl_;
  auto& s = entry(d.http, endpoint, [&](const std::string& name) {
    Impl::HttpSeries h;
    h.duration = &d.http_duration.Add({{"endpoint", name}}, buckets());
    return h;
  });
  std::size_t m = method_index(method), c = code_class_index(status);
  auto*& counter = s.count[m * kCodeClasses.size() + c];
  if (!counter)
    counter = &d.http_requests.Add(
        {{"endpoint", std::string(endpoint)}, {"method", kMethods[m]}, {"code_class", kCodeClasses[c]}});
  counter->Increment();
  s.duration->Observe(seconds);
}

void Metrics::grpc_request(std::string_view method, std::string_view code, double seconds) {
  auto& d = *impl_;
  std::string key;
  key.reserve(method.size() + code.size() + 1);
  key.append(method).append(" ").append(code);
  auto* counter = entry(d.grpc_counts, key, [&](const std::string&) {
    return &d.grpc_requests.Add({{"method", std::string(method)}, {"code", std::string(code)}});
  });
  counter->Increment();
  entry(d.grpc_durations, method, [&](const std::string& m) { return &d.grpc_duration.Add({{"method", m}}, buckets()); })
      ->Observe(seconds);
}

void Metrics::job_started(std::string_view endpoint) { impl_->job(endpoint).started->Increment(); }

void Metrics::job_finished(std::string_view endpoint, std::string_view state, double seconds) {
  auto& d = *impl_;
  auto& s = d.job(endpoint);
  std::size_t i = 0;
  while (i < kFinishedStates.size() && state != kFinishedStates[i]) ++i;
  if (i == kFinishedStates.size()) {
    d.jobs_total.Add({{"endpoint", std::string(endpoint)}, {"state", std::string(state)}}).Increment();
  } else {
    if (!s.finished[i]) s.finished[i] = &d.jobs_total.Add({{"endpoint", std::string(endpoint)}, {"state", kFinishedStates[i]}});
    s.finished[i]->Increment();
  }
  s.duration->Observe(seconds);
}

void Metrics::job_rejected() { impl_->rejections.Increment(); }
void Metrics::auth_failure(std::string_view reason) {
  auto& d = *impl_;
  entry(d.auth_failure_counts, reason, [&](const std::string& r) { return &d.auth_failures.Add({{"reason", r}}); })->Increment();
}

void Metrics::client_call(std::string_view client) {
  auto& d = *impl_;
  entry(d.client_call_counts, client, [&](const std::string& c) { return &d.client_calls.Add({{"client", c}}); })->Increment();
}

void Metrics::client_refused(std::string_view client, std::string_view reason) {
  auto& d = *impl_;
  std::string key = std::string(client) + " " + std::string(reason);
  entry(d.client_refusal_counts, key, [&](const std::string&) {
    return &d.client_refusals.Add({{"client", std::string(client)}, {"reason", std::string(reason)}});
  })->Increment();
}

void Metrics::job_output_truncated() { impl_->truncated.Increment(); }

void Metrics::stream_bytes(Stream stream, std::size_t bytes) {
  impl_->streams[static_cast<std::size_t>(stream)]->Increment(static_cast<double>(bytes));
}

void Metrics::pie_launch(std::string_view server) { impl_->server(server).launches->Increment(); }

void Metrics::pie_launch_failure(std::string_view server, LaunchFailure reason) {
  auto& d = *impl_;
  auto i = static_cast<std::size_t>(reason);
  auto& s = d.server(server);
  if (!s.failures[i])
    s.failures[i] = &d.launch_failures.Add({{"server", std::string(server)}, {"reason", kFailureReasons[i]}});
  s.failures[i]->Increment();
}

void Metrics::pie_reconnect(std::string_view server) { impl_->server(server).reconnects->Increment(); }
void Metrics::pie_ejection(std::string_view server) { impl_->server(server).ejections->Increment(); }
void Metrics::pie_reattach(std::string_view server) { impl_->server(server).reattaches->Increment(); }
void Metrics::pie_queue_depth(std::size_t waiting) { impl_->queue_depth.Set(static_cast<double>(waiting)); }
void Metrics::pie_queue_rejection() { impl_->queue_rejections.Increment(); }

void Metrics::tls_handshake_failure() { impl_->tls_handshake_failures.Increment(); }

void Metrics::set_jobs(std::size_t queued, std::size_t running, std::size_t finished_retained) {
  impl_->queued.Set(static_cast<double>(queued));
  impl_->running.Set(static_cast<double>(running));
  impl_->finished.Set(static_cast<double>(finished_retained));
}

void Metrics::set_conversations(const std::vector<std::pair<std::string, std::size_t>>& open_by_endpoint) {
  // Endpoints come from the config (a bounded set); Add returns the existing series for a label.
  for (const auto& [endpoint, n] : open_by_endpoint)
    impl_->conversations.Add({{"endpoint", endpoint}}).Set(static_cast<double>(n));
}

void Metrics::set_pie_servers(const std::vector<PieServerState>& servers) {
  auto& d = *impl_;
  for (auto& [name, g] : d.server_gauges) g.seen = false;
  for (const auto& s : servers) {
    auto& g = entry(d.server_gauges, s.name, [&](const std::string& name) {
      Impl::ServerGauges n;
      n.up = &d.server_up.Add({{"server", name}});
      n.open = &d.sessions_open.Add({{"server", name}});
      n.in_flight = &d.in_flight.Add({{"server", name}});
      return n;
    });
    if (!g.info || g.protocol != s.protocol) {  // new, or its protocol changed by a reload
      if (g.info) d.server_info.Remove(g.info);
      g.protocol = s.protocol;
      g.info = &d.server_info.Add({{"server", s.name}, {"protocol", s.protocol}});
      g.info->Set(1);
    }
    // A name listed twice (a server draining after a reload beside its replacement) adds up.
    bool again = g.seen;
    g.seen = true;
    g.up->Set(s.up || (again && g.up->Value() > 0) ? 1 : 0);
    if (again) {
      g.open->Increment(static_cast<double>(s.sessions_open));
      g.in_flight->Increment(static_cast<double>(s.instances_in_flight));
    } else {
      g.open->Set(static_cast<double>(s.sessions_open));
      g.in_flight->Set(static_cast<double>(s.instances_in_flight));
    }
  }
  for (auto it = d.server_gauges.begin(); it != d.server_gauges.end();) {
    if (it->second.seen) {
      ++it;
      continue;
    }
    d.server_up.Remove(it->second.up);
    d.sessions_open.Remove(it->second.open);
    d.in_flight.Remove(it->second.in_flight);
    if (it->second.info) d.server_info.Remove(it->second.info);
    it = d.server_gauges.erase(it);
  }
}

void Metrics::on_scrape(std::function<void()> hook) { impl_->hooks.push_back(std::move(hook)); }

std::string Metrics::expose() {
  for (auto& h : impl_->hooks) h();
  return prometheus::TextSerializer{}.Serialize(impl_->registry->Collect());
}

}  // namespace pg::obs
