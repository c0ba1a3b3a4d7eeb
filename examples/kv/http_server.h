// An HTTP/1.1 server on Beast's asynchronous API, for the key-value example: a small pool of I/O threads serves
// every connection (no thread per connection), with keep-alive and pipelining (requests on one connection are
// answered in order, one at a time), and a bound on everything a client can make it hold:
//   connections   at most max_connections open; one more is answered 503 with Retry-After and closed (with TLS:
//                 closed at once, before any handshake), and beyond 64 such refusals under way, closed at once;
//   idle time     a connection with no request under way is closed after idle_timeout;
//   read time     a request must arrive whole within read_timeout of its first byte, or it is answered 408;
//   header size   max_header_bytes, checked while reading (request line too long: 414; headers: 431);
//   body size     max_body_bytes, checked against Content-Length before any body byte is buffered (413);
//   read buffer   what is read but not yet parsed: the header limit and one read, so a chunk-size line or a
//                 trailer that never ends is refused (413) instead of buffered;
//   answer time   a handler that has not answered within handler_timeout is answered 503 for it (outcome
//                 unknown); its late answer is dropped;
//   write time    a client that does not read its answer within write_timeout is disconnected.
// With `tls`, connections are HTTPS (TLS 1.2+; the TLS handshake must finish within read_timeout); a client that
// does not speak TLS is closed unanswered. The certificate and key (and the client CA) are read again when they
// change, for new connections, without a restart. A malformed request is answered 400. After a request that
// could not be read, or a refused connection, the connection is closed. No exception escapes: a handler that
// throws is answered 500, and the I/O threads catch whatever reaches them.
//
// The handler runs on an I/O thread and must not block: it answers through `respond`, from any thread, once
// (later calls are ignored).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <utility>  // before Beast: Boost 1.74 needs std::exchange declared
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "consensus/status.h"

namespace raftkit::examples::kv {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpRespond = std::function<void(HttpResponse)>;

// What the connection proves about who sent a request: with client certificates (HttpTlsOptions::client_ca_file),
// the subject of the certificate the client presented, verified against that CA during the handshake. Without
// one, nothing: the request must prove itself (a bearer token, say).
struct HttpCaller {
  bool certified = false;
  std::string common_name;                 // the subject's CN
  std::vector<std::string> organizations;  // the subject's O entries
};
using HttpHandler = std::function<void(HttpRequest&&, const HttpCaller&, HttpRespond)>;

// The server's certificate (PEM, with any intermediates) and its private key; read at start and again when they
// change (a failed reload keeps the previous ones and is logged).
struct HttpTlsOptions {
  std::string cert_file;
  std::string key_file;
  // Set: clients may present a certificate, which must chain to this CA (PEM) or the handshake fails, and is
  // then HttpCaller. Clients without one are still served (to authenticate otherwise).
  std::string client_ca_file;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see HttpServer::port)
  unsigned threads = 0;    // 0: one per core
  std::size_t max_connections = 1024;
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_target_bytes = 8 << 10;
  std::size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds handler_timeout{5000};
  // When set, a request's own answer time instead of handler_timeout (slow administrative requests, say).
  std::function<std::chrono::milliseconds(const HttpRequest&)> handler_timeout_for;
  std::chrono::milliseconds write_timeout{10000};
  std::optional<HttpTlsOptions> tls;  // unset: plain HTTP
};

// Counters since start; refusals by the status they were answered with.
struct HttpServerStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t refused_connections = 0;  // over max_connections (503)
  std::uint64_t idle_closed = 0;
  std::uint64_t timed_out_reads = 0;      // 408
  std::uint64_t oversized = 0;            // 413, 414, 431
  std::uint64_t malformed = 0;            // 400 from the parser
  std::uint64_t handler_timeouts = 0;     // 503 for a handler that did not answer in time
  std::uint64_t handler_errors = 0;       // 500: the handler threw
  std::uint64_t tls_handshake_failures = 0;  // closed unanswered: not TLS, or no acceptable version or cipher
  std::uint64_t stale_certificates = 0;  // closed before a request: its client certificate expired or was reloaded
};

class HttpServer {
 public:
  // Binds and starts serving; an address that cannot be bound is an error (nothing is left running).
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  HttpServerStats stats() const;
  // Stops taking connections; open ones are still served.
  void stop_accepting();
  // Stops taking connections, lets answers already owed be written (up to 2 s), then stops the I/O threads and
  // joins them. Answers that arrive later are dropped — as long as this object lives: stop whatever may still
  // answer (the peer) before destroying it.
  void stop();

  struct State;  // internal

 private:
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace raftkit::examples::kv
