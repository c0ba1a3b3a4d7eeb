#include "examples/kv/http_server.h"

#include <array>
#include <ctime>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "util/watched_files.h"

namespace raftkit::examples::kv {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Declaration order matters: the I/O context is destroyed after the acceptor and before the counters and the
// handler, and destroying it destroys every session still waiting on it (their destructors count themselves out).
// Sessions and the acceptor's handlers hold a plain pointer to it, never ownership, so nothing keeps it alive in
// a cycle with its own queued handlers.
struct HttpServer::State {
  HttpServerOptions options;
  HttpHandler handler;
  std::atomic<bool> accepting{true};
  std::atomic<std::int64_t> in_flight{0};  // requests handed to the handler whose answers are not yet written
  std::atomic<std::uint64_t> open{0}, accepted{0}, requests{0}, refused{0}, idle_closed{0}, timed_out{0},
      oversized{0}, malformed{0}, handler_timeouts{0}, handler_errors{0}, tls_failures{0}, stale_certificates{0};
  std::shared_ptr<util::Reloaded<net::ssl::context>> tls;  // null: plain HTTP
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::vector<std::thread> threads;
};

namespace {

using State = HttpServer::State;

HttpResponse plain_error(http::status status, const std::string& error, unsigned version = 11) {
  HttpResponse res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"error\":\"" + error + "\"}\n";
  return res;
}

// The subject of the client certificate the handshake verified (verify_peer made an unverifiable one fail it), and
// when it expires. A resumed session carries the certificate and verdict of the handshake it resumes.
HttpCaller caller_of(SSL* ssl, std::time_t& expires) {
  HttpCaller caller;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return caller;
  std::tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &not_after) != 1) return caller;
  expires = timegm(&not_after);
  caller.certified = true;
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid != NID_commonName && nid != NID_organizationName) continue;
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (n < 0) continue;
    std::string value(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    if (nid == NID_commonName) {
      caller.common_name = std::move(value);
    } else {
      caller.organizations.push_back(std::move(value));
    }
  }
  return caller;
}

// The HTTPS context: TLS 1.2+, the certificate and its key, and with a client CA, client certificates asked for
// and verified (not required: a client without one authenticates otherwise).
Result<std::shared_ptr<net::ssl::context>> build_context(const HttpTlsOptions& options) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  beast::error_code ec;
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression, ec);
  if (!ec) ctx->use_certificate_chain_file(options.cert_file, ec);
  if (!ec) ctx->use_private_key_file(options.key_file, net::ssl::context::pem, ec);
  if (ec) return Status(ErrorCode::kInvalidArgument, "HTTPS certificate or key: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument,
                  "HTTPS key " + options.key_file + " does not match certificate " + options.cert_file);
  }
  if (!options.client_ca_file.empty()) {
    ctx->load_verify_file(options.client_ca_file, ec);
    if (ec) return Status(ErrorCode::kInvalidArgument, "HTTPS client CA " + options.client_ca_file + ": " + ec.message());
    // The CA's name goes into the certificate request, so a client with several certificates picks this CA's.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) {
      ERR_clear_error();
      return Status(ErrorCode::kInvalidArgument, "HTTPS client CA " + options.client_ca_file + ": no certificate");
    }
    SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    ctx->set_verify_mode(net::ssl::verify_peer, ec);
    if (ec) return Status(ErrorCode::kInvalidArgument, "HTTPS verify mode: " + ec.message());
    // Sessions resumed under verify_peer need an id context (whatever it is, the same on every connection).
    static constexpr unsigned char kSessionContext[] = "raftkit-kv-https";
    if (SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof kSessionContext - 1) != 1) {
      ERR_clear_error();
      return Status(ErrorCode::kInvalidArgument, "HTTPS: cannot set the session id context");
    }
  }
  return ctx;
}

// The most a connection's read buffer holds: an unfinished header (the parser consumes nothing of it before it is
// whole) and one read beyond it. Body bytes are consumed as they are parsed, so a request of any allowed size fits;
// a chunk-size line or trailer that never ends fills it and is refused (http::error::buffer_overflow).
std::size_t buffer_limit(const HttpServerOptions& o) { return o.max_header_bytes + (64 << 10) + 4096; }

