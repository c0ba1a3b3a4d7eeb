// The WebSocket implementation of Transport. Inbound connections are served asynchronously by an
// InboundListener (transport/inbound.h), which anyone on the network can reach and which therefore holds nothing
// without a bound. Outbound, each peer has a writer thread: their number is the number of peers, which this node
// chooses. Opening a connection (TCP, upgrade, hello, welcome) runs asynchronously on the writer's own io_context
// within the handshake timeout, so a peer that accepts and then says nothing cannot hold a writer; after that the
// writer makes synchronous writes, and stop() unblocks one by shutting its socket down. With TLS (transport/tls.h)
// both directions run over mutually authenticated TLS; the writer checks that the peer it dials shows a certificate
// naming that peer.
#include <sys/socket.h>

#include <algorithm>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "transport/inbound.h"
#include "transport/tls.h"
#include "transport/transport.h"
#include "transport/wire.h"

namespace raftkit {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
// beast::ssl_stream, not Asio's ssl::stream: it coalesces a WebSocket frame's header and payload into one TLS record
// and one write, where Asio's writes only the first buffer of a sequence per call (two records, two syscalls).
using TlsSocket = beast::ssl_stream<tcp::socket>;

std::size_t message_bytes(const Message& m) {
  std::size_t n = 128 + m.data.size();
  for (const Entry& e : m.entries) n += entry_size(e) + 8;
  return n;
}

// Asio's blocking calls have no deadline (SO_RCVTIMEO does not help: a timed-out receive makes Asio poll again),
// so the steps of opening a connection are started asynchronously on a private io_context and given at most
// `timeout`; past it the socket is closed, which ends whatever is still waiting.
void run_within(net::io_context& ioc, tcp::socket& socket, std::chrono::milliseconds timeout) {
  ioc.restart();
  ioc.run_for(timeout);
  if (!ioc.stopped()) {
    beast::error_code ignored;
    socket.close(ignored);
    ioc.restart();
    ioc.run();
  }
}

std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    deadline - std::chrono::steady_clock::now()));
}

// The TLS handshake as a client, within `timeout`.
beast::error_code tls_handshake(net::io_context& ioc, TlsSocket& stream, std::chrono::milliseconds timeout) {
  beast::error_code result = net::error::timed_out;
  stream.async_handshake(net::ssl::stream_base::client, [&](beast::error_code ec) { result = ec; });
  run_within(ioc, stream.next_layer(), timeout);
  return result;
}

// Upgrades `ws` to WebSocket, sends `first` and reads the one frame that answers it into `reply`, within `timeout`.
template <class WebSocket>
beast::error_code exchange_first_frames(net::io_context& ioc, WebSocket& ws, const std::string& host_header,
                                        const std::string& first, beast::flat_buffer& reply,
                                        std::chrono::milliseconds timeout) {
  beast::error_code result = net::error::timed_out;
  ws.async_handshake(host_header, "/raftkit", [&](beast::error_code upgraded) {
    if (upgraded) {
      result = upgraded;
      return;
    }
    ws.async_write(net::buffer(first), [&](beast::error_code written, std::size_t) {
      if (written) {
        result = written;
        return;
      }
      ws.async_read(reply, [&](beast::error_code read, std::size_t) { result = read; });
    });
  });
  run_within(ioc, beast::get_lowest_layer(ws), timeout);
  return result;
}

// An open outbound connection, plain or TLS: its writer only writes whole frames to it, synchronously.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual beast::error_code write(const std::string& frame) = 0;
  virtual tcp::socket& socket() = 0;
  // The TLS handshake (a failed one sets tls_failed), the upgrade, `first` sent and the frame answering it read
  // into `reply` (at most its max_size()), all before `deadline`.
  virtual beast::error_code open(net::io_context& ioc, const std::string& host_header, const std::string& first,
                                 beast::flat_buffer& reply, std::chrono::steady_clock::time_point deadline,
                                 bool& tls_failed) = 0;
};

