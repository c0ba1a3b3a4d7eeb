// The peer runtime's implementation class (internal to runtime/; the public API is runtime/peer.h). Its methods
// are split by concern: peer.cc (boot, the Raft loop, applying, snapshots), peer_membership.cc (joining, leaving,
// configuration changes, the address book).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/durable_log.h"
#include "adapters/snapshot/snapshot_store.h"
#include "consensus/raft.h"
#include "runtime/membership.h"
#include "runtime/metrics.h"
#include "runtime/peer.h"
#include "runtime/sessions.h"
#include "runtime/snapshot_transfer.h"

namespace raftkit::internal {


// "voters={a,b,c} learners={d}", by name (from the configuration's own metadata).
std::string describe_configuration(const Configuration& c);

// An accepted request's completion, holding one of the peer's pending-request slots until it is answered. Answered
// exactly once: by answer(), or, if it is destroyed unanswered (the peer stopped with the request queued or in
// flight), with kUnavailable — so no caller waits for an answer that never comes.
class PendingAnswer {
 public:
  PendingAnswer(Completion done, std::atomic<std::size_t>* pending) : done_(std::move(done)), pending_(pending) {
    ++*pending_;
  }
  PendingAnswer(PendingAnswer&& o) noexcept : done_(std::move(o.done_)), pending_(std::exchange(o.pending_, nullptr)) {
    o.done_ = nullptr;
  }
  PendingAnswer& operator=(PendingAnswer&& o) noexcept {
    if (this != &o) {
      answer(Status(ErrorCode::kUnavailable, "peer stopped"));
      done_ = std::exchange(o.done_, nullptr);
      pending_ = std::exchange(o.pending_, nullptr);
    }
    return *this;
  }
  PendingAnswer(const PendingAnswer&) = delete;
  PendingAnswer& operator=(const PendingAnswer&) = delete;
  ~PendingAnswer() { answer(Status(ErrorCode::kUnavailable, "peer stopped")); }

  void answer(Result<std::string> r) {
    if (pending_ != nullptr) --*pending_;  // first: a caller answered may send its next request at once
    pending_ = nullptr;
    Completion done = std::exchange(done_, nullptr);
    call(done, std::move(r));
  }
  // Calls a completion; the caller's code must not take a peer thread down with it.
  static void call(const Completion& done, Result<std::string> r) noexcept {
    if (!done) return;
    try {
      done(std::move(r));
    } catch (...) {
    }
  }

 private:
  Completion done_;
  std::atomic<std::size_t>* pending_;
};

// A completion that fulfils a promise: the future form of the API over the callback form.
inline Completion completion_for(std::future<Result<std::string>>& future) {
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  future = promise->get_future();
  return [promise](Result<std::string> r) { promise->set_value(std::move(r)); };
}

inline std::future<Result<std::string>> answer_now(raftkit::Status s) {
  std::promise<Result<std::string>> p;
  p.set_value(std::move(s));
  return p.get_future();
}

// Work for the apply thread, in log order: a committed entry (with the writer's promise if it was proposed here),
// a confirmed read waiting for the state machine to reach its index, or a snapshot from the leader to restore.
struct ApplyItem {
  enum class Kind { kEntry, kRead, kRestore } kind = Kind::kEntry;
  Entry entry;
  std::optional<PendingAnswer> promise;
  Index read_index = 0;
  std::string query;
  std::shared_ptr<SnapshotReader> snapshot;  // kRestore: opened when installed, so it cannot vanish meanwhile
};

class RaftPeer final : public Peer {
 public:
  RaftPeer(PeerOptions options, std::unique_ptr<StateMachine> machine)
      : options_(std::move(options)), machine_(std::move(machine)) {}
  ~RaftPeer() override { stop(); }

  Status boot();
  using Peer::read;
  using Peer::read_local;
  using Peer::write;
  void write(std::string command, Completion done) override { write(std::move(command), 0, 0, std::move(done)); }
  void write(std::string command, std::uint64_t client_id, std::uint64_t request_id, Completion done) override;
  void read(std::string query, Completion done) override;
  void read_local(std::string query, Completion done) override;
  std::optional<std::string> leader() const override;
  bool is_leader() const override { return leader_.load() == self_ && self_ != kNoNode && !stopping_; }
  PeerStatus status() const override;
  void stop() override;