// One connection, over plain TCP or (kTls) TLS. Everything runs on the connection's strand; answers from other
// threads are posted to it.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using std::enable_shared_from_this<Session<kTls>>::shared_from_this;
  using std::enable_shared_from_this<Session<kTls>>::weak_from_this;

  Session(State* state, tcp::socket socket)
    requires(!kTls)
      : state_(state), stream_(std::move(socket)), buffer_(buffer_limit(state->options)),
        read_timer_(stream_.get_executor()), handler_timer_(stream_.get_executor()) {
    ++state_->open;
  }
  Session(State* state, tcp::socket socket)
    requires(kTls)
      : state_(state), context_(state->tls->current()), stream_(std::move(socket), *context_),
        buffer_(buffer_limit(state->options)), read_timer_(stream_.get_executor()),
        handler_timer_(stream_.get_executor()) {
    ++state_->open;
  }
  ~Session() {
    settle();
    --state_->open;
  }

  // Starts serving on the session's own strand (the acceptor's handler runs on another).
  void launch(bool over_limit) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), over_limit] {
      if constexpr (kTls) {
        if (over_limit) {  // not worth a TLS handshake to say 503: closed at once
          ++self->state_->refused;
          return self->close();
        }
        self->arm_read_timer(self->state_->options.read_timeout);
        self->stream_.async_handshake(net::ssl::stream_base::server, [self, over_limit](beast::error_code ec) {
          self->end_read();
          if (ec) {
            ++self->state_->tls_failures;
            return self->close();
          }
          self->caller_ = caller_of(self->stream_.native_handle(), self->certificate_expires_);
          self->start();
        });
      } else {
        over_limit ? self->refuse() : self->start();
      }
    });
  }

  void start() { wait_for_request(); }

  // Answers a client over the connection limit and closes.
  void refuse() {
    ++state_->refused;
    HttpResponse res = plain_error(http::status::service_unavailable, "too many connections; retry later");
    res.set(http::field::retry_after, "1");
    finish(std::move(res));
  }

 private:
  // Between requests: wait for the first byte of the next one, at most idle_timeout.
  void wait_for_request() {
    if (closed_for_stale_certificate()) return;  // closed while idle, before the client sends its next request
    if (buffer_.size() > 0) return read_request();  // pipelined: the next request is already here
    arm_read_timer(state_->options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->end_read();
          if (ec) {
            if (self->timed_out_) ++self->state_->idle_closed;
            return self->close();
          }
          self->buffer_.commit(n);
          self->read_request();
        });
  }

  // The rest of a request, at most read_timeout from its first byte, within the size limits.
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    arm_read_timer(state_->options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->end_read();
      self->on_request(ec);
    });
  }

  // The deadline of the read under way. A read that completes bumps read_generation_ (end_read), so a deadline
  // that expired just as the read finished, whose handler was already queued, cannot cut a later operation.
  void arm_read_timer(std::chrono::milliseconds limit) {
    timed_out_ = false;
    const std::uint64_t generation = ++read_generation_;
    read_timer_.expires_after(limit);
    read_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->read_generation_) return;  // cancelled, or that read finished first
      self->timed_out_ = true;
      beast::error_code ignored;
      self->socket().cancel(ignored);  // a read waiting on the socket completes with operation_aborted
      // A read of several steps (a TLS handshake, a request, the drain) may have its next step queued rather than
      // waiting, which cancel() does not reach: with the receiving side shut, that step ends at once too.
      self->socket().shutdown(tcp::socket::shutdown_receive, ignored);
    });
  }

  // A request handed to the handler is settled once its answer is written (or the connection is gone).
  void settle() {
    if (owes_answer_) {
      owes_answer_ = false;
      --state_->in_flight;
    }
  }

  void end_read() {
    ++read_generation_;
    read_timer_.cancel();
  }

  void on_request(beast::error_code ec) {
    if (timed_out_) {
      ++state_->timed_out;
      return finish(plain_error(http::status::request_timeout, "request not received in time"));
    }
    if (ec == http::error::body_limit) {
      ++state_->oversized;
      return finish(plain_error(http::status::payload_too_large, "body too large"));
    }
    if (ec == http::error::header_limit) {
      ++state_->oversized;
      // The request line is parsed (and leaves the buffer) only if it was whole in the first bytes the parser saw;
      // otherwise the parser holds the unfinished header unparsed. Either way, a request line that never ended
      // within the limit means the target is too long; otherwise the header fields are.
      if (parser_->get().target().empty() && !request_line_ended()) {
        return finish(plain_error(http::status::uri_too_long, "request target too long"));
      }
      return finish(plain_error(http::status::request_header_fields_too_large, "request header too large"));
    }
    if (ec == http::error::buffer_overflow) {
      // A chunk-size line or a trailer that never ends: the body limit counts only chunk data, the buffer's own
      // limit bounds the rest.
      ++state_->oversized;
      return finish(plain_error(http::status::payload_too_large, "chunk header or trailer too large"));
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) {
      if (ec.category() != http::make_error_code(http::error::bad_target).category() ||
          ec == http::error::partial_message) {
        return close();  // the socket failed, or the client left mid-request: nobody to answer
      }
      ++state_->malformed;
      return finish(plain_error(http::status::bad_request, "malformed HTTP request"));
    }
    if (closed_for_stale_certificate()) return;  // it went stale while the connection was idle
    HttpRequest req = parser_->release();
    parser_.reset();
    ++state_->requests;
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    if (req.target().size() > state_->options.max_target_bytes) {
      ++state_->oversized;
      return finish(plain_error(http::status::uri_too_long, "request target too long", version_));
    }
    const std::uint64_t seq = ++seq_;
    const HttpServerOptions& o = state_->options;
    handler_timer_.expires_after(o.handler_timeout_for ? o.handler_timeout_for(req) : o.handler_timeout);
    handler_timer_.async_wait([self = shared_from_this(), seq](beast::error_code e) {
      if (e || self->seq_ != seq || self->answered_) return;
      ++self->state_->handler_timeouts;
      HttpResponse res = plain_error(http::status::service_unavailable, "timed out (outcome unknown)", self->version_);
      res.set(http::field::retry_after, "1");
      self->answer(seq, std::move(res));
    });
    answered_ = false;
    auto executor = stream_.get_executor();
    // The answer's path back holds the session weakly: a client that gave up (answered 503 at handler_timeout,
    // then gone) is not kept open, or counted, while whatever it asked still waits in the cluster.
    owes_answer_ = true;
    ++state_->in_flight;
    HttpRespond respond = [weak = weak_from_this(), seq, executor](HttpResponse res) {
      net::post(executor, [weak, seq, res = std::move(res)]() mutable {
        if (auto self = weak.lock()) self->answer(seq, std::move(res));
      });
    };
    try {
      state_->handler(std::move(req), caller_, std::move(respond));
    } catch (const std::exception& e) {
      ++state_->handler_errors;
      std::fprintf(stderr, "http: handler threw: %s\n", e.what());
      answer(seq, plain_error(http::status::internal_server_error, "internal error", version_));
    } catch (...) {
      ++state_->handler_errors;
      answer(seq, plain_error(http::status::internal_server_error, "internal error", version_));
    }
  }

  // A client certificate counts for a connection while it is valid and the certificate files it was verified
  // against are the ones in force: once it has expired, or the files changed (a client CA replaced to revoke
  // certificates, say), the connection is closed unanswered, as a keep-alive connection may be closed between
  // requests (RFC 9112, 9.5); the client connects again and its certificate is verified afresh.
  bool closed_for_stale_certificate() {
    if constexpr (kTls) {
      if (!caller_.certified) return false;
      if (std::time(nullptr) < certificate_expires_ && state_->tls->current() == context_) return false;
      ++state_->stale_certificates;
      close();
      return true;
    } else {
      return false;
    }
  }

  void answer(std::uint64_t seq, HttpResponse res) {
    if (seq != seq_ || answered_) return;  // a late answer to a request already answered (timed out)
    answered_ = true;
    handler_timer_.cancel();
    res.version(version_);
    res.keep_alive(keep_alive_ && state_->accepting);
    write(std::move(res));
  }

  // Answers and closes the connection, reading (and dropping) what the client still sends for a moment, so the
  // answer is not lost to a reset caused by unread request bytes.
  void finish(HttpResponse res) {
    res.version(version_);
    res.keep_alive(false);
    linger_ = true;
    write(std::move(res));
  }

  void write(HttpResponse res) {
    res.prepare_payload();
    auto shared = std::make_shared<HttpResponse>(std::move(res));
    beast::get_lowest_layer(stream_).expires_after(state_->options.write_timeout);
    http::async_write(stream_, *shared, [self = shared_from_this(), shared](beast::error_code ec, std::size_t) {
      beast::get_lowest_layer(self->stream_).expires_never();
      self->settle();
      if (!ec && self->linger_) return self->drain_and_close();
      if (ec || !shared->keep_alive()) return self->close();
      self->wait_for_request();
    });
  }

  // (With TLS the drained bytes are read below it, undecrypted: they are thrown away either way.)
  void drain_and_close() {
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain_started_) {
      drain_started_ = true;
      arm_read_timer(std::chrono::milliseconds(1000));
    }
    socket().async_read_some(net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->end_read();
        return self->close();
      }
      self->drain_and_close();
    });
  }

  bool request_line_ended() const {
    const auto data = buffer_.data();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    return bytes.find("\r\n") != std::string_view::npos;
  }

  void close() {
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    socket().close(ignored);
  }

  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  State* state_;
  std::shared_ptr<net::ssl::context> context_;  // with TLS: outlives the stream
  HttpCaller caller_;  // what the TLS handshake proved (nothing, without a client certificate)
  std::time_t certificate_expires_ = 0;
  Stream stream_;
  beast::flat_buffer buffer_;  // bounded (buffer_limit): only what the parser has not consumed yet stays in it
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer read_timer_;
  net::steady_timer handler_timer_;
  bool timed_out_ = false;
  std::uint64_t read_generation_ = 0;
  std::uint64_t seq_ = 0;  // the request being answered; answers for older ones are dropped
  bool answered_ = true;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool linger_ = false;
  bool drain_started_ = false;
  bool owes_answer_ = false;  // a request was handed to the handler and its answer is not written yet
  std::array<char, 4096> scratch_{};
};

