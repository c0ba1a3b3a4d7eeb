// The Raft core: a deterministic state machine in the style of etcd-raft.
//
// Inputs: step(message), tick(), propose(), read_index(), transfer_leadership(). Output: a Ready batch of work.
// There are no threads, clocks, sockets or files in here; time is tick() and randomness comes from RaftConfig::seed,
// so a whole cluster can be replayed exactly from one seed.
//
// The runtime's loop:
//
//   while (raft.has_ready()) {
//     Ready rd = raft.ready();
//     send(rd.messages);                          // may go before persisting (leader's appends: thesis 10.2.1)
//     if (rd.snapshot) durable_log.compact(*rd.snapshot);   // an installed snapshot, already durable beside the log
//     durable_log.write({truncate_after = rd.entries.front().index - 1, rd.entries, rd.hard_state});  // one fsync
//     send(rd.messages_after_persist);            // votes and acknowledgements: true only once durable
//     if (rd.snapshot) restore_state_machine(*rd.snapshot);
//     apply(rd.committed); serve(rd.read_states); fail(rd.dropped_reads);
//     raft.advance(rd);
//   }
//
// Snapshots (Raft thesis chapter 5). The runtime snapshots its state machine at some applied index, makes the
// snapshot durable, then calls snapshot_taken(), which compacts the in-memory log and tells the runtime how far to
// compact the durable one. A leader whose follower needs compacted entries emits a kInstallSnapshot message that
// carries only the snapshot's metadata; the runtime streams the snapshot's bytes beside it, makes them durable on
// the follower, then steps the follower's core with that kInstallSnapshot message. The runtime reports the
// stream's end to the leader's core with report_snapshot().//
// step() and tick() may be called between ready() and advance(); ready() may not be called again before advance().
// Readies must be persisted in the order they were handed out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/log_types.h"
#include "consensus/message.h"
#include "consensus/progress.h"
#include "consensus/quorum.h"
#include "consensus/raft_log.h"
#include "consensus/random.h"
#include "consensus/status.h"

namespace raftkit {

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

enum class ReadMode {
  // Linearizable: the leader records its commit index, then confirms it is still leader with a heartbeat round
  // acknowledged by a quorum (Raft thesis 6.4).
  kReadIndex,
  // Faster, but relies on a clock assumption: the leader answers from its commit index without a round trip while
  // a quorum has acknowledged heartbeats it sent less than election_ticks - 1 of its ticks ago. Followers refuse
  // votes for election_ticks of their ticks after receiving one, so this holds only if no node's ticks run faster
  // than the leader's by more than that one tick of margin per election timeout: a follower whose clock runs fast
  // can elect a new leader while the old one still believes its lease valid, and linearizability is lost. Without
  // a fresh quorum acknowledgement, or once a leadership transfer has begun, reads fall back to ReadIndex.
  // Requires check_quorum (which makes followers refuse votes while they hear from a leader).
  kLeaseBased,
};

struct RaftConfig {
  NodeId id = kNoNode;
  int election_ticks = 10;        // followers campaign after a random timeout in [election, 2*election) ticks
  int heartbeat_ticks = 1;        // leaders send heartbeats this often; must be < election_ticks
  bool pre_vote = true;           // Raft thesis 9.6: a partitioned node rejoining does not disrupt the leader
  bool check_quorum = true;       // a leader that has not heard from a quorum within election_ticks steps down
  ReadMode read_mode = ReadMode::kReadIndex;
  std::size_t max_inflight_messages = 256;              // per follower, in kReplicate
  std::uint64_t max_inflight_bytes = 32ull << 20;       // per follower; 0 means no byte limit
  std::uint64_t max_append_bytes = 1ull << 20;          // per AppendEntries message (at least one entry)
  std::uint64_t max_committed_bytes_per_ready = 64ull << 20;
  std::uint64_t seed = 1;         // randomised election timeouts draw from this
  // A learner whose log is within this many entries of the leader's is promoted to voter automatically, one at a
  // time (0: learners stay learners until a configuration change promotes them).
  Index promote_learners_within = 0;

