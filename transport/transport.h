// The peer transport: Raft messages between named peers over WebSockets (Boost.Beast), with Beast and Asio kept
// out of this header.
//
// Each peer keeps one outbound connection to every other peer and accepts theirs. A connection starts with a
// hello naming the cluster and both peers; a hello from another cluster, or from a peer not in our list, is
// answered with a refusal naming the reason and closed. Messages are batched per connection (everything queued
// goes in one frame) and framed by wire.h. Sending never blocks: each peer's queue is bounded in bytes, and what
// does not fit is dropped and counted — Raft retransmits, and a slow or dead peer cannot grow our memory. Lost
// connections are re-established with exponential backoff.
//
// Threads: one acceptor, one reader per inbound connection, one writer per peer. The receiver callback runs on a
// reader thread; it must be thread-safe and should be quick (hand the message to the runtime's queue).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "consensus/message.h"
#include "consensus/status.h"

namespace raftkit {

struct PeerAddress {
  NodeId id = kNoNode;
  std::string name;
  std::string host;
  std::uint16_t port = 0;
};

struct TransportOptions {
  std::string cluster;
  NodeId self = kNoNode;
  std::string self_name;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: any free port (see Transport::port())
  std::vector<PeerAddress> peers;
  std::size_t max_frame_bytes = 64ull << 20;  // larger frames are refused and the connection closed
  std::size_t max_queue_bytes = 64ull << 20;  // per peer; beyond it new messages are dropped
  std::chrono::milliseconds reconnect_min{20};
  std::chrono::milliseconds reconnect_max{1000};
};

struct TransportStats {
  std::uint64_t messages_sent = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t connections_refused = 0;  // inbound hellos we refused
  std::uint64_t refusals_received = 0;    // our hellos a peer refused
  std::uint64_t malformed_frames = 0;
  std::uint64_t reconnects = 0;
};

class Transport {
 public:
  using Receiver = std::function<void(Message)>;

  static Result<std::unique_ptr<Transport>> start(TransportOptions options, Receiver receiver);
  virtual ~Transport() = default;

  // Queues messages for their destinations (m.to); never blocks. Messages to unknown peers are dropped.
  virtual void send(std::vector<Message> messages) = 0;
  virtual std::uint16_t port() const = 0;
  virtual TransportStats stats() const = 0;
  // Closes every connection and joins every thread; idempotent. The destructor calls it.
  virtual void stop() = 0;
};

}  // namespace raftkit
