// pg-soak: the load of bench/soak.sh. Mixed HTTP (TARP, SSE, conversations) and gRPC calls at a
// fixed rate against one gateway, with clients that vanish by design, every call bounded by a
// client deadline; JSON lines on stdout (RSS/fd samples, a report of answers by class every
// --report-every seconds, the totals at the end), notes about odd calls on stderr.
// Only loopback targets are accepted.
#include <CLI/CLI.hpp>

#include "soak.hpp"

int main(int argc, char** argv) {
  pg::soak::Options o;
  CLI::App app{"pg-soak: mixed HTTP and gRPC traffic at a fixed rate through pie-gateway (bench/soak.sh)"};
  app.add_option("--http", o.http, "HOST:PORT of the gateway's HTTP listener (loopback)")->required();
  app.add_option("--grpc", o.grpc, "HOST:PORT of the gateway's gRPC listener (loopback)")->required();
  app.add_option("--scale", o.scale, "multiplies every class's rate (1 = about 137 calls/s)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 100.0));
  app.add_option("--duration", o.duration, "seconds of load")->capture_default_str()->check(CLI::Range(1.0, 86400.0));
  app.add_option("--timeout", o.timeout, "client deadline of every call, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 600.0));
  app.add_option("--report-every", o.report_every, "seconds between report lines")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--sample-every", o.sample_every, "seconds between RSS/fd samples")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--watch-pid", o.watch_pid, "the gateway's pid (RSS and fds from /proc)");
  CLI11_PARSE(app, argc, argv);
  return pg::soak::run(o);
}
