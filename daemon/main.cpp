// pie-gateway: TARP over HTTP in front of Pie inference servers.
//
// Signals (all handled on the io_context, so never concurrently with the gateway's work):
//   SIGTERM/SIGINT  graceful drain (Gateway::shutdown), then exit 0; a second one stops at once.
//   SIGHUP          re-read --config, validate, apply (Gateway::reload); a bad file keeps the old config.
// Under systemd (Type=notify) it reports READY/RELOADING/STOPPING/STATUS and pings the watchdog.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>

#include "access/token.hpp"
#include "app/gateway.hpp"
#include "config/access_section.hpp"
#include "config/loader.hpp"
#include "obs/logging.hpp"
#include "obs/systemd_notify.hpp"

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds kStatusRefresh = 10s;

pg::Result<pg::config::Config> load_config(const std::string& path) {
  return path.empty() ? pg::config::load_string(pg::app::embedded_default_config(), "<embedded config/gateway.yaml>")
                      : pg::config::load_file(path);
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

pg::obs::LogFormat log_format(const pg::config::Logging& l) {
  return l.format == pg::config::Logging::Format::Json ? pg::obs::LogFormat::Json : pg::obs::LogFormat::Text;
}

/// The running daemon: the gateway, its signals and its systemd notifications, on one io_context.
class Daemon {
 public:
  Daemon(boost::asio::io_context& io, pg::config::Config cfg, std::string config_path, std::string log_level_override)
      : io_(io),
        cfg_(cfg),
        config_path_(std::move(config_path)),
        log_level_override_(std::move(log_level_override)),
        gateway_(io, std::move(cfg)),
        notifier_(io),
        signals_(io, SIGINT, SIGTERM, SIGHUP),
        status_timer_(io) {}

  int run() {
    auto port = gateway_.start();
    if (!port) {
      spdlog::critical("{}", port.error());
      notifier_.status("failed to start: " + port.error());
      return 1;
    }
    // Tests and scripts read this line to learn the port (listen.http may say port 0).
    std::printf("pie-gateway listening on %s:%u\n", cfg_.http.host.c_str(), static_cast<unsigned>(*port));
    if (auto admin = gateway_.admin_port(); admin != 0) {
      std::printf("pie-gateway admin listening on %s:%u\n", cfg_.admin->host.c_str(), static_cast<unsigned>(admin));
      spdlog::info("admin address http://{}:{} serves /metrics, /healthz, /readyz", cfg_.admin->host, admin);
    }
    if (auto grpc = gateway_.grpc_port(); grpc != 0) {
      std::printf("pie-gateway grpc listening on %s:%u\n", cfg_.grpc->host.c_str(), static_cast<unsigned>(grpc));
      spdlog::info("gRPC API pie.gateway.v1.Gateway on {}:{} (health and reflection on)", cfg_.grpc->host, grpc);
    }
    std::fflush(stdout);
    spdlog::info("pie-gateway {} serving TARP on {}://{}:{} ({} endpoints, config {})", PG_VERSION,
                 cfg_.tls ? "https" : "http", cfg_.http.host, *port, cfg_.endpoints.size(), cfg_.source);

    wait_for_signal();
    notifier_.ready(gateway_.status_line());
    notifier_.start_watchdog();
    if (notifier_.enabled()) refresh_status();
    io_.run();
    return 0;
  }

 private:
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
      } else {
        stop(sig);
      }
      wait_for_signal();
    });
  }

  void stop(int sig) {
    if (draining_) {
      spdlog::warn("{} while draining: stopping now", signal_name(sig));
      gateway_.stop();
      io_.stop();
      return;
    }
    draining_ = true;
    const auto drain = cfg_.shutdown.drain_timeout;
    spdlog::info("{}: graceful shutdown (drain up to {} ms; a second signal stops at once)", signal_name(sig),
                 drain.count());
    notifier_.stopping();
    status_timer_.cancel();
    gateway_.shutdown(drain, [this] {
      spdlog::info("drained: exiting");
      io_.stop();
    });
  }

  void reload() {
    if (draining_) {
      spdlog::info("SIGHUP while draining: ignored");
      return;
    }
    notifier_.reloading();
    if (config_path_.empty()) {
      spdlog::info("SIGHUP: running on the embedded default configuration (no --config): nothing to re-read");
    } else {
      spdlog::info("SIGHUP: reloading {}", config_path_);
      auto next = load_config(config_path_);
      if (!next) {
        spdlog::error("reload failed, keeping the running configuration: invalid configuration:\n{}", next.error());
      } else {
        pg::config::Config kept = *next;
        auto applied = gateway_.reload(std::move(*next));
        if (!applied) {
          spdlog::error("reload failed, keeping the running configuration: {}", applied.error());
        } else {
          cfg_ = std::move(kept);
          // The gateway logs what it applied; the level follows the file unless --log-level pinned it.
          if (log_level_override_.empty()) spdlog::set_level(spdlog::level::from_str(cfg_.logging.level));
          pg::obs::setup_logging(log_format(cfg_.logging));
        }
      }
    }
    notifier_.ready(gateway_.status_line());
  }

  void refresh_status() {
    status_timer_.expires_after(kStatusRefresh);
    status_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || draining_) return;
      notifier_.status(gateway_.status_line());
      refresh_status();
    });
  }

  boost::asio::io_context& io_;
  pg::config::Config cfg_;  // the configuration in force (the last one that loaded and applied)
  std::string config_path_;
  std::string log_level_override_;
  pg::app::Gateway gateway_;
  pg::obs::SystemdNotifier notifier_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer status_timer_;
  bool draining_ = false;
};

}  // namespace

