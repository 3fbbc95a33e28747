#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace pg::test {

std::string HttpResult::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return {};
}

HttpClient::HttpClient(int port, std::string host) : port_(port), host_(std::move(host)) {}
HttpClient::~HttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool HttpClient::connect() {
  if (fd_ >= 0) return true;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  buffer_.clear();
  return true;
}

HttpResult HttpClient::get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers) {
  return request("GET", target, "", std::move(headers));
}

HttpResult HttpClient::post(const std::string& target, const std::string& body, const std::string& content_type,
                            std::vector<std::pair<std::string, std::string>> headers) {
  if (!content_type.empty()) headers.emplace_back("Content-Type", content_type);
  return request("POST", target, body, std::move(headers));
}

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               std::vector<std::pair<std::string, std::string>> headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  return raw(req);
}

HttpResult HttpClient::raw(const std::string& bytes) {
  if (!connect()) return {};
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return read_response();
}

HttpResult HttpClient::read_response() {
  HttpResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto fill = [&]() -> bool {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill()) return r;
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  auto line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12) return r;
  r.status = std::atoi(status_line.c_str() + 9);
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), v);
    }
    pos = e + 2;
  }
  std::size_t len = static_cast<std::size_t>(std::atoll(r.header("Content-Length").c_str()));
  while (buffer_.size() < len)
    if (!fill()) break;
  r.body = buffer_.substr(0, len);
  buffer_.erase(0, std::min(len, buffer_.size()));
  if (strcasecmp(r.header("Connection").c_str(), "close") == 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return r;
}

bool HttpClient::closed_by_peer(std::chrono::milliseconds t) {
  if (fd_ < 0) return true;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(t.count())) <= 0) return false;
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
  if (n == 0) {
    ::close(fd_);
    fd_ = -1;
    return true;
  }
  return false;
}

}  // namespace pg::test