template <class Stream>
class ConnectionOver final : public Connection {
 public:
  template <typename... Args>
  explicit ConnectionOver(std::shared_ptr<net::ssl::context> context, std::string expected_name, Args&&... args)
      : context_(std::move(context)), expected_name_(std::move(expected_name)), ws_(std::forward<Args>(args)...) {
    ws_.binary(true);
  }
  beast::error_code write(const std::string& frame) override {
    beast::error_code ec;
    ws_.write(net::buffer(frame), ec);
    return ec;
  }
  tcp::socket& socket() override { return beast::get_lowest_layer(ws_); }
  beast::error_code open(net::io_context& ioc, const std::string& host_header, const std::string& first,
                         beast::flat_buffer& reply, std::chrono::steady_clock::time_point deadline,
                         bool& tls_failed) override {
    ws_.read_message_max(reply.max_size());
    if constexpr (std::is_same_v<Stream, TlsSocket>) {
      if (beast::error_code ec = tls_handshake(ioc, ws_.next_layer(), time_left(deadline))) {
        tls_failed = true;
        return ec;
      }
      // The same exact comparison with the certificate's DNS names as the listener makes (no wildcards, no
      // fallback to the subject's common name).
      if (!expected_name_.empty() &&
          !transport_internal::certificate_names_include(
              transport_internal::certificate_names(ws_.next_layer().native_handle()), expected_name_)) {
        tls_failed = true;
        return net::ssl::error::make_error_code(net::ssl::error::unspecified_system_error);
      }
    }
    return exchange_first_frames(ioc, ws_, host_header, first, reply, time_left(deadline));
  }

 private:
  std::shared_ptr<net::ssl::context> context_;  // with TLS: outlives the stream that uses it
  const std::string expected_name_;              // with TLS: the name the other side's certificate must carry
  websocket::stream<Stream> ws_;
};

// A connection over `socket`: plain without a context; with one, TLS that accepts only a certificate naming
// `expected_name` (any name, when empty: a join request does not know whom it reaches).
std::unique_ptr<Connection> make_connection(tcp::socket socket, std::shared_ptr<net::ssl::context> context,
                                            const std::string& expected_name) {
  if (!context) return std::make_unique<ConnectionOver<tcp::socket>>(nullptr, "", std::move(socket));
  net::ssl::context& ctx = *context;
  return std::make_unique<ConnectionOver<TlsSocket>>(std::move(context), expected_name, std::move(socket), ctx);
}

class WebSocketTransport final : public Transport {
 public:
  WebSocketTransport(TransportOptions options, Receiver receiver)
      : options_(std::move(options)), receiver_(std::move(receiver)) {}
  ~WebSocketTransport() override { stop(); }

  Status listen();
  void send(std::vector<Message> messages) override;
  void set_peers(std::vector<PeerAddress> peers) override;
  std::uint16_t port() const override { return port_; }
  TransportStats stats() const override;
  void stop() override;

 private:
  struct Outbound {
    PeerAddress address;
    std::atomic<bool> closing{false};  // removed from the peer list: the writer ends
    std::mutex mu;
    std::condition_variable ready;
    std::deque<Message> queue;
    std::size_t queued_bytes = 0;
    int socket_fd = -1;  // for stop() to unblock a write
    net::io_context ioc;  // the writer's sockets; run only while a connection is being opened
    std::thread writer;
  };

  std::string on_hello(const wire::Hello& hello, const std::string& source);
  void write_loop(Outbound& peer);
  bool connect(Outbound& peer, std::unique_ptr<Connection>& connection);
  std::optional<PeerAddress> peer(NodeId id) const;
  void start_outbound(const PeerAddress& p);  // peers_mu_ held
  std::string answer_join(std::string_view payload);
  // A hello from a peer not in the list: asks options_.admit_unknown, and adds the peer if it says yes.
  bool admit(const wire::Hello& hello, const std::string& source);
  void log(const std::string& line) const;

