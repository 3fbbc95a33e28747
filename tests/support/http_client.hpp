// A tiny blocking HTTP/1.1 client over raw sockets, for integration tests: it can send
// well-formed requests and deliberately malformed bytes alike. Loopback only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pg::test {

struct HttpResult {
  int status = 0;  // 0 = no (parsable) response
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive, "" if absent
};

class HttpClient {
 public:
  explicit HttpClient(int port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {});
  HttpResult post(const std::string& target, const std::string& body, const std::string& content_type,
                  std::vector<std::pair<std::string, std::string>> headers = {});
  HttpResult request(const std::string& method, const std::string& target, const std::string& body,
                     std::vector<std::pair<std::string, std::string>> headers);
  /// Send raw bytes on the (kept-alive) connection and read one response.
  HttpResult raw(const std::string& bytes);
  /// True when the server closed the connection (read returns 0) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout);

  std::chrono::milliseconds timeout{15000};

 private:
  bool connect();
  HttpResult read_response();
  int port_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace pg::test
