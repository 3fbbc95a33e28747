// pie-sim: a simulated Pie server (v0.2, or the 0.5 edge) for the gateway's tests (see tools/pie-sim/README.md).
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server.hpp"

namespace {

bool parse_range(const std::string& text, std::uint32_t& lo, std::uint32_t& hi) {
  unsigned long a = 0, b = 0;
  char colon = 0, extra = 0;
  std::istringstream in(text);
  if (!(in >> a >> colon >> b) || colon != ':' || (in >> extra) || a > b || b > 600000) return false;
  lo = static_cast<std::uint32_t>(a);
  hi = static_cast<std::uint32_t>(b);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  pie_sim::SimConfig cfg;
  std::string auth = "none";
  std::string protocol = "0.2";
  std::string token_file;
  std::string bad_delay = "1000:3000";

  CLI::App app{"pie-sim: a simulated Pie server (WebSocket + msgpack; v0.2, or the 0.5 edge) for tests"};
  app.add_option("--protocol", protocol, "Pie client protocol: 0.2 | 0.5 (the 0.5 edge on /v1/ws)")
      ->check(CLI::IsMember({"0.2", "0.5"}))
      ->capture_default_str();
  app.add_flag("--detach-on-close", cfg.detach_on_close,
               "0.5: on socket close, detach its processes (as 0.5 direct / 0.4.0) instead of terminating them");
  app.add_option("--max-processes", cfg.max_processes,
                 "0.5: with N live processes, refuse every new request (text error, then close)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  app.add_option("--max-frame-bytes", cfg.max_frame_bytes,
                 "A larger incoming message closes its WebSocket (and ends the session's instances), like Pie")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--host", cfg.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", cfg.port, "Port to listen on (0 = pick a free one)")->capture_default_str();
  auto* cert = app.add_option("--tls-cert", cfg.tls_cert, "Serve wss://: PEM certificate chain")->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", cfg.tls_key, "Serve wss://: PEM private key (unencrypted)")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--auth", auth, "Authentication: none | token | keys")
      ->check(CLI::IsMember({"none", "token", "keys"}))
      ->capture_default_str();
  app.add_option("--token", cfg.token, "Internal token accepted by internal_authenticate");
  app.add_option("--token-file", token_file, "Read the internal token from this file")->check(CLI::ExistingFile);
  app.add_option("--authorized-users", cfg.authorized_users_file, "TOML file of users and their SSH public keys")
      ->check(CLI::ExistingFile);
  app.add_option("--token-delay-ms", cfg.token_delay_ms, "Delay between std/text-completion tokens")
      ->capture_default_str();
  app.add_option("--bad-token-delay-ms", bad_delay, "MIN:MAX delay before rejecting a wrong token")
      ->capture_default_str();
  app.add_option("--drop-after", cfg.drop_after, "Abruptly close each session after sending N messages on it");
  app.add_flag("--drop-flush", cfg.drop_flush,
               "With --drop-after: detach the session's instances at the drop and send what was already "
               "queued before closing (so no output is lost in flight)");
  app.add_option("--stall-after", cfg.stall_after, "Stop reading/answering a session after receiving N messages");
  app.add_flag("--refuse-launches", cfg.refuse_launches, "Answer every launch with failure");
  app.add_option("--reply-delay-ms", cfg.reply_delay_ms, "Delay the handling of every request");
  app.add_flag("--verbose,-v", cfg.verbose, "Log every message to stderr");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("pie-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_level(cfg.verbose ? spdlog::level::debug : spdlog::level::info);

  if (!parse_range(bad_delay, cfg.bad_token_delay_min_ms, cfg.bad_token_delay_max_ms)) {
    std::cerr << "--bad-token-delay-ms must be MIN:MAX in milliseconds (MIN <= MAX <= 600000)\n";
    return 2;
  }
  if (!token_file.empty()) {
    std::ifstream f(token_file);
    std::getline(f, cfg.token);
    while (!cfg.token.empty() && (cfg.token.back() == '\r' || cfg.token.back() == ' ')) cfg.token.pop_back();
  }
  cfg.auth = auth == "token" ? pie_sim::AuthMode::Token : auth == "keys" ? pie_sim::AuthMode::Keys : pie_sim::AuthMode::None;
  cfg.protocol = protocol == "0.5" ? pie_sim::ProtocolLine::V05 : pie_sim::ProtocolLine::V02;
  if (cfg.protocol == pie_sim::ProtocolLine::V05 && cfg.auth != pie_sim::AuthMode::None) {
    std::cerr << "--auth " << auth << " is a 0.2 mode: the 0.5 edge has no authentication (it trusts x-pie-identity)\n";
    return 2;
  }
  if (cfg.auth == pie_sim::AuthMode::Token && cfg.token.empty()) {
    std::cerr << "--auth token needs --token or --token-file\n";
    return 2;
  }
  if (cfg.auth == pie_sim::AuthMode::Keys && cfg.authorized_users_file.empty()) {
    std::cerr << "--auth keys needs --authorized-users FILE\n";
    return 2;
  }

  boost::asio::io_context io;
  const std::string host = cfg.host;
  auto server = pie_sim::Server::create(io, std::move(cfg));
  if (!server) {
    std::cerr << "pie-sim: " << server.error() << "\n";
    return 1;
  }
  auto& srv = *server.value();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    srv.stop();
    io.stop();
  });
  srv.start();

  const bool v6 = host.find(':') != std::string::npos;
  std::printf("pie-sim listening on %s%s%s:%u\n", v6 ? "[" : "", host.c_str(), v6 ? "]" : "", srv.port());
  std::fflush(stdout);

  io.run();
  // Let the handlers of the closed connections finish, but never wait long.
  io.restart();
  io.run_for(std::chrono::seconds(2));
  return 0;
}
