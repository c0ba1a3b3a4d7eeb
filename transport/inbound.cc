// Inbound peer connections on one I/O thread (see inbound.h). Every handler runs on that thread, so the sessions'
// state needs no locks; what other threads touch (the connection counts, the join queue, the statistics) has its
// own mutex.
#include "transport/inbound.h"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "transport/tls.h"

namespace raftkit::transport_internal {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kFirstFrameMax = 64 * 1024;  // a hello or a join request is small
constexpr std::size_t kKeptBufferBytes = 1 << 20;  // a connection's read buffer shrinks back to this after a big frame

// Reports refusals at most once per source per minute, with how many went unreported since the last report.
class RefusalLog {
 public:
  explicit RefusalLog(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}

  void note(const std::string& source, const std::string& what) {
    std::string line;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const Clock::time_point now = Clock::now();
      if (sources_.size() >= kMaxSources) {
        std::erase_if(sources_, [&](const auto& kv) { return now - kv.second.last >= kWindow; });
        if (sources_.size() >= kMaxSources) return;  // a flood from many addresses: the counters still count it
      }
      auto [it, fresh] = sources_.try_emplace(source);
      Entry& e = it->second;
      if (!fresh && now - e.last < kWindow) {
        ++e.unreported;
        return;
      }
      line = "refused " + source + ": " + what;
      if (e.unreported > 0) line += " (and " + std::to_string(e.unreported) + " more from this source unreported)";
      e.last = now;
      e.unreported = 0;
    }
    if (sink_) sink_(line);
  }

 private:
  static constexpr std::size_t kMaxSources = 4096;
  static constexpr std::chrono::minutes kWindow{1};
  struct Entry {
    Clock::time_point last;
    std::uint64_t unreported = 0;
  };
  std::function<void(const std::string&)> sink_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> sources_;
};

// What the listener keeps of a session, whichever stream (plain or TLS) it runs on.
class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;
  virtual void start() = 0;
  // Closes the connection at once (no close handshake: a peer that only writes would never answer one).
  virtual void cut() = 0;
  virtual void finish_join(std::string reply) = 0;
};

}  // namespace

struct InboundListener::Impl {
  Impl(const TransportOptions& o, InboundHandlers h, std::shared_ptr<TlsContexts> t)
      : limits(o), handlers(std::move(h)), refusals(handlers.log), tls(std::move(t)), work(net::make_work_guard(ioc)),
        acceptor(ioc), retry_accept(ioc) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void join_loop();
  // Counts a connection from `source` unless a limit is reached.
  bool admit_connection(const std::string& source);
  void release_connection(const std::string& source, Session* session);
  void count(std::uint64_t TransportStats::*field, std::uint64_t n = 1) {
    if (handlers.count) handlers.count(field, n);
  }

  const TransportOptions limits;  // of which only the limits are read
  InboundHandlers handlers;
  RefusalLog refusals;
  std::shared_ptr<TlsContexts> tls;  // null: plaintext
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;


  std::mutex conn_mu;  // the counts and the live sessions (a session may end on the join thread)
  std::size_t open = 0;
  std::unordered_map<std::string, std::size_t> per_source;
  std::unordered_map<Session*, std::weak_ptr<Session>> live;
  std::map<NodeId, std::weak_ptr<Session>> by_peer;  // I/O thread only

  struct JoinJob {
    std::shared_ptr<Session> session;
    std::string payload;
  };
  std::mutex jobs_mu;
  std::condition_variable jobs_cv;
  std::deque<JoinJob> jobs;
  std::thread join_thread;

  // Declared after everything a session touches when it is destroyed: pending handlers (and the sessions they
  // keep alive) are destroyed with the io_context.
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work;
  tcp::acceptor acceptor;
  net::steady_timer retry_accept;
  std::thread io_thread;
};

namespace {

// One inbound connection: the TLS handshake (with kTls), the WebSocket upgrade, the first frame (a hello or a join
// request), then batches.
template <bool kTls>
class SessionOn final : public Session {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  SessionOn(InboundListener::Impl& owner, tcp::socket socket, std::string source)
    requires(!kTls)
      : owner_(owner), ws_(std::move(socket)), source_(std::move(source)), buffer_(kFirstFrameMax),
        deadline_(owner.ioc) {}
  SessionOn(InboundListener::Impl& owner, tcp::socket socket, std::string source,
            std::shared_ptr<net::ssl::context> context)
    requires(kTls)
      : owner_(owner), context_(std::move(context)), ws_(std::move(socket), *context_), source_(std::move(source)),
        buffer_(kFirstFrameMax), deadline_(owner.ioc) {}
  ~SessionOn() override { owner_.release_connection(source_, this); }

