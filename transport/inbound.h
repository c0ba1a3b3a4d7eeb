// The accepting side of the peer transport (internal to transport/): every inbound connection is served on one
// I/O thread, asynchronously, within limits that neither a peer nor a stranger can raise.
//
// A connection is refused before any byte of it is read when the listener already holds `max_connections`, or
// `max_per_source` from the same address. The WebSocket upgrade and the first frame (a hello or a join request)
// must arrive within `handshake_timeout`, in at most 64 KiB. After a welcome, frames are bounded by
// `max_frame_bytes` (checked against the frame header, before the payload is buffered) and a connection on which
// nothing arrives for `idle_timeout` is closed (the sending side keeps its connections alive with empty batches).
// One connection per peer: a later welcomed hello with the same id replaces the earlier connection (the peer
// reconnected, possibly after a half-open one died silently), so buffered frames are bounded by the number of
// peers times `max_frame_bytes`. Join requests are answered by one join thread, one at a time, with at most
// `max_pending_joins` waiting; beyond that they are refused as busy.
//
// With TLS, the TLS handshake is part of the handshake timeout, and a hello or join request must name a peer that
// the client certificate names (transport/tls.h); without, anyone who reaches the port may claim any name.
//
// Every refusal is counted (InboundStats) and reported through `log`, at most once per source address per minute
// (with the count of the refusals from that source not reported individually).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "consensus/message.h"
#include "consensus/status.h"
#include "transport/wire.h"

namespace raftkit::transport_internal {

struct InboundLimits {
  std::size_t max_connections = 256;
  std::size_t max_per_source = 32;
  std::size_t max_pending_joins = 4;
  std::size_t max_frame_bytes = 64ull << 20;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};
};

// What the listener asks of its owner. Everything but answer_join runs on the I/O thread and must be quick.
struct InboundHandlers {
  // A decoded hello from `source` (the connection's address): "" welcomes it, anything else is the reason given
  // in the refusal.
  std::function<std::string(const wire::Hello& hello, const std::string& source)> on_hello;
  // Whether `from` is still a peer; a removed one is cut off at its next frame.
  std::function<bool(NodeId from)> is_peer;
  // A message from the hello's sender; false: not for this node (counted as malformed).
  std::function<bool(Message)> on_message;
  // A join request's payload, answered with a whole join-reply frame. Runs on the join thread; may block.
  std::function<std::string(std::string_view payload)> answer_join;
  // One line about a refusal or a dropped connection (no trailing newline).
  std::function<void(const std::string&)> log;
};

struct InboundStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t refused_over_limit = 0;   // closed unread: too many connections in total or from one source
  std::uint64_t hellos_refused = 0;       // answered with a refusal (cluster, id, unknown peer, not a hello)
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t malformed_frames = 0;     // undecodable, oversized, or a message not from the hello's sender
  std::uint64_t replaced = 0;             // connections replaced by a newer one from the same peer
  std::uint64_t joins_refused_busy = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t identity_mismatches = 0;  // a hello or join request naming someone the certificate does not
};

class TlsContexts;

class InboundListener {
 public:
  // Binds host:port (0: any free port) and starts the I/O and join threads. `tls` null: plaintext.
  static Result<std::unique_ptr<InboundListener>> start(const std::string& host, std::uint16_t port,
                                                        InboundLimits limits, InboundHandlers handlers,
                                                        std::shared_ptr<TlsContexts> tls);
  ~InboundListener();
  InboundListener(const InboundListener&) = delete;
  InboundListener& operator=(const InboundListener&) = delete;

  std::uint16_t port() const;
  // Closes the connections of senders that are no longer peers (asks handlers.is_peer on the I/O thread), so a
  // removed peer's unfinished frame is not kept until its next one arrives. Called after the peer list changes.
  void cut_removed_peers();
  InboundStats stats() const;
  // Stops accepting, closes every connection, and joins both threads; idempotent. Handlers are not called after
  // it returns.
  void stop();

  struct Impl;

 private:
  explicit InboundListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace raftkit::transport_internal
