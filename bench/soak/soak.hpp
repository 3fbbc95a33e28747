// pg-soak: mixed traffic at a fixed rate against one gateway (HTTP and gRPC), for
// bench/soak.sh. Every class of call has its own schedule and its own bound on calls in flight;
// every call has a client-side deadline. Each interval a JSON line on stdout counts how each class
// was answered, and the watched process's RSS and open fds.
#pragma once

#include <string>

namespace pg::soak {

struct Options {
  std::string http;    // HOST:PORT of the gateway's HTTP listener (loopback)
  std::string grpc;    // HOST:PORT of its gRPC listener (loopback)
  double scale = 1;    // multiplies every class's rate (see soak.cpp for the mix)
  double duration = 600;
  double timeout = 60;        // client deadline of every call; no answer by then = "unanswered"
  double report_every = 60;   // seconds between report lines
  double sample_every = 10;   // seconds between RSS/fd sample lines
  int watch_pid = 0;          // the gateway's pid (RSS and fds from /proc)
};

/// Runs the soak; returns the process exit code (0 unless it could not start).
int run(const Options& o);

}  // namespace pg::soak
