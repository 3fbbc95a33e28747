// A blocking client for streamed HTTP responses (Server-Sent Events over chunked encoding), for
// integration tests: send one request, read the head, then events one at a time with deadlines.
// Loopback only; not thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.hpp"

namespace pg::test {

struct SseEvent {
  std::string id;     // "" when the event had no id field
  std::string event;  // "message" when the event had no event field
  std::string data;   // data lines joined by '\n'
};

class SseClient {
 public:
  explicit SseClient(int port);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  /// Sends the request and reads the response head (its body too when it is not chunked).
  HttpResult open(const std::string& method, const std::string& target,
                  std::vector<std::pair<std::string, std::string>> headers = {}, const std::string& body = "");
  /// The next event; nullopt when `timeout` passes or the body ended (see ended()).
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  /// Events until the body ends, at most `max`, within `timeout` overall.
  std::vector<SseEvent> rest(std::chrono::milliseconds timeout = std::chrono::milliseconds(15000), std::size_t max = 10000);
  /// True once the chunked body's last chunk arrived (the response is complete).
  bool ended() const { return ended_; }
  /// Comment lines (": ...") seen so far.
  const std::vector<std::string>& comments() const { return comments_; }
  /// Abrupt close of the connection (the client going away).
  void close();
  /// A plain request on the same (kept-alive) connection after the stream ended.
  HttpResult again(const std::string& target);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  bool decode_chunks();  // raw_ -> body_; false on a framing error
  int port_;
  int fd_ = -1;
  std::string raw_;   // bytes read, not yet decoded
  std::string body_;  // decoded body bytes, not yet parsed into events
  bool chunked_ = false, ended_ = false;
  std::vector<std::string> comments_;
};

}  // namespace pg::test