  TransportOptions options_;
  Receiver receiver_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<transport_internal::TlsContexts> tls_;  // null: plaintext
  std::unique_ptr<transport_internal::InboundListener> inbound_;
  mutable std::mutex peers_mu_;  // options_.peers and outbound_ change with the membership
  std::map<NodeId, std::unique_ptr<Outbound>> outbound_;
  std::vector<std::unique_ptr<Outbound>> retired_;  // removed peers' writers, joined at stop()
  std::size_t admitted_unknown_ = 0;  // since the last set_peers

  mutable std::mutex stats_mu_;
  TransportStats stats_;
};

std::optional<PeerAddress> WebSocketTransport::peer(NodeId id) const {
  std::lock_guard<std::mutex> lock(peers_mu_);
  for (const PeerAddress& p : options_.peers) {
    if (p.id == id) return p;
  }
  return std::nullopt;
}

void WebSocketTransport::start_outbound(const PeerAddress& p) {
  auto out = std::make_unique<Outbound>();
  out->address = p;
  Outbound& ref = *out;
  outbound_[p.id] = std::move(out);
  ref.writer = std::thread([this, &ref] { write_loop(ref); });
}

void WebSocketTransport::set_peers(std::vector<PeerAddress> peers) {
  std::lock_guard<std::mutex> lock(peers_mu_);
  if (stopping_) return;
  auto retire = [&](std::map<NodeId, std::unique_ptr<Outbound>>::iterator it) {
    Outbound& peer = *it->second;
    peer.closing = true;
    {
      std::lock_guard<std::mutex> l(peer.mu);
      if (peer.socket_fd >= 0) ::shutdown(peer.socket_fd, SHUT_RDWR);
    }
    peer.ready.notify_all();
    retired_.push_back(std::move(it->second));
    return outbound_.erase(it);
  };
  for (auto it = outbound_.begin(); it != outbound_.end();) {
    auto next = std::find_if(peers.begin(), peers.end(), [&](const PeerAddress& p) { return p.id == it->first; });
    const PeerAddress& had = it->second->address;
    if (next == peers.end() || next->host != had.host || next->port != had.port || next->name != had.name) {
      it = retire(it);
    } else {
      ++it;
    }
  }
  for (const PeerAddress& p : peers) {
    if (p.id != options_.self && !outbound_.count(p.id)) start_outbound(p);
  }
  options_.peers = std::move(peers);
  admitted_unknown_ = 0;
  if (inbound_) inbound_->cut_removed_peers();
}

Status WebSocketTransport::listen() {
  transport_internal::InboundHandlers handlers;
  handlers.on_hello = [this](const wire::Hello& hello, const std::string& source) { return on_hello(hello, source); };
  handlers.is_peer = [this](NodeId id) { return peer(id).has_value(); };
  handlers.on_message = [this](Message m) {
    if (m.to != options_.self) return false;
    receiver_(std::move(m));
    return true;
  };
  handlers.answer_join = [this](std::string_view payload) { return answer_join(payload); };
  handlers.log = [this](const std::string& line) { log(line); };
  handlers.count = [this](std::uint64_t TransportStats::*field, std::uint64_t n) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.*field += n;
  };
  if (options_.tls) {
    auto tls = transport_internal::TlsContexts::load(*options_.tls, [this](const std::string& line) { log(line); });
    if (!tls.is_ok()) return tls.status();
    tls_ = std::move(tls).value();
  } else {
    log("plaintext peer port: anyone who can reach it can act as a member (docs/security.md)");
  }
  auto listener = transport_internal::InboundListener::start(options_, std::move(handlers), tls_);
  if (!listener.is_ok()) return listener.status();
  inbound_ = std::move(listener).value();
  port_ = inbound_->port();
  std::lock_guard<std::mutex> lock(peers_mu_);
  for (const PeerAddress& p : options_.peers) {
    if (p.id != options_.self) start_outbound(p);
  }
  return Status::ok();
}

void WebSocketTransport::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "raftkit transport %s: %s\n", options_.self_name.c_str(), line.c_str());
  }
}