  void start() override {
    ws_.binary(true);
    ws_.read_message_max(kFirstFrameMax);
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = owner_.limits.handshake_timeout;
    timeouts.idle_timeout = owner_.limits.idle_timeout;
    timeouts.keep_alive_pings = false;  // the sender's writer never reads: it could not answer a ping
    ws_.set_option(timeouts);
    // The upgrade and the first frame together get handshake_timeout (Beast's own covers only the upgrade, and its
    // idle timeout would let a slow sender dribble a hello for ever).
    deadline_.expires_after(owner_.limits.handshake_timeout);
    deadline_.async_wait([self = self_()](beast::error_code ec) {
      if (ec || self->from_ != kNoNode || self->joining_ || self->refused_ || self->closed_) return;
      self->owner_.count(&TransportStats::handshake_timeouts);
      self->owner_.refusals.note(self->source_, "no hello within the handshake timeout");
      self->cut();
    });
    if constexpr (kTls) {
      ws_.next_layer().async_handshake(net::ssl::stream_base::server, [self = self_()](beast::error_code ec) {
        if (self->closed_) return;
        if (ec) {
          self->owner_.count(&TransportStats::tls_handshake_failures);
          self->owner_.refusals.note(self->source_, "TLS handshake failed: " + ec.message());
          self->refused_ = true;  // not a timeout, whatever the deadline sees
          return self->cut();
        }
        self->names_ = certificate_names(self->ws_.next_layer().native_handle());
        self->upgrade();
      });
    } else {
      upgrade();
    }
  }

  void cut() override {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

  void finish_join(std::string reply) override {
    if (closed_) return;
    out_ = std::move(reply);
    ws_.async_write(net::buffer(out_), [self = self_()](beast::error_code ec, std::size_t) {
      if (ec) return self->cut();
      self->ws_.async_close(websocket::close_code::normal, [self](beast::error_code) { self->cut(); });
    });
  }

 private:
  std::shared_ptr<SessionOn> self_() { return std::static_pointer_cast<SessionOn>(shared_from_this()); }

  void upgrade() {
    ws_.async_accept([self = self_()](beast::error_code ec) {
      if (ec) return self->cut();
      self->ws_.async_read(self->buffer_, [self](beast::error_code e, std::size_t) { self->on_first_frame(e); });
    });
  }

  // With TLS, whether the certificate names `name`; if not, the mismatch is counted and logged.
  bool certified(const std::string& name, const char* what) {
    if (!kTls || certificate_names_include(names_, name)) return true;
    owner_.count(&TransportStats::identity_mismatches);
    owner_.refusals.note(source_, std::string(what) + " names '" + name + "' but the certificate names " +
                                      describe_names(names_));
    return false;
  }

  std::string_view received() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }

  void on_first_frame(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
        owner_.count(&TransportStats::malformed_frames);
        owner_.refusals.note(source_, "first frame larger than " + std::to_string(kFirstFrameMax) + " bytes");
      }
      return cut();
    }
    auto frame = wire::decode_frame(received(), kFirstFrameMax);
    if (frame.is_ok() && frame.value().type == wire::FrameType::kJoin) {
      // A joining (or leaving) peer speaks for the name its certificate gives it, and no other.
      if (auto join = wire::decode_join(frame.value().payload); join.is_ok() && !certified(join.value().name, "join")) {
        joining_ = true;
        deadline_.cancel();
        JoinReply refused;
        refused.error = "the certificate does not name '" + join.value().name + "'";
        return finish_join(wire::encode_join_reply(refused));
      }
      return queue_join(frame.value().payload);
    }
    Result<wire::Hello> hello =
        !frame.is_ok() ? Result<wire::Hello>(frame.status())
        : frame.value().type != wire::FrameType::kHello
            ? Result<wire::Hello>(Status(ErrorCode::kInvalidArgument, "expected a hello"))
            : wire::decode_hello(frame.value().payload);
    if (!hello.is_ok()) {
      owner_.count(&TransportStats::malformed_frames);
      return refuse(hello.status().message());
    }
    if (!certified(hello.value().from_name, "hello")) {
      return refuse("the certificate does not name '" + hello.value().from_name + "'");
    }
    std::string reason = owner_.handlers.on_hello(hello.value(), source_);
    if (!reason.empty()) return refuse(reason);
    welcome(hello.value().from);
  }

  void refuse(const std::string& reason) {
    refused_ = true;
    owner_.count(&TransportStats::connections_refused);
    owner_.refusals.note(source_, reason);
    deadline_.cancel();
    out_ = wire::encode_refusal(reason);
    ws_.async_write(net::buffer(out_), [self = self_()](beast::error_code ec, std::size_t) {
      if (ec) return self->cut();
      self->ws_.async_close(websocket::close_code::policy_error, [self](beast::error_code) { self->cut(); });
    });
  }

  void queue_join(std::string_view payload) {
    joining_ = true;
    deadline_.cancel();
    // Nothing is read while the join thread works on the answer (at most max_pending_joins answers, each bounded
    // by the owner's on_join), so Beast's idle timer must not close the connection meanwhile; the reply's write
    // and close are bounded by the handshake timeout.
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = owner_.limits.handshake_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    {
      std::lock_guard<std::mutex> lock(owner_.jobs_mu);
      if (owner_.jobs.size() < owner_.limits.max_pending_joins) {
        owner_.jobs.push_back({self_(), std::string(payload)});
        owner_.jobs_cv.notify_one();
        return;
      }
    }
    owner_.count(&TransportStats::joins_refused_busy);
    owner_.refusals.note(source_, "join request while " + std::to_string(owner_.limits.max_pending_joins) +
                                      " others wait");
    JoinReply busy;
    busy.error = "busy: too many join requests waiting; retry";
    finish_join(wire::encode_join_reply(busy));
  }

  void welcome(NodeId from) {
    from_ = from;
    deadline_.cancel();
    // One connection per peer: the newer one wins.
    std::weak_ptr<Session>& slot = owner_.by_peer[from];
    if (auto previous = slot.lock(); previous && previous.get() != this) {
      owner_.count(&TransportStats::connections_replaced);
      previous->cut();
    }
    slot = weak_from_this();
    ws_.read_message_max(owner_.limits.max_frame_bytes + wire::kFrameHeader);
    buffer_ = beast::flat_buffer(owner_.limits.max_frame_bytes + wire::kFrameHeader);
    out_ = wire::encode_welcome();
    ws_.async_write(net::buffer(out_), [self = self_()](beast::error_code ec, std::size_t) {
      if (ec) return self->cut();
      self->read_batch();
    });
  }

  void read_batch() {
    if (closed_) return;
    ws_.async_read(buffer_, [self = self_()](beast::error_code ec, std::size_t) { self->on_batch(ec); });
  }

  void on_batch(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
        owner_.count(&TransportStats::malformed_frames);
        owner_.refusals.note(source_, "frame from peer " + std::to_string(from_) + " larger than " +
                                          std::to_string(owner_.limits.max_frame_bytes) + " bytes");
      } else if (ec == beast::error::timeout) {
        owner_.count(&TransportStats::idle_timeouts);
      }
      return cut();
    }
    auto frame = wire::decode_frame(received(), owner_.limits.max_frame_bytes);
    auto batch = !frame.is_ok() ? Result<std::vector<Message>>(frame.status())
                 : frame.value().type != wire::FrameType::kBatch
                     ? Result<std::vector<Message>>(Status(ErrorCode::kInvalidArgument, "not a batch"))
                     : wire::decode_batch(frame.value().payload);
    if (!batch.is_ok()) {
      // A peer that sends garbage is cut off; it reconnects and starts over. Nothing it sent is half-applied.
      owner_.count(&TransportStats::malformed_frames);
      owner_.refusals.note(source_, "malformed frame from peer " + std::to_string(from_) + ": " +
                                        batch.status().message());
      return cut();
    }
    // Removed from the peer list since it connected (its removal committed): cut it off; its reconnection is
    // refused at the hello.
    if (!owner_.handlers.is_peer(from_)) return cut();
    std::uint64_t delivered = 0;
    for (Message& m : batch.value()) {
      if (m.from != from_ || !owner_.handlers.on_message(std::move(m))) {
        owner_.count(&TransportStats::malformed_frames);
        continue;
      }
      ++delivered;
    }
    owner_.count(&TransportStats::messages_received, delivered);
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > kKeptBufferBytes) buffer_.shrink_to_fit();
    read_batch();
  }

  InboundListener::Impl& owner_;
  std::shared_ptr<net::ssl::context> context_;  // with TLS: the context this connection was opened with
  websocket::stream<Stream> ws_;
  const std::string source_;
  beast::flat_buffer buffer_;
  net::steady_timer deadline_;
  std::string out_;  // what an async write in progress sends
  std::vector<std::string> names_;  // with TLS: the DNS names of the client certificate
  NodeId from_ = kNoNode;
  bool joining_ = false;
  bool refused_ = false;
  bool closed_ = false;
};

}  // namespace

bool InboundListener::Impl::admit_connection(const std::string& source) {
  std::string why;
  {
    std::lock_guard<std::mutex> lock(conn_mu);
    std::size_t& from_source = per_source[source];
    if (open < limits.max_connections && from_source < limits.max_connections_per_source) {
      ++open;
      ++from_source;
      return true;
    }
    why = open >= limits.max_connections
              ? std::to_string(open) + " connections open (the limit)"
              : std::to_string(from_source) + " connections open from this source (the limit)";
    if (from_source == 0) per_source.erase(source);
  }
  count(&TransportStats::connections_over_limit);
  refusals.note(source, why);
  return false;
}

