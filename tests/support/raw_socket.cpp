#include "support/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace pg::test {

namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

RawSocket::RawSocket(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
  int one = 1;
  if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
  std::size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool RawSocket::send_until_answered(const std::string& bytes, std::size_t piece) {
  for (std::size_t off = 0; off < bytes.size(); off += piece) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) return true;  // an answer (or the close) is there: stop sending
    if (!send(bytes.substr(off, piece))) return true;
  }
  return false;
}

std::string RawSocket::read_some(std::chrono::milliseconds timeout) {
  std::string out = std::move(pending_);
  pending_.clear();
  if (fd_ < 0 || !out.empty()) return out;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

std::string RawSocket::read_until_close(std::chrono::milliseconds timeout, bool* closed) {
  std::string out = std::move(pending_);
  pending_.clear();
  if (closed) *closed = false;
  const auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return out;  // deadline passed
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // closed, or reset
      if (closed) *closed = true;
      ::close(fd_);
      fd_ = -1;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (closed) *closed = true;
  return out;
}

std::string RawSocket::read_head(std::chrono::milliseconds timeout) {
  std::string out = std::move(pending_);
  pending_.clear();
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (fd_ >= 0 && out.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  auto end = out.find("\r\n\r\n");
  if (end != std::string::npos) {
    pending_ = out.substr(end + 4);
    out.resize(end + 4);
  }
  return out;
}

bool RawSocket::closed_within(std::chrono::milliseconds timeout) {
  bool closed = false;
  read_until_close(timeout, &closed);
  return closed;
}

int count_responses(const std::string& bytes) {
  int n = 0;
  for (std::size_t at = bytes.find("HTTP/1."); at != std::string::npos; at = bytes.find("HTTP/1.", at + 1))
    if (at + 12 <= bytes.size() && bytes[at + 8] == ' ' && std::isdigit(static_cast<unsigned char>(bytes[at + 9]))) ++n;
  return n;
}

int first_status(const std::string& bytes) {
  if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12) return 0;
  return std::atoi(bytes.substr(9, 3).c_str());
}

}  // namespace pg::test
