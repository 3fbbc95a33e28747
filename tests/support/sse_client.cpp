#include "support/sse_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace pg::test {

using Clock = std::chrono::steady_clock;

SseClient::SseClient(int port) : port_(port) {}
SseClient::~SseClient() { close(); }

void SseClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SseClient::fill(Clock::time_point deadline) {
  if (fd_ < 0) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    if (!chunked_) ended_ = true;  // a close-delimited body ends here
    close();
    return false;
  }
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

HttpResult SseClient::open(const std::string& method, const std::string& target,
                           std::vector<std::pair<std::string, std::string>> headers, const std::string& body) {
  HttpResult r;
  close();
  raw_.clear();
  body_.clear();
  ended_ = chunked_ = false;
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close();
    return r;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return r;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  std::size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return r;
  std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  r.status = std::atoi(head.c_str() + 9);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    auto e = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, e == std::string::npos ? std::string::npos : e - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), v);
    }
    pos = e;
  }
  chunked_ = strcasecmp(r.header("Transfer-Encoding").c_str(), "chunked") == 0;
  if (!chunked_ && !r.header("Content-Length").empty()) {
    std::size_t len = static_cast<std::size_t>(std::atoll(r.header("Content-Length").c_str()));
    while (raw_.size() < len)
      if (!fill(deadline)) break;
    r.body = raw_.substr(0, len);
    raw_.erase(0, std::min(len, raw_.size()));
    ended_ = true;
  }
  return r;
}

bool SseClient::decode_chunks() {
  if (!chunked_) {
    body_ += raw_;
    raw_.clear();
    return true;
  }
  while (!ended_) {
    auto eol = raw_.find("\r\n");
    if (eol == std::string::npos) return true;
    char* stop = nullptr;
    unsigned long size = std::strtoul(raw_.c_str(), &stop, 16);
    if (stop == raw_.c_str()) return false;
    if (size == 0) {
      if (raw_.size() < eol + 4) return true;  // "0\r\n\r\n"
      raw_.erase(0, eol + 4);
      ended_ = true;
      return true;
    }
    if (raw_.size() < eol + 2 + size + 2) return true;
    body_.append(raw_, eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
  }
  return true;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!decode_chunks()) return std::nullopt;
    for (auto end = body_.find("\n\n"); end != std::string::npos; end = body_.find("\n\n")) {
      std::string block = body_.substr(0, end);
      body_.erase(0, end + 2);
      SseEvent e;
      e.event = "message";
      bool any = false;
      std::size_t pos = 0;
      while (pos <= block.size()) {
        auto nl = block.find('\n', pos);
        std::string line = block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
          comments_.push_back(line);
          continue;
        }
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "id") e.id = value, any = true;
        else if (field == "event") e.event = value, any = true;
        else if (field == "data") e.data += (e.data.empty() ? "" : "\n") + value, any = true;
      }
      if (any) return e;
    }
    if (ended_ || !fill(deadline)) return std::nullopt;
  }
}

std::vector<SseEvent> SseClient::rest(std::chrono::milliseconds timeout, std::size_t max) {
  std::vector<SseEvent> out;
  const auto deadline = Clock::now() + timeout;
  while (out.size() < max) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    auto e = next(left);
    if (!e) break;
    out.push_back(std::move(*e));
  }
  return out;
}

HttpResult SseClient::again(const std::string& target) {
  HttpResult r;
  if (fd_ < 0 || !ended_) return r;
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return r;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  std::size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return r;
  r.status = std::atoi(raw_.c_str() + 9);
  std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  auto cl = head.find("Content-Length: ");
  std::size_t len = cl == std::string::npos ? 0 : static_cast<std::size_t>(std::atoll(head.c_str() + cl + 16));
  while (raw_.size() < len)
    if (!fill(deadline)) break;
  r.body = raw_.substr(0, std::min(len, raw_.size()));
  return r;
}

}  // namespace pg::test
