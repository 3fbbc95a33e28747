// A raw TCP connection to 127.0.0.1 for hostile-client tests: send arbitrary bytes (also
// while the server answers), read everything until the server closes, all with deadlines.
#pragma once

#include <chrono>
#include <string>

namespace pg::test {

class RawSocket {
 public:
  explicit RawSocket(int port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends all of `bytes`; false when the peer has closed or reset the connection.
  bool send(const std::string& bytes);
  /// Sends `bytes` in pieces while watching for an answer; stops early (true) once the server has
  /// answered or closed. False when all was sent without an answer.
  bool send_until_answered(const std::string& bytes, std::size_t piece = 64 * 1024);
  /// Everything the server sends until it closes (or `timeout` passes: then `closed` is false).
  std::string read_until_close(std::chrono::milliseconds timeout, bool* closed = nullptr);
  /// Reads until what arrived contains "\r\n\r\n" (a response head) or the timeout passes.
  std::string read_head(std::chrono::milliseconds timeout);
  /// Whatever is already buffered from the server, waiting at most `timeout` for the first byte.
  std::string read_some(std::chrono::milliseconds timeout);
  /// True when the server closed (or reset) the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;  // read past a head, kept for the next read
};

/// The number of HTTP responses in `bytes` (status lines "HTTP/1.x NNN"; a body ends without a newline).
int count_responses(const std::string& bytes);
/// The status of the first response in `bytes`, 0 when there is none.
int first_status(const std::string& bytes);

}  // namespace pg::test
