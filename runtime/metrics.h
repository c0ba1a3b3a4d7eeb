// What a peer has done, for operators: a snapshot taken by Peer::metrics() (runtime/peer.h), written in the
// Prometheus text format by runtime/prometheus.h.
//
// Counters only grow while the peer runs (they start at zero with the process); gauges are the value now.
// Histograms count observations into fixed buckets, each bucket counting those <= its upper bound (cumulative,
// as Prometheus expects), with the count and the sum of every observation. Each is updated by one thread with relaxed
// atomic increments, so taking a snapshot never stops the peer and the cost on its hot paths is a few adds. A
// snapshot taken while updates go on reads the count first and clamps every bucket to it, so its buckets never
// exceed its count (its sum may include an observation or two the count does not).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/transport.h"

namespace raftkit {

struct HistogramSnapshot {
  std::vector<double> bounds;           // upper bounds, increasing; +Inf is implied after the last
  std::vector<std::uint64_t> buckets;   // cumulative: buckets[i] counts observations <= bounds[i]
  std::uint64_t count = 0;              // every observation (the +Inf bucket)
  double sum = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  // Durations in seconds: 50 µs to 10 s, roughly three buckets per decade.
  static std::vector<double> latency_bounds();
  // Sizes (entries, bytes): powers of two from 1 to 2^max_power.
  static std::vector<double> size_bounds(int max_power);

  void observe(double value);
  void observe(std::chrono::steady_clock::duration d) { observe(std::chrono::duration<double>(d).count()); }
  HistogramSnapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; the last is +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// A follower as the leader sees it: how far its log is known to match the leader's.
struct FollowerMetrics {
  std::string name;
  std::uint64_t match_index = 0;
  std::uint64_t lag_entries = 0;  // the leader's last index minus match_index
};

struct PeerMetrics {
  // Gauges.
  bool leader = false;
  std::uint64_t term = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t applied_index = 0;
  std::uint64_t last_index = 0;       // the newest entry in this peer's log
  std::uint64_t snapshot_index = 0;
  std::uint64_t pending_requests = 0;  // writes, reads and changes accepted and not yet answered
  std::vector<FollowerMetrics> followers;  // on the leader only, as of its last tick

  // Counters.
  std::uint64_t proposals = 0;          // writes proposed by this peer as leader
  std::uint64_t proposals_refused = 0;  // writes refused by the core (not leader, transfer in progress)
  std::uint64_t elections = 0;          // campaigns this peer started (pre-vote rounds included)
  std::uint64_t leader_changes = 0;     // times the leader this peer knows changed to another one
  std::uint64_t entries_applied = 0;
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshot_bytes_taken = 0;
  std::uint64_t snapshots_installed = 0;  // received from a leader
  std::uint64_t snapshot_bytes_installed = 0;
  std::uint64_t snapshots_sent = 0;        // streamed to a follower, delivered
  std::uint64_t snapshot_bytes_sent = 0;   // of the delivered ones (whole files, resent chunks not counted twice)
  std::uint64_t snapshots_send_failed = 0;
  std::uint64_t inbound_dropped = 0;       // peers' messages dropped for a full Raft queue
  TransportStats transport;

  // Histograms.
  HistogramSnapshot durable_write_seconds;  // each write to the durable log, fsync included
  HistogramSnapshot append_batch_entries;   // entries per durable write (group commit: more is better under load)
  HistogramSnapshot read_index_seconds;     // a linearizable read, from taken to confirmed by a quorum
  HistogramSnapshot snapshot_take_seconds;  // writing a snapshot of the state machine and syncing it
  HistogramSnapshot snapshot_send_seconds;  // streaming one to a follower, from start to its last acknowledgement
  HistogramSnapshot snapshot_install_seconds;  // restoring the state machine from one received from a leader
};

}  // namespace raftkit
