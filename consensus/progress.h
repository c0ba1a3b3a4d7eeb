// What a leader knows about one follower's log, and how hard it may push entries at it (flow control).
//
//   kProbe:     the leader does not know where the logs match; one append at a time, waiting for the answer.
//   kReplicate: the logs match up to `match`; appends are pipelined optimistically, bounded by the inflight window
//               (messages and bytes) so a slow follower cannot make the leader queue without bound.
//   kSnapshot:  the follower needs entries the leader compacted; the runtime is streaming a snapshot.
#pragma once

#include <cstdint>
#include <deque>

#include "consensus/log_types.h"

namespace raftkit {

class Inflights {
 public:
  Inflights(std::size_t max_messages, std::uint64_t max_bytes) : max_messages_(max_messages), max_bytes_(max_bytes) {}
  void add(Index last_index, std::uint64_t bytes);
  // The follower acknowledged everything up to index: those messages are no longer in flight.
  void free_le(Index index);
  void reset() { flights_.clear(); bytes_ = 0; }
  // Frees the oldest slot: a heartbeat answer shows the follower is alive although our appends went unanswered.
  void free_first();
  bool full() const { return flights_.size() >= max_messages_ || (max_bytes_ && bytes_ >= max_bytes_); }
  std::size_t count() const { return flights_.size(); }

 private:
  struct Flight {
    Index last_index;
    std::uint64_t bytes;
  };
  std::size_t max_messages_;
  std::uint64_t max_bytes_;
  std::deque<Flight> flights_;
  std::uint64_t bytes_ = 0;
};

class Progress {
 public:
  enum class State { kProbe, kReplicate, kSnapshot };

  Progress(Index next_index, std::size_t max_inflight_messages, std::uint64_t max_inflight_bytes)
      : next(next_index), inflights(max_inflight_messages, max_inflight_bytes) {}

  Index match = 0;
  Index next = 1;
  State state = State::kProbe;
  bool probe_sent = false;     // kProbe: an append is outstanding; wait for its answer or the next heartbeat
  bool recent_active = false;  // heard from since the last check-quorum round
  Index pending_snapshot = 0;  // kSnapshot: index of the snapshot being sent
  std::uint64_t acked_heartbeat_sent_at = 0;  // leader tick at which the newest acknowledged heartbeat was sent
  Inflights inflights;

  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // An accepted append up to index. Returns false if it told us nothing new (stale or duplicate).
  bool maybe_update(Index index);
  // Sent entries up to last_index: in kReplicate advance next optimistically and record the flight.
  void sent_entries(Index last_index, std::uint64_t bytes);
  // A rejected append that probed `rejected`, with the follower's hint of where the logs may match. Returns false
  // if the rejection is stale (an answer to an older probe).
  bool maybe_decrease_to(Index rejected, Index match_hint);
  bool is_paused() const;

  const char* state_name() const;
};

}  // namespace raftkit