  // Membership (peer_membership.cc).
  std::future<Result<std::string>> add_peer(PeerAddress peer, std::string info) override;
  std::future<Result<std::string>> add_learner(PeerAddress peer, std::string info) override;
  std::future<Result<std::string>> remove_peer(std::string name) override;
  std::future<Result<std::string>> change_configuration(std::vector<std::string> voters,
                                                        std::vector<std::string> learners) override;
  std::future<Result<std::string>> leave() override;
  std::vector<MemberInfo> members() const override;
  std::future<Result<std::string>> transfer_leadership(std::string name) override;
  PeerMetrics metrics() const override;

 private:
  // Why a new request must be answered at once instead of taken: the peer is stopping, or too many are pending.
  std::optional<Status> refusal() const;
  // Hands a read straight to the apply thread: it sees whatever has been applied when it gets there.
  void queue_local_read(std::string query, PendingAnswer answer);
  void post(std::function<void()> work);
  void raft_loop();
  // Whether the transport may take a connection from a peer this one has no address for (TransportOptions::
  // admit_unknown).
  bool admit_unknown_peer(const PeerAddress& peer);
  void note_ids_locked(const std::vector<MemberRecord>& book, const Configuration& configuration);
  std::chrono::steady_clock::time_point timer_now() const;  // options_.timer_clock, or steady_clock
  void on_message(const Message& m);
  void handle_ready();
  void install_snapshot(const SnapshotMeta& meta, std::vector<ApplyItem>& items);
  void fail(const std::string& what);
  void apply_loop();
  void apply_entry(ApplyItem& item);
  Status restore_state(SnapshotReader& reader);
  void maybe_start_snapshot();
  void write_snapshot(const SnapshotMeta& meta, StateMachineSnapshot& view, const std::string& sessions);
  void snapshot_written(const SnapshotMeta& meta);
  void fail_everything();
  // Metrics (Raft thread): the leader's view of its followers, refreshed every tick; what a Ready changed.
  void publish_followers();
  void count_ready(const Ready& rd);
  void snapshot_outcome(const SnapshotOutcome& o);

  // Membership (peer_membership.cc).
  using ChangeDone = std::function<void(Result<std::string>)>;
  Result<JoinReply> join_cluster();
  JoinReply answer_join(const JoinRequest& request);  // transport thread: waits for the Raft thread
  void start_join(const JoinRequest& request, const std::shared_ptr<std::promise<JoinReply>>& reply);
  std::future<Result<std::string>> membership_request(std::function<Result<Configuration>(const Configuration&)> target);
  void propose_change(const Configuration& target, ChangeDone done);
  void resolve_change(const Entry& committed);
  void maybe_promote();
  NodeId transfer_target_for(const std::string& name, Status& refusal) const;
  void follow_transfer();  // Raft thread: answers the transfer in progress once its outcome is known
  void refresh_membership();  // Raft thread: address book and transport follow the configuration
  Status not_leader_status() const;
  std::optional<MemberRecord> member_record(NodeId id) const;
  PeerOptions options_;
  Logger logger_{options_.name, options_.log_level, options_.log_sink};
  std::unique_ptr<StateMachine> machine_;
  NodeId self_ = kNoNode;
  std::unique_ptr<DurableLog> log_;
  std::unique_ptr<Raft> raft_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<SnapshotStore> store_;  // null when the peer stores nothing (no data_dir): no snapshots
  std::unique_ptr<SnapshotSender> sender_;
  std::unique_ptr<SnapshotReceiver> receiver_;
  std::atomic<std::size_t> pending_{0};  // declared before everything holding a PendingAnswer, so it outlives them

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> inbox_;
  std::atomic<bool> stopping_{false};
  // Bytes of peers' messages queued for the Raft thread: beyond kMaxInboundQueueBytes, arriving messages are
  // dropped (Raft retransmits) so a peer sending faster than this one steps — or fsyncs — cannot grow the queue.
  static constexpr std::size_t kMaxInboundQueueBytes = 256u << 20;
  std::atomic<std::size_t> inbound_queue_bytes_{0};
  std::atomic<std::uint64_t> inbound_dropped_{0};
  bool stopped_ = false;
  mutable std::mutex stop_mu_;
  std::string stop_reason_;  // under stop_mu_: why the peer stopped (fail's reason, or "stopped")
  std::thread raft_thread_;