/// `pie-gateway token`: a new token (or one read from stdin) and the clients-file line to paste.
int print_token(const std::string& name, bool from_stdin) {
  if (!pg::config::valid_access_name(name)) {
    std::cerr << "pie-gateway token: --name '" << name << "' is not a client name ([A-Za-z0-9._@-], 1 to 64 characters)\n";
    return 2;
  }
  std::string token;
  if (from_stdin) {
    std::getline(std::cin, token);
    if (!token.empty() && token.back() == '\r') token.pop_back();
    if (token.empty() || token.size() > 4096) {
      std::cerr << "pie-gateway token: expected one token of 1 to 4096 characters on stdin\n";
      return 2;
    }
  } else {
    token = pg::access::new_token();
    std::cout << token << "\n";
  }
  std::cout << "# the entry for access.clients_file (the gateway keeps only the SHA-256 of the token):\n"
            << "  - {name: " << name << ", token_sha256: " << pg::access::to_hex(pg::access::sha256(token))
            << ", roles: []}\n";
  return 0;
}

int main(int argc, char** argv) {
  CLI::App cli{"pie-gateway: TARP (HTTP) front door for Pie inference servers"};
  std::string config_path;
  bool check_only = false;
  bool version = false;
  std::string log_level;
  cli.add_option("-c,--config", config_path,
                 "YAML configuration file (default: the embedded config/gateway.yaml); SIGHUP re-reads it");
  cli.add_flag("--check-config", check_only, "Validate the configuration and exit (0 = valid, 2 = invalid)");
  cli.add_flag("--version", version, "Print the version and exit");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error (overrides logging.level, also on reload)");
  auto* token_cmd = cli.add_subcommand("token", "Print a new random client token and the access.clients_file entry to paste");
  std::string token_name = "NAME";
  bool token_stdin = false;
  token_cmd->add_option("--name", token_name, "The client's name in the entry");
  token_cmd->add_flag("--stdin", token_stdin, "Hash a token read from stdin instead of making one (nothing is echoed)");
  CLI11_PARSE(cli, argc, argv);
  if (*token_cmd) return print_token(token_name, token_stdin);

  if (version) {
    std::cout << "pie-gateway " << PG_VERSION << "\n";
    return 0;
  }
  pg::obs::setup_logging(pg::obs::LogFormat::Text);

  auto cfg = load_config(config_path);
  if (!cfg) {
    std::cerr << "invalid configuration:\n" << cfg.error() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << cfg->source << ": configuration is valid (" << cfg->endpoints.size() << " endpoints, "
              << cfg->servers.size() << " Pie servers)\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? cfg->logging.level : log_level));
  pg::obs::setup_logging(log_format(cfg->logging));

  boost::asio::io_context io(1);
  Daemon daemon(io, std::move(*cfg), config_path, log_level);
  return daemon.run();
}