  Status validate() const;
};

// What the node recovered: its durable log and its newest snapshot.
struct BootState {
  HardState hard_state;
  SnapshotMeta log_start;      // the durable log's compaction point (DurableLog::snapshot_meta())
  std::vector<Entry> entries;  // everything after log_start.last_index
  // The newest durable snapshot, which the state machine was restored from; absent means log_start. It must lie
  // in the log: at log_start, or at an entry with its term (a runtime that crashed while installing a snapshot
  // finishes by compacting the durable log to it before booting).
  std::optional<SnapshotMeta> snapshot;
};

// A linearizable read is safe once the state machine has applied `index`.
struct ReadState {
  std::uint64_t context = 0;
  Index index = 0;
};

struct Ready {
  // A snapshot from the leader to install. Its bytes are already durable beside the log (the runtime received them
  // before stepping the kInstallSnapshot message). First compact the durable log to it, then persist the rest of
  // this Ready; restore the state machine from it before applying `committed`.
  std::optional<SnapshotMeta> snapshot;
  // To persist, in this order, in one durable write: entries (the durable log first drops anything after
  // entries.front().index - 1), then hard_state.
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
  // Send now, in parallel with persisting.
  std::vector<Message> messages;
  // Send only once this Ready (and every earlier one) is durable.
  std::vector<Message> messages_after_persist;
  // Committed, durable entries for the state machine, in order.
  std::vector<Entry> committed;
  std::vector<ReadState> read_states;
  // Reads that can no longer be served here (leadership lost): answer them "not leader".
  std::vector<std::uint64_t> dropped_reads;

  // The node's state when this Ready was taken.
  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Term term = 0;
  Index commit = 0;
};

// The outcome of propose(). kOk means accepted at (index, term): it commits and applies there, or, if the entry
// found at index when applied has another term, it was dropped by a leadership change (the runtime tells the
// client "unknown outcome" only if it cannot tell which). kNotLeader carries a hint; kDropped means refused now.
struct Proposal {
  Status status;
  Index index = 0;
  Term term = 0;
  NodeId leader_hint = kNoNode;
};

class Raft {
 public:
  static Result<std::unique_ptr<Raft>> create(const RaftConfig& config, BootState boot);

  // Inputs.
  void tick();
  Status step(const Message& m);
  Proposal propose(std::string payload);
  Status read_index(std::uint64_t context);
  Status transfer_leadership(NodeId target);
  // The runtime made a snapshot of the state machine at meta.last_index (<= applied; term and configuration as in
  // the log there) durable. The core sends it to followers that need compacted entries, and compacts its log to
  // keep `trailing_entries` entries behind it. Returns the point the durable log may now be compacted to, if it
  // moved.
  Result<std::optional<SnapshotMeta>> snapshot_taken(const SnapshotMeta& meta, Index trailing_entries);
  // The leader's runtime finished streaming a snapshot to `to`: delivered (the follower has stepped it) or failed.
  void report_snapshot(NodeId to, bool delivered);

  // Membership (Raft thesis chapter 4). Proposes `target` (voters and learners; metadata travels along). A change
  // of at most one voter takes effect directly (a single-server change); anything else goes through a joint
  // configuration (voters = target, voters_outgoing = current), which the leader leaves by itself once it commits.
  // A configuration takes effect on every node as soon as it is in its log. Refused with kDropped while another
  // change is uncommitted or joint, or before this leader has committed an entry of its own term (the known flaw
  // of single-server changes); kInvalidArgument for an invalid target or a voter demoted straight to learner in a
  // joint change. A leader that the committed configuration no longer lists hands leadership to an up-to-date
  // voter and steps down.
  Proposal propose_configuration(Configuration target);
  bool configuration_change_pending() const {
    return configuration_index_ > log_.committed() || configuration_.is_joint();
  }
  // Output.
  bool has_ready() const;
  Ready ready();
  void advance(const Ready& rd);

