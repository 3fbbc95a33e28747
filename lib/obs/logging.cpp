#include "obs/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace pg::obs {

namespace {

std::atomic<LogFormat> g_format{LogFormat::Text};

std::string iso_time(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // generous: GCC sizes every %d as a full int
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

/// One JSON object per line. A message that already is a JSON object (an access line) is merged
/// in, so its fields are keys of their own rather than an escaped string.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json j;
    j["time"] = iso_time(msg.time);
    auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    std::string_view text(msg.payload.data(), msg.payload.size());
    bool merged = false;
    if (!text.empty() && text.front() == '{') {
      auto fields = nlohmann::ordered_json::parse(text, nullptr, false);
      if (fields.is_object()) {
        for (auto& [k, v] : fields.items()) j[k] = v;
        merged = true;
      }
    }
    if (!merged) j["msg"] = std::string(text);
    auto line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

/// Text form of a value: bare when it is simple, quoted otherwise.
void kv(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ' ';
  out += key;
  out += '=';
  bool bare = value.find_first_of(" \"=\\") == std::string_view::npos;
  if (bare) out += value;
  else out += nlohmann::json(std::string(value)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void setup_logging(LogFormat format) {
  auto logger = spdlog::default_logger();
  if (!logger || logger->name() != "pie-gateway") {
    logger = spdlog::stderr_logger_mt("pie-gateway");
    spdlog::set_default_logger(logger);
  }
  g_format = format;
  if (format == LogFormat::Json) logger->set_formatter(std::make_unique<JsonFormatter>());
  else logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %l %v"));
}

void log_request(const RequestLog& r) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  if (g_format == LogFormat::Json) {
    nlohmann::ordered_json j;
    j["msg"] = "request";
    j["request_id"] = std::string(r.request_id);
    j["door"] = std::string(r.door);
    j["method"] = std::string(r.method);
    if (!r.target.empty()) j["target"] = std::string(r.target);
    if (!r.endpoint.empty()) j["endpoint"] = std::string(r.endpoint);
    if (!r.server.empty()) j["server"] = std::string(r.server);
    if (!r.instance_id.empty()) j["instance"] = std::string(r.instance_id);
    if (!r.job_id.empty()) j["job"] = std::string(r.job_id);
    j["status"] = r.status;
    if (!r.status_text.empty()) j["code"] = std::string(r.status_text);
    j["duration_seconds"] = r.seconds;
    if (!r.remote.empty()) j["remote"] = std::string(r.remote);
    if (!r.client.empty()) j["client"] = std::string(r.client);
    if (!r.peer_cn.empty()) j["cn"] = std::string(r.peer_cn);
    spdlog::info("{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string line = "request";
  kv(line, "id", r.request_id);
  kv(line, "door", r.door);
  kv(line, "method", r.method);
  kv(line, "target", r.target);
  kv(line, "endpoint", r.endpoint);
  kv(line, "server", r.server);
  kv(line, "instance", r.instance_id);
  kv(line, "job", r.job_id);
  line += " status=" + std::to_string(r.status);
  kv(line, "code", r.status_text);
  char dur[32];
  std::snprintf(dur, sizeof dur, " duration=%.6fs", r.seconds);
  line += dur;
  kv(line, "remote", r.remote);
  kv(line, "client", r.client);
  kv(line, "cn", r.peer_cn);
  spdlog::info("{}", line);
}

std::string request_id_or_new(std::string_view offered) {
  bool sane = !offered.empty() && offered.size() <= 128;
  for (char c : offered)
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') sane = false;
  if (sane) return std::string(offered);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace pg::obs