void InboundListener::Impl::release_connection(const std::string& source, Session* session) {
  std::lock_guard<std::mutex> lock(conn_mu);
  --open;
  if (auto it = per_source.find(source); it != per_source.end() && --it->second == 0) per_source.erase(it);
  live.erase(session);
}

void InboundListener::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void InboundListener::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    // Out of descriptors or memory, say: wait a little instead of spinning, then accept again.
    if (ec == net::error::operation_aborted) return;
    retry_accept.expires_after(std::chrono::milliseconds(50));
    retry_accept.async_wait([this](beast::error_code e) {
      if (!e && !stopping) accept();
    });
    return;
  }
  beast::error_code ignored;
  const auto remote = socket.remote_endpoint(ignored);
  std::string source = ignored ? std::string("?") : remote.address().to_string();
  if (admit_connection(source)) {
    socket.set_option(tcp::no_delay(true), ignored);  // Raft messages are small and latency-bound
    std::shared_ptr<Session> session;
    try {
      if (tls) {
        session = std::make_shared<SessionOn<true>>(*this, std::move(socket), source, tls->current());
      } else {
        session = std::make_shared<SessionOn<false>>(*this, std::move(socket), source);
      }
    } catch (const std::exception& e) {  // out of memory, or OpenSSL could not make a connection's state
      refusals.note(source, std::string("could not serve the connection: ") + e.what());
      release_connection(source, nullptr);
      return accept();
    }
    {
      std::lock_guard<std::mutex> lock(conn_mu);
      live[session.get()] = session;
    }
    session->start();
  }
  // A refused socket is closed as it goes out of scope, unread.
  accept();
}

void InboundListener::Impl::join_loop() {
  for (;;) {
    JoinJob job;
    {
      std::unique_lock<std::mutex> lock(jobs_mu);
      jobs_cv.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (stopping) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    std::string reply = handlers.answer_join(job.payload);
    net::post(ioc, [session = std::move(job.session), reply = std::move(reply)]() mutable {
      session->finish_join(std::move(reply));
    });
  }
}

InboundListener::InboundListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

InboundListener::~InboundListener() { stop(); }

Result<std::unique_ptr<InboundListener>> InboundListener::start(const TransportOptions& options,
                                                                InboundHandlers handlers,
                                                                std::shared_ptr<TlsContexts> tls) {
  const std::string& host = options.listen_host;
  const std::uint16_t port = options.listen_port;
  auto impl = std::make_unique<Impl>(options, std::move(handlers), std::move(tls));
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return Status(ErrorCode::kInvalidArgument, "listen address " + host + ": " + ec.message());
  const tcp::endpoint endpoint(address, port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status(ErrorCode::kIo, "listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  Impl* raw = impl.get();
  raw->bound_port = raw->acceptor.local_endpoint(ec).port();
  raw->accept();
  raw->io_thread = std::thread([raw] { raw->ioc.run(); });
  raw->join_thread = std::thread([raw] { raw->join_loop(); });
  return std::unique_ptr<InboundListener>(new InboundListener(std::move(impl)));
}

std::uint16_t InboundListener::port() const { return impl_->bound_port; }

void InboundListener::cut_removed_peers() {
  Impl& impl = *impl_;
  net::post(impl.ioc, [&impl] {
    for (auto it = impl.by_peer.begin(); it != impl.by_peer.end();) {
      std::shared_ptr<Session> session = it->second.lock();
      if (session && impl.handlers.is_peer(it->first)) {
        ++it;
        continue;
      }
      if (session) session->cut();
      it = impl.by_peer.erase(it);
    }
  });
}

std::size_t InboundListener::connections_open() const {
  std::lock_guard<std::mutex> lock(impl_->conn_mu);
  return impl_->open;
}

void InboundListener::stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(impl.jobs_mu);
    impl.jobs_cv.notify_all();
  }
  if (impl.join_thread.joinable()) impl.join_thread.join();
  // Everything closes on the I/O thread, which then ends; handlers still queued are dropped with the io_context.
  net::post(impl.ioc, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_accept.cancel();
    std::vector<std::shared_ptr<Session>> sessions;
    {
      std::lock_guard<std::mutex> lock(impl.conn_mu);
      for (auto& [raw, weak] : impl.live) {
        if (auto s = weak.lock()) sessions.push_back(std::move(s));
      }
    }
    for (auto& s : sessions) s->cut();
    impl.ioc.stop();
  });
  if (impl.io_thread.joinable()) impl.io_thread.join();
  std::lock_guard<std::mutex> lock(impl.jobs_mu);
  impl.jobs.clear();
}

}  // namespace raftkit::transport_internal