// Connections over the limit still being answered 503 (each holds a descriptor until its drain ends).
constexpr std::size_t kMaxRefusing = 64;

void accept_next(State* state) {
  if (!state->accepting) return;
  state->acceptor.async_accept(net::make_strand(state->ioc), [state](beast::error_code ec, tcp::socket socket) {
    if (!state->accepting) return;
    if (ec) {
      // Out of descriptors (EMFILE) or a connection reset while queued: try again shortly, never spin.
      state->accept_retry.expires_after(std::chrono::milliseconds(10));
      state->accept_retry.async_wait([state](beast::error_code) { accept_next(state); });
      return;
    }
    ++state->accepted;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    const bool over_limit = state->open >= state->options.max_connections;
    if (state->open >= state->options.max_connections + kMaxRefusing) {
      // Refusals answered 503 linger for up to a second each (the drain): beyond a few, a flood is closed at once,
      // so it cannot hold more descriptors than the limit and this handful.
      ++state->refused;
      return accept_next(state);  // `socket` closes as it goes out of scope
    }
    try {
      if (state->tls) {
        std::make_shared<Session<true>>(state, std::move(socket))->launch(over_limit);
      } else {
        std::make_shared<Session<false>>(state, std::move(socket))->launch(over_limit);
      }
    } catch (const std::exception& e) {  // out of memory, or OpenSSL could not make the connection's state
      std::fprintf(stderr, "http: could not serve a connection: %s\n", e.what());
    }
    accept_next(state);
  });
}