std::string WebSocketTransport::on_hello(const wire::Hello& hello, const std::string& source) {
  if (hello.cluster != options_.cluster) return "this is cluster '" + options_.cluster + "', not '" + hello.cluster + "'";
  if (hello.to != options_.self) {
    return "this is node " + std::to_string(options_.self) + ", not " + std::to_string(hello.to);
  }
  const std::optional<PeerAddress> known = peer(hello.from);
  if (known ? known->name != hello.from_name : !admit(hello, source)) {
    return "unknown peer '" + hello.from_name + "' (id " + std::to_string(hello.from) + ")";
  }
  return "";
}

bool WebSocketTransport::admit(const wire::Hello& hello, const std::string& source) {
  if (!options_.admit_unknown || hello.from_port == 0 || hello.from == options_.self) return false;
  PeerAddress address{hello.from, hello.from_name, hello.from_host, hello.from_port};
  if (address.host.empty()) address.host = source;  // it listens on every address: answer where it connected from
  if (!options_.admit_unknown(address)) return false;
  std::lock_guard<std::mutex> lock(peers_mu_);
  if (stopping_) return false;
  for (const PeerAddress& p : options_.peers) {
    if (p.id == address.id) return p.name == address.name;  // admitted meanwhile by another connection
  }
  // Each admitted peer costs a writer thread and a queue, and a hello can claim any id: bounded until the next
  // membership change.
  if (admitted_unknown_ >= options_.max_admitted_unknown) return false;
  ++admitted_unknown_;
  options_.peers.push_back(address);
  start_outbound(address);
  return true;
}

std::string WebSocketTransport::answer_join(std::string_view payload) {
  JoinReply reply;
  Result<JoinRequest> request = wire::decode_join(payload);
  if (!request.is_ok()) {
    reply.error = request.status().message();
  } else if (request.value().cluster != options_.cluster) {
    reply.error = "this is cluster '" + options_.cluster + "', not '" + request.value().cluster + "'";
  } else if (!options_.on_join) {
    reply.error = "this peer does not accept join requests";
  } else {
    reply = options_.on_join(request.value());
  }
  return wire::encode_join_reply(reply);
}

bool WebSocketTransport::connect(Outbound& peer, std::unique_ptr<Connection>& connection) {
  const std::chrono::milliseconds timeout = options_.handshake_timeout;
  beast::error_code ec;
  tcp::resolver resolver(peer.ioc);
  auto endpoints = resolver.resolve(peer.address.host, std::to_string(peer.address.port), ec);
  if (ec || endpoints.empty()) return false;
  tcp::socket socket(peer.ioc);
  // Outbound connections leave from this node's own address when it listens on a specific one, so a peer (and a
  // firewall rule partitioning the cluster) sees them come from this node rather than from the default address.
  const auto local = net::ip::make_address(options_.listen_host, ec);
  const bool bind_local = !ec && !local.is_unspecified();
  ec = net::error::host_unreachable;
  for (const auto& endpoint : endpoints) {
    if (bind_local && endpoint.endpoint().address().is_v4() != local.is_v4()) continue;
    beast::error_code step;
    socket.open(endpoint.endpoint().protocol(), step);
    if (!step && bind_local) socket.bind(tcp::endpoint(local, 0), step);
    if (!step) {
      {
        std::lock_guard<std::mutex> lock(peer.mu);
        peer.socket_fd = socket.native_handle();  // stop() may shut it down from now on
      }
      step = net::error::timed_out;
      socket.async_connect(endpoint.endpoint(), [&](beast::error_code e) { step = e; });
      run_within(peer.ioc, socket, timeout);
    }
    ec = step;
    if (!ec) break;
    std::lock_guard<std::mutex> lock(peer.mu);
    peer.socket_fd = -1;
    beast::error_code ignored;
    socket.close(ignored);
  }
  if (ec || !socket.is_open()) return false;
  socket.set_option(tcp::no_delay(true), ec);
  connection = make_connection(std::move(socket), tls_ ? tls_->current() : nullptr, peer.address.name);
  const bool listens_everywhere = net::ip::make_address(options_.listen_host, ec).is_unspecified() || ec;
  const std::string hello = wire::encode_hello(wire::Hello{options_.cluster, options_.self, options_.self_name,
                                                           peer.address.id, listens_everywhere ? "" : options_.listen_host,
                                                           port_});
  beast::flat_buffer buffer(64 * 1024);
  bool tls_failed = false;
  ec = connection->open(peer.ioc, peer.address.host + ":" + std::to_string(peer.address.port), hello, buffer,
                        std::chrono::steady_clock::now() + timeout, tls_failed);
  if (tls_failed) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.tls_handshake_failures;
  }
  if (ec) return false;
  auto frame = wire::decode_frame(beast::buffers_to_string(buffer.data()), 64 * 1024);
  if (frame.is_ok() && frame.value().type == wire::FrameType::kWelcome) return true;
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.refusals_received;
  return false;
}

