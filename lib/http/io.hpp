// Internal to lib/http: a connection's byte stream, plain TCP (io_plain.cpp) or TLS
// (io_tls.cpp), behind one interface so that the connection (connection.cpp, stream.cpp) is
// written once and each stream type's Beast/Asio operations are instantiated in one translation
// unit. Every operation runs on the connection's executor; handlers are called as Asio does.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/server_impl.hpp"

namespace pg::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using Parser = bhttp::request_parser<bhttp::string_body>;
using PlainResponse = bhttp::response<bhttp::string_body>;
using HeadSerializer = bhttp::response_serializer<bhttp::string_body>;
using IoHandler = std::function<void(beast::error_code, std::size_t)>;

class Io {
 public:
  virtual ~Io() = default;
  virtual asio::any_io_executor executor() = 0;
  /// The TCP socket underneath (peer address, options, cancel).
  virtual tcp::socket& socket() = 0;
  /// The deadline of the reads and writes started from now on; when it passes, the connection
  /// closes and they fail with beast::error::timeout.
  virtual void expires_after(std::chrono::steady_clock::duration d) = 0;

  virtual void read_some(asio::mutable_buffer into, IoHandler h) = 0;
  virtual void read_header(beast::flat_buffer& buffer, Parser& parser, IoHandler h) = 0;
  virtual void read_some(beast::flat_buffer& buffer, Parser& parser, IoHandler h) = 0;
  virtual void write(PlainResponse& response, IoHandler h) = 0;
  virtual void write_header(HeadSerializer& serializer, IoHandler h) = 0;
  virtual void write(asio::const_buffer bytes, IoHandler h) = 0;
  /// A read without a deadline (the watch for a client going away); writes keep theirs.
  virtual void watch_read(asio::mutable_buffer into, IoHandler h) = 0;

  enum class Start { Ready, NotTls, Failed, Gone };
  /// Plain: Ready at once. TLS: the handshake under the current deadline; NotTls when the
  /// client's first bytes are not a TLS handshake (plain HTTP to an HTTPS port: answer it with
  /// refuse_plain()); Gone when it closed (or timed out) before sending a byte; Failed (logged
  /// at debug) when the handshake failed.
  virtual void start(std::function<void(Start)> done) = 0;
  /// TLS after NotTls: `answer` goes out unencrypted, what the client sent is read and dropped
  /// for a short while, then the connection closes and `done` runs.
  virtual void refuse_plain(std::string answer, std::function<void()> done) = 0;
  /// The verified client certificate's subject CN ("" = none, or plain TCP).
  virtual std::string peer_cn() const = 0;
  /// After the response, before a lingering drain: plain TCP half-closes (the client sees the
  /// end of the answer); TLS leaves that to close().
  virtual void end_output() = 0;
  /// Close (again is harmless). TLS sends close_notify first and waits a bounded time for the
  /// peer's; `done` runs once the socket is closed.
  virtual void close(std::function<void()> done) = 0;
  virtual bool is_open() = 0;
};

/// The operations both stream types share, on `Stream` (beast::tcp_stream, or beast::ssl_stream
/// over one). Instantiated only in io_plain.cpp and io_tls.cpp.
template <class Stream>
class StreamIo : public Io {
 public:
  asio::any_io_executor executor() override { return stream_.get_executor(); }
  tcp::socket& socket() override { return lowest().socket(); }
  void expires_after(std::chrono::steady_clock::duration d) override { lowest().expires_after(d); }
  void read_some(asio::mutable_buffer into, IoHandler h) override { stream_.async_read_some(into, std::move(h)); }
  void read_header(beast::flat_buffer& buffer, Parser& parser, IoHandler h) override {
    bhttp::async_read_header(stream_, buffer, parser, std::move(h));
  }
  void read_some(beast::flat_buffer& buffer, Parser& parser, IoHandler h) override {
    bhttp::async_read_some(stream_, buffer, parser, std::move(h));
  }
  void write(PlainResponse& response, IoHandler h) override { bhttp::async_write(stream_, response, std::move(h)); }
  void write_header(HeadSerializer& serializer, IoHandler h) override {
    bhttp::async_write_header(stream_, serializer, std::move(h));
  }
  void write(asio::const_buffer bytes, IoHandler h) override { asio::async_write(stream_, bytes, std::move(h)); }
  bool is_open() override { return socket().is_open(); }

 protected:
  template <class... Args>
  explicit StreamIo(Args&&... args) : stream_(std::forward<Args>(args)...) {}
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  Stream stream_;
};

std::shared_ptr<Io> make_plain_io(tcp::socket socket);
/// `context`: make_tls_context() (server_impl.hpp).
std::shared_ptr<Io> make_tls_io(tcp::socket socket, std::shared_ptr<TlsContext> context);

}  // namespace pg::http::detail
