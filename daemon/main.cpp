// pie-gateway: TARP over HTTP in front of Pie inference servers.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "app/gateway.hpp"
#include "config/loader.hpp"

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App cli{"pie-gateway: TARP (HTTP) front door for Pie inference servers"};
  std::string config_path;
  bool check_only = false;
  bool version = false;
  std::string log_level;
  cli.add_option("-c,--config", config_path, "YAML configuration file (default: the embedded config/gateway.yaml)");
  cli.add_flag("--check-config", check_only, "Validate the configuration and exit (0 = valid, 2 = invalid)");
  cli.add_flag("--version", version, "Print the version and exit");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error (overrides logging.level)");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "pie-gateway " << PG_VERSION << "\n";
    return 0;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("pie-gateway"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  auto cfg = config_path.empty() ? pg::config::load_string(pg::app::embedded_default_config(), "<embedded config/gateway.yaml>")
                                 : pg::config::load_file(config_path);
  if (!cfg) {
    std::cerr << "invalid configuration:\n" << cfg.error() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << cfg->source << ": configuration is valid (" << cfg->endpoints.size() << " endpoints, "
              << cfg->servers.size() << " Pie servers)\n";
    return 0;
  }
  auto level = spdlog::level::from_str(log_level.empty() ? cfg->logging.level : log_level);
  spdlog::set_level(level);

  boost::asio::io_context io(1);
  pg::app::Gateway gateway(io, *cfg);
  auto port = gateway.start();
  if (!port) {
    spdlog::critical("{}", port.error());
    return 1;
  }
  // Tests and scripts read this line to learn the port (listen.http may say port 0).
  std::printf("pie-gateway listening on %s:%u\n", cfg->http.host.c_str(), static_cast<unsigned>(*port));
  std::fflush(stdout);
  spdlog::info("pie-gateway {} serving TARP on http://{}:{} ({} endpoints, config {})", PG_VERSION, cfg->http.host,
               *port, cfg->endpoints.size(), cfg->source);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    gateway.stop();
    io.stop();
  });
  io.run();
  return 0;
}