  // Introspection (tests, simulator, metrics).
  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId voted_for() const { return vote_; }
  NodeId leader() const { return leader_; }
  NodeId transfer_target() const { return transfer_target_; }
  // Campaigns this node started: its election timer fired (a pre-vote round, or an election without pre-vote), or a
  // leader told it to take over. For monitoring; not persisted.
  std::uint64_t campaigns_started() const { return campaigns_started_; }
  const RaftLog& log() const { return log_; }
  const SnapshotMeta& snapshot() const { return snapshot_; }
  const Configuration& configuration() const { return configuration_; }
  const Progress* progress(NodeId id) const;
  std::string describe() const;

 private:
  enum class CampaignKind { kPreElection, kElection, kTransfer };

  Raft(const RaftConfig& config, BootState boot);

  // Roles.
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void campaign(CampaignKind kind);
  VoteResult poll(NodeId from, bool granted);
  bool promotable() const { return configuration_.is_voter(config_.id); }
  bool in_leader_lease() const;
  void reset_randomized_election_timeout();

  // Message handling.
  Status step_by_term(const Message& m, bool& handled);
  void handle_vote_request(const Message& m);
  void step_leader(const Message& m);
  void step_candidate(const Message& m);
  void step_follower(const Message& m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  void handle_append_response(const Message& m, Progress& pr);
  void handle_heartbeat_response(const Message& m, Progress& pr);

  // Replication (raft_replication.cc).
  bool send_append(NodeId to, bool send_if_empty);
  void send_snapshot(NodeId to, Progress& pr);
  void broadcast_append();
  void broadcast_heartbeat(std::uint64_t context);
  bool maybe_commit();
  void self_persisted();
  void on_commit_advanced();

  // Linearizable reads (raft_replication.cc).
  void serve_read(std::uint64_t context);
  void acknowledge_read(NodeId from, std::uint64_t round);
  void drop_pending_reads();
  bool committed_in_current_term() const;
  bool lease_valid() const;

  void abort_transfer() {
    transfer_target_ = kNoNode;
    transfer_elapsed_ = 0;
  }
  void send(Message m);
  void refresh_configuration();
  Configuration configuration_at(Index index) const;
  // Leader: membership bookkeeping after the configuration or the commit index moved (raft_membership.cc).
  void sync_progress_with_configuration();
  void maybe_advance_configuration();
  void append_configuration(const Configuration& c);
  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }

  RaftConfig config_;
  Random random_;
  RaftLog log_;
  SnapshotMeta snapshot_;                   // the newest durable snapshot; the log starts at or before it
  std::optional<SnapshotMeta> restoring_;   // installed from the leader; handed out in the next Ready
  Configuration configuration_;
  Index configuration_index_ = 0;
  Term configuration_term_ = 0;  // with the index: a truncation that replaced the entry is noticed

  Role role_ = Role::kFollower;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int transfer_elapsed_ = 0;          // a transfer has its own clock, so it cannot hold off check-quorum
  std::uint64_t ticks_ = 0;           // this node's tick count; heartbeats carry it for lease reads
  bool timeout_now_sent_ = false;     // this term: another node may already lead, so no lease reads
  int randomized_election_timeout_ = 0;

  std::map<NodeId, Progress> progress_;  // leader only; includes this node
  std::map<NodeId, bool> votes_;         // candidate and pre-candidate only
  NodeId transfer_target_ = kNoNode;
  std::uint64_t campaigns_started_ = 0;
  bool needs_broadcast_ = false;

  struct PendingRead {
    std::uint64_t context;   // the caller's
    std::uint64_t round;     // ours, unique per node: the heartbeat context that confirms this read
    Index index;
    std::vector<NodeId> acks;
  };
  std::uint64_t next_read_round_ = 1;
  std::deque<PendingRead> pending_reads_;                 // awaiting a quorum's heartbeat acknowledgement
  std::vector<std::uint64_t> reads_awaiting_first_commit_;  // a new leader must commit its no-op first
  std::vector<ReadState> read_states_;
  std::vector<std::uint64_t> dropped_reads_;

  std::vector<Message> messages_;
  std::vector<Message> messages_after_persist_;
  HardState persisted_hard_state_;  // as last handed out in a Ready
  bool ready_outstanding_ = false;
};

}  // namespace raftkit
