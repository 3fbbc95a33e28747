// A connection's plain TCP stream (beast::tcp_stream): every Beast HTTP read and write of a
// plain connection is instantiated here.
#include "http/io.hpp"

namespace pg::http::detail {

namespace {

class PlainIo final : public StreamIo<beast::tcp_stream> {
 public:
  explicit PlainIo(tcp::socket socket) : StreamIo(std::move(socket)) {}

  // On the socket itself (not through tcp_stream): no timeout, and writes keep theirs.
  void watch_read(asio::mutable_buffer into, IoHandler h) override { stream_.socket().async_read_some(into, std::move(h)); }

  void start(std::function<void(Start)> done) override { done(Start::Ready); }
  void refuse_plain(std::string, std::function<void()> done) override { close(std::move(done)); }
  std::string peer_cn() const override { return {}; }
  void end_output() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  void close(std::function<void()> done) override {
    end_output();
    stream_.close();
    if (done) done();
  }
};

}  // namespace

std::shared_ptr<Io> make_plain_io(tcp::socket socket) { return std::make_shared<PlainIo>(std::move(socket)); }

}  // namespace pg::http::detail
