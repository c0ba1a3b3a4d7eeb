// The peer transport: Raft messages between named peers over WebSockets (Boost.Beast), with Beast and Asio kept
// out of this header.
//
// Each peer keeps one outbound connection to every other peer and accepts theirs. A connection starts with a
// hello naming the cluster and both peers; a hello from another cluster, or from a peer not in our list, is
// answered with a refusal naming the reason and closed. The list changes with the cluster's membership
// (set_peers). A connection may instead carry one join request (a peer asking to join or leave the cluster),
// answered by TransportOptions::on_join and closed. Messages are batched per connection (everything queued
// goes in one frame) and framed by wire.h. Sending never blocks: each peer's queue is bounded in bytes, and what
// does not fit is dropped and counted — Raft retransmits, and a slow or dead peer cannot grow our memory. Lost
// connections are re-established with exponential backoff.
//
// Inbound connections are bounded (see the limits below and transport/inbound.h): in total and per source
// address, in the time a connection may take to say hello and may stay silent, in frame size (checked before a
// frame is buffered), and to one connection per peer. Every refusal is counted (TransportStats) and logged at
// most once per source per minute. A writer with nothing to send keeps its connection alive with an empty batch.
//
// Threads: one I/O thread serving every inbound connection, one thread answering join requests, and one writer
// per peer (peers admitted through admit_unknown included, at most max_admitted_unknown of them). The receiver
// callback runs on the I/O thread; it must be thread-safe and quick (hand the message to the runtime's queue).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
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
  bool operator==(const PeerAddress&) const = default;
};

// A peer asking to join the cluster (or, with leave, to be removed from it), and the answer.
struct JoinRequest {
  std::string cluster;
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  std::string info;  // opaque, kept with the member's address (the key-value server puts its HTTP address here)
  bool leave = false;
};

struct JoinReply {
  bool ok = false;
  std::string error;        // when !ok: why ("not the leader", "another change in progress", ...)
  std::string leader_host;  // when !ok and the leader is known: where to ask instead
  std::uint16_t leader_port = 0;
  NodeId id = kNoNode;      // the joining peer's id
  std::vector<PeerAddress> members;  // every member's address, the joining peer included
};

// Mutual TLS on the peer port (docs/security.md). Every peer presents a certificate signed by the cluster's CA whose
// subjectAltName holds its peer name as a DNS name; a hello or join request naming anyone else is refused, and a
// peer dialled checks that the certificate it is shown names the peer it meant to reach. TLS 1.2 or later. The
// files are read again when they change (checked at most once a second), so certificates rotate without a
// restart; connections already open keep the certificate they were opened with.
struct TlsOptions {
  std::string ca_file;    // PEM: the cluster's CA, to which every peer's certificate must chain
  std::string cert_file;  // PEM: this peer's certificate (and any intermediates), naming self_name
  std::string key_file;   // PEM: its private key
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
  std::size_t max_connections = 256;            // inbound connections open at once; beyond: closed unread
  std::size_t max_connections_per_source = 32;  // the same, from one source address
  std::size_t max_pending_joins = 4;            // join requests waiting for an answer; beyond: refused as busy
  std::size_t max_admitted_unknown = 4;         // peers admitted by admit_unknown until the next set_peers
  // Inbound, from accepting a connection to its hello; outbound, from connecting to the welcome.
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};      // an inbound connection silent this long is closed
  // Where refusals and cut connections are reported, one line each (rate-limited per source). Unset: stderr.
  std::function<void(const std::string&)> log;
  std::chrono::milliseconds reconnect_min{20};
  std::chrono::milliseconds reconnect_max{1000};
  // Answers join requests (on the join thread, one at a time; may block while the change commits). Unset: they
  // are refused.
  std::function<JoinReply(const JoinRequest&)> on_join;
  // Asked (on the I/O thread; must be quick) about a hello from a peer not in the list, with the address it listens on: true
  // admits it — it joins the list until the next set_peers, so it can be answered. A peer that missed a membership
  // change needs this to hear from a member added meanwhile (possibly the leader). Unset: unknown peers are refused.
  std::function<bool(const PeerAddress&)> admit_unknown;
  // Unset: plaintext, which anyone who reaches the port can impersonate a member on (loopback tests, or a
  // network only members reach).
  std::optional<TlsOptions> tls;
};

struct TransportStats {
  std::uint64_t messages_sent = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t connections_open = 0;      // inbound, now
  std::uint64_t connections_refused = 0;  // inbound hellos we refused
  std::uint64_t connections_over_limit = 0;  // inbound connections closed unread (max_connections*)
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t connections_replaced = 0;  // by a newer connection from the same peer
  std::uint64_t joins_refused_busy = 0;
  std::uint64_t refusals_received = 0;    // our hellos a peer refused
  std::uint64_t malformed_frames = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t tls_handshake_failures = 0;  // inbound and outbound: no certificate, another CA, expired, ...
  std::uint64_t identity_mismatches = 0;     // inbound hellos and join requests naming someone their certificate does not
};

class Transport {
 public:
  using Receiver = std::function<void(Message)>;

  static Result<std::unique_ptr<Transport>> start(TransportOptions options, Receiver receiver);
  virtual ~Transport() = default;

  // Queues messages for their destinations (m.to); never blocks. Messages to unknown peers are dropped.
  virtual void send(std::vector<Message> messages) = 0;
  // Replaces the peer list (this node's own entry is ignored): new peers get a connection, removed ones lose
  // theirs and are refused from now on, a changed address is reconnected.
  virtual void set_peers(std::vector<PeerAddress> peers) = 0;
  virtual std::uint16_t port() const = 0;
  virtual TransportStats stats() const = 0;
  // Closes every connection and joins every thread; idempotent. The destructor calls it.
  virtual void stop() = 0;

  // Sends one join request to host:port and waits for the answer: everything, connecting included, within
  // `timeout`. With `tls`, over mutual TLS: the certificate must name request.name, and the answering peer's must
  // chain to the same CA.
  static Result<JoinReply> request_join(const std::string& host, std::uint16_t port, const JoinRequest& request,
                                        std::chrono::milliseconds timeout, const std::optional<TlsOptions>& tls = {});
};

}  // namespace raftkit
