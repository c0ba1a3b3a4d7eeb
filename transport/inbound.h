// The accepting side of the peer transport (internal to transport/): every inbound connection is served on one I/O
// thread, asynchronously, within limits that neither a peer nor a stranger can raise.
//
// A connection is refused before any byte of it is read when the listener already holds `max_connections`, or
// `max_connections_per_source` from the same address. The WebSocket upgrade and the first frame (a hello or a join
// request) must arrive within `handshake_timeout`, in at most 64 KiB. After a welcome, frames are bounded by
// `max_frame_bytes` (checked against the frame header, before the payload is buffered) and a connection on which
// nothing arrives for `idle_timeout` is closed (the sending side keeps its connections alive with empty batches).
// One connection per peer: a later welcomed hello with the same id replaces the earlier connection (the peer
// reconnected, possibly after a half-open one died silently), so buffered frames are bounded by the number of peers
// times `max_frame_bytes`. Join requests are answered by one join thread, one at a time, with at most
// `max_pending_joins` waiting; beyond that they are refused as busy.
//
// With TLS, the TLS handshake is part of the handshake timeout, and a hello or join request must name a peer that
// the client certificate names (transport/tls.h); without, anyone who reaches the port may claim any name.
//
// Every refusal is counted (TransportStats, through InboundHandlers::count) and reported through `log`, at most once
// per source address per minute (with the count of the refusals from that source not reported individually).
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
  // Adds n to one of the owner's counters (refusals, timeouts, messages received; any thread).
  std::function<void(std::uint64_t TransportStats::*field, std::uint64_t n)> count;
};

class TlsContexts;

class InboundListener {
 public:
  // Binds options.listen_host:listen_port (0: any free port) and starts the I/O and join threads. Of `options`
  // only the address and the limits are read: max_connections, max_connections_per_source, max_pending_joins,
  // max_frame_bytes, handshake_timeout, idle_timeout. `tls` null: plaintext.
  static Result<std::unique_ptr<InboundListener>> start(const TransportOptions& options, InboundHandlers handlers,
                                                        std::shared_ptr<TlsContexts> tls);
  ~InboundListener();
  InboundListener(const InboundListener&) = delete;
  InboundListener& operator=(const InboundListener&) = delete;

  std::uint16_t port() const;
  // Closes the connections of senders that are no longer peers (asks handlers.is_peer on the I/O thread), so a
  // removed peer's unfinished frame is not kept until its next one arrives. Called after the peer list changes.
  void cut_removed_peers();
  std::size_t connections_open() const;
  // Stops accepting, closes every connection, and joins both threads; idempotent. Handlers are not called after
  // it returns.
  void stop();

  struct Impl;

 private:
  explicit InboundListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace raftkit::transport_internal