void run_io(State& state) {
  for (;;) {
    try {
      state.ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "http: an I/O thread caught: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "http: an I/O thread caught an unknown exception\n");
    }
  }
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler) {
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->handler = std::move(handler);
  beast::error_code ec;
  const auto address = net::ip::make_address(state->options.host, ec);
  if (ec) return Status(ErrorCode::kInvalidArgument, "bad HTTP address '" + state->options.host + "': " + ec.message());
  if (state->options.tls) {
    const HttpTlsOptions tls = *state->options.tls;
    std::vector<std::string> files{tls.cert_file, tls.key_file};
    if (!tls.client_ca_file.empty()) files.push_back(tls.client_ca_file);
    auto contexts = util::Reloaded<net::ssl::context>::load(
        std::move(files), "HTTPS certificate files", [tls] { return build_context(tls); },
        [](const std::string& line) { std::fprintf(stderr, "http: %s\n", line.c_str()); });
    if (!contexts.is_ok()) return contexts.status();
    state->tls = std::move(contexts).value();
  }
  const tcp::endpoint endpoint(address, state->options.port);
  const std::string where = state->options.host + ":" + std::to_string(state->options.port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status(ErrorCode::kIo, "cannot listen for HTTP on " + where + ": " + ec.message());
  unsigned threads = state->options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  accept_next(state.get());
  for (unsigned i = 0; i < threads; ++i) state->threads.emplace_back([s = state.get()] { run_io(*s); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

HttpServerStats HttpServer::stats() const {
  const State& s = *state_;
  return HttpServerStats{s.open,      s.accepted,  s.requests,  s.refused,          s.idle_closed, s.timed_out,
                         s.oversized, s.malformed, s.handler_timeouts, s.handler_errors, s.tls_failures,
                         s.stale_certificates};
}

void HttpServer::stop_accepting() {
  if (!state_->accepting.exchange(false)) return;
  std::promise<void> closed;
  net::post(state_->acceptor.get_executor(), [this, &closed] {
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    state_->accept_retry.cancel();
    closed.set_value();
  });
  closed.get_future().wait();
}

void HttpServer::stop() {
  if (state_->threads.empty()) return;
  stop_accepting();
  // Answers already owed (the peer answers everything pending when it stops) go out before the threads stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (state_->in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  state_->ioc.stop();
  for (std::thread& t : state_->threads) t.join();
  state_->threads.clear();
}

}  // namespace raftkit::examples::kv
