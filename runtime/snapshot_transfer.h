// Streaming snapshots between peers' runtimes (internal to the runtime; runs on the Raft thread).
//
// The leader's core asks for a snapshot to be sent with a metadata-only kInstallSnapshot. SnapshotSender streams
// the newest snapshot file instead, as kInstallSnapshot chunks (data at offset log_index of commit bytes), at most
// `window` chunks ahead of the follower's acknowledgements: flow control, so a multi-GiB snapshot never sits in a
// send queue or in memory. SnapshotReceiver writes the chunks in order to an incoming file and acknowledges with
// kInstallSnapshotResponse carrying the offset it needs next; when the file is whole, fsynced and verified, it
// hands back the metadata-only message for the follower's core to step.
//
// Resuming: a follower acknowledges what it holds, so after a dropped connection (or a follower restart, whose
// partial file survives) the leader resends from there, not from zero. Silence for resend_after makes the leader
// resend from the last acknowledged byte; only silence for give_up_after ends the stream as failed. Progress
// resets both clocks, so a slow transfer of any size is never abandoned for taking long.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "adapters/snapshot/snapshot_store.h"
#include "consensus/message.h"

namespace raftkit {

struct SnapshotTransferOptions {
  std::size_t chunk_bytes = 1 << 20;
  std::size_t window_chunks = 8;
  std::chrono::milliseconds resend_after{1000};
  std::chrono::milliseconds give_up_after{30000};
};

// How a stream to a follower ended, for Raft::report_snapshot.
struct SnapshotOutcome {
  NodeId follower = kNoNode;
  bool delivered = false;
  std::uint64_t bytes = 0;                     // delivered: the file's size
  std::chrono::steady_clock::duration took{};  // delivered: from the stream's start to the last acknowledgement
};

class SnapshotSender {
 public:
  using Clock = std::chrono::steady_clock;
  SnapshotSender(NodeId self, SnapshotStore* store, SnapshotTransferOptions options)
      : self_(self), store_(store), options_(options) {}

  // The core asked for a snapshot (request.snapshot) to go to request.to. Starts streaming the newest snapshot,
  // unless a stream of it to that follower is already running. Returns a failure outcome if there is nothing to
  // send (the core then probes again later).
  std::optional<SnapshotOutcome> start(const Message& request, Clock::time_point now, std::vector<Message>& out);
  std::optional<SnapshotOutcome> on_ack(const Message& ack, Clock::time_point now, std::vector<Message>& out);
  std::vector<SnapshotOutcome> on_timer(Clock::time_point now, std::vector<Message>& out);
  // Leadership lost: every stream stops (the new term's leader, if us again, starts over with fresh progress).
  void abort_all() { streams_.clear(); }
  bool active() const { return !streams_.empty(); }

 private:
  struct Stream {
    std::unique_ptr<SnapshotReader> reader;
    Term term = 0;
    std::uint64_t total = 0;
    std::uint64_t sent = 0;   // bytes handed to the transport
    std::uint64_t acked = 0;  // bytes the follower holds
    std::uint64_t rewound_at = UINT64_MAX;
    Clock::time_point started;
    Clock::time_point last_progress;  // last acknowledgement that moved forward (or the start)
    Clock::time_point last_resend;
  };
  void fill(NodeId to, Stream& s, std::vector<Message>& out);

  NodeId self_;
  SnapshotStore* store_;
  SnapshotTransferOptions options_;
  std::map<NodeId, Stream> streams_;
};

class SnapshotReceiver {
 public:
  SnapshotReceiver(NodeId self, SnapshotStore* store) : self_(self), store_(store) {}

  // A chunk arrived. Acknowledgements go to `out`. Returns the message the core must step once the snapshot is
  // whole and durable (or at once if the core's commit index already covers it, with nothing written).
  Result<std::optional<Message>> on_chunk(const Message& chunk, Index committed, std::vector<Message>& out);

 private:
  Message ack(const Message& chunk, std::uint64_t offset) const;

  NodeId self_;
  SnapshotStore* store_;
  std::unique_ptr<IncomingSnapshot> incoming_;
  std::optional<SnapshotMeta> finished_;  // whole and verified; handed to the core
};

}  // namespace raftkit