void WebSocketTransport::write_loop(Outbound& peer) {
  std::unique_ptr<Connection> ws;
  auto backoff = options_.reconnect_min;
  bool connected = false;
  bool first_attempt = true;
  auto last_write = std::chrono::steady_clock::now();
  while (!stopping_ && !peer.closing) {
    if (!connected) {
      if (!first_attempt) {
        std::lock_guard<std::mutex> s(stats_mu_);
        ++stats_.reconnects;
      }
      first_attempt = false;
      connected = connect(peer, ws);
      if (!connected) {
        std::unique_lock<std::mutex> lock(peer.mu);
        peer.socket_fd = -1;  // before the socket closes: stop() must never shut down a descriptor reused since
        ws.reset();
        peer.ready.wait_for(lock, backoff, [&] { return stopping_ || peer.closing; });
        backoff = std::min(backoff * 2, options_.reconnect_max);
        continue;
      }
      backoff = options_.reconnect_min;
      last_write = std::chrono::steady_clock::now();
    }
    std::vector<Message> batch;
    std::size_t bytes = 0;
    {
      std::unique_lock<std::mutex> lock(peer.mu);
      peer.ready.wait_for(lock, std::chrono::milliseconds(100),
                          [&] { return stopping_ || peer.closing || !peer.queue.empty(); });
      // Everything queued goes in one frame, up to the frame limit.
      while (!peer.queue.empty() && (batch.empty() || bytes + message_bytes(peer.queue.front()) <= options_.max_frame_bytes / 2)) {
        bytes += message_bytes(peer.queue.front());
        peer.queued_bytes -= message_bytes(peer.queue.front());
        batch.push_back(std::move(peer.queue.front()));
        peer.queue.pop_front();
      }
    }
    if (stopping_) continue;
    // Nothing to send for a while: an empty batch keeps the connection from the receiver's idle timeout.
    const auto now = std::chrono::steady_clock::now();
    if (batch.empty() && now - last_write < options_.idle_timeout / 3) continue;
    last_write = now;
    if (beast::error_code ec = ws->write(wire::encode_batch(batch))) {
      // The batch is lost with the connection; Raft retransmits what matters.
      connected = false;
      continue;
    }
    if (batch.empty()) continue;
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.messages_sent += batch.size();
    ++stats_.frames_sent;
  }
  std::lock_guard<std::mutex> lock(peer.mu);
  peer.socket_fd = -1;
  if (ws) {
    beast::error_code ignored;
    ws->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
}

void WebSocketTransport::send(std::vector<Message> messages) {
  std::lock_guard<std::mutex> peers_lock(peers_mu_);
  for (Message& m : messages) {
    auto it = outbound_.find(m.to);
    if (it == outbound_.end()) continue;
    Outbound& peer = *it->second;
    const std::size_t size = message_bytes(m);
    {
      std::lock_guard<std::mutex> lock(peer.mu);
      if (peer.queued_bytes + size > options_.max_queue_bytes) {
        std::lock_guard<std::mutex> s(stats_mu_);
        ++stats_.dropped_queue_full;
        continue;
      }
      peer.queued_bytes += size;
      peer.queue.push_back(std::move(m));
    }
    peer.ready.notify_one();
  }
}

TransportStats WebSocketTransport::stats() const {
  TransportStats s;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    s = stats_;
  }
  if (inbound_) s.connections_open = inbound_->connections_open();
  return s;
}

