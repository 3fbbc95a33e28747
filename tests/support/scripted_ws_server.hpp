// A scripted in-process WebSocket server for the Pie session tests (either protocol line): it
// accepts one connection on 127.0.0.1 on its own thread and runs a script over it synchronously
// (blocking reads and writes). Protocol-free: it moves whole frames; each test file decodes them
// with its line's codec. Header-only, so only the tests that use Beast's server side compile it.
//
// Every wait is bounded: join() (and the destructor) wait at most `limit` for the script, then
// shut the sockets down under it, so a script blocked on a client that never comes or never
// closes ends with an error instead of hanging the test.
#pragma once

#include <sys/socket.h>

#include <utility>  // before Asio with C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace pg::test {

class ScriptedWsServer {
 public:
  using Ws = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
  struct Frame {
    std::string bytes;
    bool binary = true;
  };

  ScriptedWsServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
  }
  ScriptedWsServer(const ScriptedWsServer&) = delete;
  ScriptedWsServer& operator=(const ScriptedWsServer&) = delete;
  ~ScriptedWsServer() { join(); }

  /// Accepts one connection (recording the upgrade request), then runs `script` on the server thread.
  /// An exception the script throws ends it; its text is error().
  void start(std::function<void()> script) {
    finished_ = done_.get_future();
    thread_ = std::thread([this, script = std::move(script)] {
      try {
        boost::asio::ip::tcp::socket sock = acceptor_.accept();
        socket_fd_.store(sock.native_handle());
        boost::beast::flat_buffer buf;
        boost::beast::http::request<boost::beast::http::string_body> req;
        boost::beast::http::read(sock, buf, req);
        {
          std::lock_guard lock(mu_);
          target_ = std::string(req.target());
          if (auto it = req.find("x-pie-identity"); it != req.end()) identity_ = std::string(it->value());
        }
        ws_.emplace(std::move(sock));
        ws_->accept(req);
        ws_->binary(true);
        script();
      } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        error_ = e.what();
      }
      done_.set_value();
    });
  }

  std::uint16_t port() const { return port_; }

  /// Waits for the script to end; after `limit`, shuts the sockets down under it first.
  void join(std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    if (!thread_.joinable()) return;
    if (finished_.wait_for(limit) != std::future_status::ready) {
      {
        std::lock_guard lock(mu_);
        if (error_.empty()) error_ = "the script did not finish in time";
      }
      if (const int fd = socket_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes a blocked accept()
    }
    thread_.join();
  }

  /// The script's error ("" when it ended normally). Read after join().
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  /// The upgrade request's target and `x-pie-identity` header (nullopt: absent).
  std::string target() const {
    std::lock_guard lock(mu_);
    return target_;
  }
  std::optional<std::string> identity() const {
    std::lock_guard lock(mu_);
    return identity_;
  }

  // ---- for scripts (server thread) ----
  Frame read_frame() {
    boost::beast::flat_buffer buf;
    ws_->read(buf);
    return Frame{boost::beast::buffers_to_string(buf.data()), ws_->got_binary()};
  }
  /// The next binary frame's bytes (a text frame is an error).
  std::string read_binary() {
    auto f = read_frame();
    if (!f.binary) throw std::runtime_error("server got a text frame: " + f.bytes.substr(0, 100));
    return std::move(f.bytes);
  }
  void send_binary(const std::string& bytes) {
    ws_->binary(true);
    ws_->write(boost::asio::buffer(bytes));
  }
  void send_text(const std::string& text) {
    ws_->text(true);
    ws_->write(boost::asio::buffer(text));
    ws_->binary(true);
  }
  /// A polite close (close frame, normal), then reads until the client answers it.
  void close() {
    ws_->close(boost::beast::websocket::close_code::normal);
  }
  /// Reads until the client closes (or the connection fails).
  void drain() {
    try {
      for (;;) read_frame();
    } catch (const std::exception&) {
    }
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::optional<Ws> ws_;
  std::uint16_t port_ = 0;
  std::atomic<int> socket_fd_{-1};
  std::promise<void> done_;
  std::future<void> finished_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string error_, target_;
  std::optional<std::string> identity_;
};

}  // namespace pg::test
