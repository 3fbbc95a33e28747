// A connection's TLS stream (beast::ssl_stream over beast::tcp_stream) and the server-side SSL
// context: every Beast HTTP read and write of an HTTPS connection is instantiated here.
//
// Context: TLS 1.2 at least, TLS 1.2 ciphers limited to ECDHE key exchange with AEAD (TLS 1.3
// suites are OpenSSL's, all AEAD), OpenSSL 3's security level 2, no compression, no
// renegotiation. With a client CA bundle, client certificates are asked for (and required
// with require_client_cert); one that does not verify fails the handshake.
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>

#include "http/io.hpp"
#include "tls/material.hpp"

namespace pg::http::detail {

namespace ssl = asio::ssl;

struct TlsContext {
  ssl::context ctx{ssl::context::tls_server};
};

namespace {

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kSessionContext[] = "pie-gateway";
constexpr int kMaxVerifyDepth = 8;
constexpr std::chrono::seconds kCloseTime{2};       // close_notify exchange, or a plain refusal's drain
constexpr std::size_t kPlainDrainBytes = 64 << 10;  // what a plain-HTTP client may send before we close
constexpr unsigned char kHandshakeRecord = 0x16;    // a TLS record carrying a handshake message

std::string ssl_error(const char* what) {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  const char* r = e ? ERR_reason_error_string(e) : nullptr;
  return std::string(what) + (r ? std::string(": ") + r : std::string{});
}

/// Every certificate of the CA bundle is trusted and named in the CertificateRequest.
Result<bool> add_client_cas(SSL_CTX* ctx, const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  std::size_t n = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ++n;
    const bool ok = X509_STORE_add_cert(store, c) == 1 && SSL_CTX_add_client_CA(ctx, c) == 1;
    X509_free(c);
    if (!ok) return make_error(ssl_error("a client CA certificate cannot be used"));
  }
  ERR_clear_error();
  if (n == 0) return make_error("the client CA bundle holds no certificate");
  return true;
}

/// Holds the context for as long as the stream made from it lives (a base, so that it is built
/// before the stream and goes after it).
struct ContextHolder {
  std::shared_ptr<TlsContext> context;
};

class TlsIo final : private ContextHolder,
                    public StreamIo<beast::ssl_stream<beast::tcp_stream>>,
                    public std::enable_shared_from_this<TlsIo> {
 public:
  TlsIo(tcp::socket socket, std::shared_ptr<TlsContext> ctx)
      : ContextHolder{std::move(ctx)}, StreamIo(std::move(socket), context->ctx) {
    beast::error_code ec;
    auto ep = lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void watch_read(asio::mutable_buffer into, IoHandler h) override {
    // Through TLS (the records must be decrypted in order), with no read deadline: clearing the
    // deadlines touches no operation in progress (a pending write keeps its own).
    lowest().expires_never();
    stream_.async_read_some(into, std::move(h));
  }

  void start(std::function<void(Start)> done) override {
    lowest().async_read_some(asio::buffer(first_), [self = shared_from_this(), done = std::move(done)](
                                                       beast::error_code ec, std::size_t n) mutable {
      if (ec) {
        spdlog::debug("http {}: closed before a TLS handshake: {}", self->remote_, ec.message());
        return done(Start::Gone);
      }
      if (static_cast<unsigned char>(self->first_[0]) != kHandshakeRecord) return done(Start::NotTls);
      self->stream_.async_handshake(ssl::stream_base::server, asio::buffer(self->first_.data(), n),
                                    [self, done = std::move(done)](beast::error_code ec, std::size_t) {
                                      self->handshaken(ec, done);
                                    });
    });
  }

  void refuse_plain(std::string answer, std::function<void()> done) override {
    answer_ = std::move(answer);
    closing_ = true;
    asio::async_write(lowest(), asio::buffer(answer_), [self = shared_from_this(), done = std::move(done)](
                                                           beast::error_code ec, std::size_t) mutable {
      beast::error_code ignore;
      self->socket().shutdown(tcp::socket::shutdown_send, ignore);
      if (ec) return self->finish_close(std::move(done));
      self->lowest().expires_after(kCloseTime);
      self->drain_plain(kPlainDrainBytes, std::move(done));
    });
  }

  std::string peer_cn() const override { return peer_cn_; }
  void end_output() override {}

  void close(std::function<void()> done) override {
    if (closing_) return;
    closing_ = true;
    if (!socket().is_open() || !handshaken_) return finish_close(std::move(done));
    beast::error_code ec;
    socket().cancel(ec);  // a watch read in progress ends; close_notify goes out next
    lowest().expires_after(kCloseTime);
    stream_.async_shutdown([self = shared_from_this(), done = std::move(done)](beast::error_code) mutable {
      self->finish_close(std::move(done));
    });
  }

 private:
  void handshaken(beast::error_code ec, const std::function<void(Start)>& done) {
    if (ec) {
      spdlog::debug("http {}: TLS handshake failed: {}", remote_, ec.message());
      return done(Start::Failed);
    }
    handshaken_ = true;
    SSL* s = stream_.native_handle();
    if (const X509* peer = SSL_get0_peer_certificate(s); peer && SSL_get_verify_result(s) == X509_V_OK)
      peer_cn_ = tls::subject_cn(peer);
    done(Start::Ready);
  }

  void drain_plain(std::size_t left, std::function<void()> done) {
    lowest().async_read_some(asio::buffer(first_), [self = shared_from_this(), left, done = std::move(done)](
                                                       beast::error_code ec, std::size_t n) mutable {
      if (ec || n >= left) return self->finish_close(std::move(done));
      self->drain_plain(left - n, std::move(done));
    });
  }

  void finish_close(std::function<void()> done) {
    beast::error_code ec;
    socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    if (done) done();
  }

  std::array<char, 4096> first_{};  // the client's first bytes (handed to the handshake), then a drain buffer
  std::string answer_;
  std::string remote_;
  std::string peer_cn_;
  bool handshaken_ = false, closing_ = false;
};

}  // namespace

Result<std::shared_ptr<TlsContext>> make_tls_context(const tls::Material& m) {
  auto c = std::make_shared<TlsContext>();
  SSL_CTX* ctx = c->ctx.native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return make_error(ssl_error("cannot require TLS 1.2"));
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return make_error(ssl_error("the TLS 1.2 cipher list"));
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  beast::error_code ec;
  c->ctx.use_certificate_chain(asio::buffer(m.cert_chain_pem), ec);
  if (ec) return make_error("the certificate chain cannot be used: " + ec.message());
  c->ctx.use_private_key(asio::buffer(m.key_pem), ssl::context::pem, ec);
  if (ec) return make_error("the private key cannot be used: " + ec.message());
  if (SSL_CTX_check_private_key(ctx) != 1) return make_error(ssl_error("the private key does not match the certificate"));
  if (!m.client_ca_pem.empty()) {
    if (auto added = add_client_cas(ctx, m.client_ca_pem); !added) return make_error(added.error());
    SSL_CTX_set_verify_depth(ctx, kMaxVerifyDepth);
    c->ctx.set_verify_mode(ssl::verify_peer | (m.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
  } else {
    c->ctx.set_verify_mode(ssl::verify_none);
  }
  return c;
}

std::shared_ptr<Io> make_tls_io(tcp::socket socket, std::shared_ptr<TlsContext> context) {
  return std::make_shared<TlsIo>(std::move(socket), std::move(context));
}

}  // namespace pg::http::detail