  // Raft thread only.
  HardState latest_hard_state_;   // the core's, as of the last Ready
  HardState written_hard_state_;  // as last made durable (its commit index may lag: see handle_ready)
  std::map<Index, std::pair<Term, PendingAnswer>> pending_writes_;
  // Linearizable reads waiting for a quorum's confirmation, by read context.
  struct PendingRead {
    std::string query;
    PendingAnswer answer;
    std::chrono::steady_clock::time_point started;  // for the ReadIndex latency metric
  };
  std::map<std::uint64_t, PendingRead> pending_reads_;
  std::uint64_t next_read_ = 1;
  std::map<Index, std::pair<Term, ChangeDone>> pending_changes_;  // configuration entries proposed here
  // The leadership transfer asked of this peer, until its outcome is known (one at a time: a newer one replaces it).
  struct PendingTransfer {
    NodeId target = kNoNode;
    std::string name;
    std::shared_ptr<PendingAnswer> answer;
    std::chrono::steady_clock::time_point give_up;  // on timer_now()'s clock: no leader known by then
    std::optional<std::chrono::steady_clock::time_point> abandoned_at;  // when the core gave up on it
  };
  std::optional<PendingTransfer> transfer_;
  Configuration committed_configuration_;  // the newest committed configuration entry (or snapshot's)
  Configuration known_configuration_;      // the two as last given to the transport
  Configuration known_committed_;

  // The address book: every member's address and info, from the configuration's metadata (or, before the log has
  // any, from PeerOptions::members or the join reply). Read by API threads.
  mutable std::mutex book_mu_;
  std::vector<MemberRecord> book_;
  NodeId highest_id_seen_ = 0;        // in any configuration or address book so far (see admit_unknown_peer)
  Configuration configuration_view_;  // the configuration in effect, for members()
  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  std::deque<ApplyItem> apply_queue_;
  std::thread apply_thread_;

  // Apply thread only (and boot, before it starts).
  Sessions sessions_;
  bool machine_failed_ = false;  // the state machine threw: nothing more is applied
  Index applied_index_ = 0;
  Term applied_term_ = 0;
  Configuration applied_configuration_;
  Index last_snapshot_index_ = 0;
  std::uint64_t bytes_since_snapshot_ = 0;
  std::atomic<bool> snapshot_running_{false};
  bool snapshot_finished_ = false;  // under apply_mu_
  std::thread snapshot_thread_;

  // Metrics: counters and histograms, each updated by one thread (see runtime/metrics.h).
  std::atomic<std::uint64_t> proposals_{0}, proposals_refused_{0}, elections_{0}, leader_changes_{0};
  std::atomic<std::uint64_t> entries_applied_{0}, snapshots_taken_{0}, snapshot_bytes_taken_{0};
  std::atomic<std::uint64_t> snapshots_sent_{0}, snapshots_send_failed_{0}, last_index_{0};
  std::atomic<std::uint64_t> snapshot_bytes_sent_{0}, snapshot_bytes_installed_{0};
  Histogram durable_write_seconds_{Histogram::latency_bounds()};
  Histogram append_batch_entries_{Histogram::size_bounds(12)};
  Histogram read_index_seconds_{Histogram::latency_bounds()};
  Histogram snapshot_take_seconds_{Histogram::latency_bounds()};
  Histogram snapshot_send_seconds_{Histogram::latency_bounds()};
  Histogram snapshot_install_seconds_{Histogram::latency_bounds()};
  mutable std::mutex followers_mu_;
  std::vector<FollowerMetrics> followers_view_;  // under followers_mu_
  // Raft thread only.
  Role last_role_ = Role::kFollower;
  Term last_term_ = 0;
  NodeId last_leader_ = kNoNode;  // the last leader known (never none)

  std::atomic<NodeId> leader_{kNoNode};
  std::atomic<std::uint64_t> term_{0}, commit_{0}, applied_{0};
  std::atomic<std::uint64_t> snapshot_index_{0}, first_index_{0}, installs_{0};
  // Shared with leave()'s helper thread, which may outlive a request but not this flag.
  std::shared_ptr<std::atomic<bool>> member_ = std::make_shared<std::atomic<bool>>(true);
  // Set once leave() is answered: the configuration that removes this peer may never reach it, and an older one
  // arriving later must not make it a member again.
  std::shared_ptr<std::atomic<bool>> left_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace raftkit::internal