void WebSocketTransport::stop() {
  if (stopping_.exchange(true)) return;
  if (inbound_) inbound_->stop();
  // Taken out under the lock, joined without it: readers look peers up (peer()) until they end.
  std::vector<std::unique_ptr<Outbound>> writers;
  {
    std::lock_guard<std::mutex> peers_lock(peers_mu_);
    for (auto& [id, peer] : outbound_) writers.push_back(std::move(peer));
    outbound_.clear();
    for (auto& peer : retired_) writers.push_back(std::move(peer));
    retired_.clear();
  }
  for (auto& peer : writers) {
    {
      std::lock_guard<std::mutex> lock(peer->mu);
      if (peer->socket_fd >= 0) ::shutdown(peer->socket_fd, SHUT_RDWR);  // unblocks a write in progress
    }
    peer->ready.notify_all();
    if (peer->writer.joinable()) peer->writer.join();
  }
}

}  // namespace

Result<JoinReply> Transport::request_join(const std::string& host, std::uint16_t port, const JoinRequest& request,
                                          std::chrono::milliseconds timeout, const std::optional<TlsOptions>& tls) {
  std::shared_ptr<net::ssl::context> context;
  if (tls) {
    auto contexts = transport_internal::TlsContexts::load(*tls, nullptr);
    if (!contexts.is_ok()) return contexts.status();
    context = contexts.value()->current();
  }
  const std::string where = host + ":" + std::to_string(port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  net::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Status(ErrorCode::kUnavailable, "cannot resolve " + host + ": " + ec.message());
  tcp::socket socket(ioc);
  ec = net::error::timed_out;
  net::async_connect(socket, endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  run_within(ioc, socket, timeout);
  if (ec == net::error::operation_aborted) ec = net::error::timed_out;
  if (ec) return Status(ErrorCode::kUnavailable, "cannot connect to " + where + ": " + ec.message());
  std::unique_ptr<Connection> connection = make_connection(std::move(socket), std::move(context), "");
  beast::flat_buffer buffer(1 << 20);
  bool tls_failed = false;
  ec = connection->open(ioc, where, wire::encode_join(request), buffer, deadline, tls_failed);
  if (ec == net::error::operation_aborted) ec = net::error::timed_out;
  if (ec) {
    return Status(ErrorCode::kUnavailable,
                  std::string(tls_failed ? "TLS handshake with " : "join request to ") + where + ": " + ec.message());
  }
  const std::string bytes = beast::buffers_to_string(buffer.data());
  auto frame = wire::decode_frame(bytes, 1 << 20);
  if (!frame.is_ok()) return frame.status();
  if (frame.value().type == wire::FrameType::kRefusal) {
    auto reason = wire::decode_refusal(frame.value().payload);
    return Status(ErrorCode::kInvalidArgument, "refused: " + (reason.is_ok() ? reason.value() : "?"));
  }
  if (frame.value().type != wire::FrameType::kJoinReply) return Status(ErrorCode::kInvalidArgument, "not a join reply");
  return wire::decode_join_reply(frame.value().payload);
}

Result<std::unique_ptr<Transport>> Transport::start(TransportOptions options, Receiver receiver) {
  if (options.self == kNoNode || options.cluster.empty()) {
    return Status(ErrorCode::kInvalidArgument, "transport needs a cluster name and this node's id");
  }
  auto t = std::make_unique<WebSocketTransport>(std::move(options), std::move(receiver));
  if (Status s = t->listen(); !s.is_ok()) return s;
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace raftkit
