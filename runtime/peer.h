// The public API: a replicated state machine run by a named peer.
//
//   class Counter : public raftkit::StateMachine { ... handle_write / handle_read ... };
//   auto peer = raftkit::Peer::start(options, std::make_unique<Counter>()).value();
//   auto result = peer->write("incr").get();          // replicated through the log, then applied; or NotLeader
//   auto value = peer->read("get").get();             // linearizable (ReadIndex) through the leader
//   peer->leader();                                   // the leader's name, if known
//   peer->stop();
//
// A peer runs the Raft core on its own thread, persists each Ready in one durable write (group commit) on that
// thread, sends the leader's appends before its own write completes (Raft thesis 10.2.1) and everything that
// asserts durable state only after it, applies committed entries on an apply thread, and talks to the other
// peers through the WebSocket transport. Beast, Asio and the storage engines stay out of this header.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "adapters/common/log_directory.h"
#include "consensus/status.h"
#include "runtime/metrics.h"
#include "transport/transport.h"
#include "util/logger.h"

namespace raftkit {

// A point-in-time view of a state machine's state, written out on a background thread while the state machine
// goes on applying commands (hashicorp/raft's FSMSnapshot).
class StateMachineSnapshot {
 public:
  virtual ~StateMachineSnapshot() = default;
  // Writes the state as it was when snapshot() returned. A stream error or a non-OK status abandons the snapshot
  // (the peer tries again later); the log is compacted only after a snapshot is durable.
  virtual Status write(std::ostream& out) = 0;
};

// The user's state machine. handle_write, handle_read, snapshot and restore come from one thread at a time, in log
// order; StateMachineSnapshot::write runs on another thread, concurrently with them.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies a committed command and returns its result. A command is input the state machine did not produce
  // here: it may come from a client of another version or from a buggy or hostile one, and once committed it is
  // in every replica's log for good. So a command that cannot be parsed must be answered as an error (and change
  // nothing), never thrown on: a peer whose state machine throws stops (its state is unknown), and would stop
  // again at the same entry after every restart.
  virtual std::string handle_write(const std::string& command) = 0;
  // Answers a query against the current state, changing nothing.
  virtual std::string handle_read(const std::string& query) = 0;
  // Captures the current state cheaply — copy-on-write structures, an immutable version, a storage engine's
  // snapshot — without copying a large state: commands wait while this runs, but not while the view is written.
  virtual std::unique_ptr<StateMachineSnapshot> snapshot() = 0;
  // Replaces the whole state with one a snapshot wrote (possibly on another peer). Called at start-up with the
  // newest local snapshot, and when the leader sends one. A non-OK status stops the peer: its state is unknown.
  virtual Status restore(std::istream& in) = 0;
};

struct PeerOptions {
  std::string name;                 // this peer; must appear in members
  std::string cluster = "raftkit";
  // Its durable log lives in data_dir/log and its snapshots in data_dir/snapshots. Empty (an in-memory log only):
  // nothing is stored, and the peer never snapshots.
  std::string data_dir;
  // Opens the durable log (required): the engine is the caller's, so the runtime links none. One engine's adapter
  // (`[](const LogOptions& o) { ... SqliteLog::open(...) ... }`), or raftkit::engines' engine_log_factory() to
  // pick one by name. It is given data_dir/log (empty if data_dir is), the cluster and this peer's member id.
  DurableLogFactory open_log;
  // The initial cluster configuration: every voter's id, name and address, this peer included. A peer whose log
  // is empty bootstraps it with this configuration; a peer restarting from its log uses what the log holds.
  std::vector<PeerAddress> members;
  // Opaque information kept with each initial member's address, by name (the key-value server keeps HTTP
  // addresses here). It goes into the bootstrap entry, so it must be the same on every initial member.
  std::map<std::string, std::string> member_info;
  // Joining instead: the Raft address ("host:port") of any member. The peer asks to join (the request finds the
  // leader), is added as a learner under a new id, catches up by snapshot and log, and is promoted to voter.
  // host/port are then its own Raft address, and info is kept with it (opaque; the key-value server keeps its HTTP
  // address there). A peer that joined once restarts as a member without asking again (its id is in data_dir).
  std::string join;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string info;
  std::chrono::milliseconds join_timeout{60000};
  // A learner added with add_peer() (or by joining) becomes a voter once its log is this close to the leader's.
  std::uint64_t promote_within = 1000;
  // Reads answered by the leader without a heartbeat round while its lease holds (ReadMode::kLeaseBased in
  // consensus/raft.h): faster, but linearizable only while no peer's timers run faster than the leader's by more
  // than a tick per election timeout — a clock assumption ReadIndex, the default, does not make.
  bool lease_reads = false;
  // Records the latency and batch-size histograms of metrics(): two clock reads per durable write and per read, and
  // a few relaxed atomic adds. Off only to measure what they cost (scripts/bench-metrics.sh); counters and gauges
  // are kept either way.
  bool latency_histograms = true;
  // FOR TESTS ONLY — breaks linearizability on purpose: read() answers from this peer's state at once, on any
  // peer, without ReadIndex. The Jepsen-style harness runs a server with it to prove its checks catch stale reads.
  bool unsafe_local_reads = false;
  std::chrono::milliseconds tick{10};
  // The clock that drives this peer's timers: Raft's ticks (election timeouts, heartbeats, check-quorum, leases)
  // and snapshot-stream resends. Empty: std::chrono::steady_clock. Replaced for fault injection — a clock that runs
  // fast or slow, jumps ahead, or stalls — by tests and the Jepsen harness (kv_server --timer-clock-file); safety
  // must not depend on it (ReadIndex reads do not; lease reads assume bounded drift, see ReadMode).
  std::function<std::chrono::steady_clock::time_point()> timer_clock;
  // The peer port's inbound limits (TransportOptions; docs/security.md): connections open in total and from one
  // address, the time a connection may take to say hello, and the silence after which it is closed. Every member
  // of a cluster should use the same idle timeout: senders keep connections alive at a third of their own.
  std::size_t peer_max_connections = 256;
  std::size_t peer_max_connections_per_source = 32;
  std::chrono::milliseconds peer_handshake_timeout{5000};
  std::chrono::milliseconds peer_idle_timeout{30000};
  // Mutual TLS between peers, join requests included (TlsOptions: the cluster's CA, and this peer's certificate,
  // which must name `name`). Unset: plaintext, for loopback tests or a network only members can reach.
  std::optional<TlsOptions> peer_tls;
  // Requests accepted but not yet answered; beyond it write() and read() answer kUnavailable ("overloaded") at
  // once, so clients sending faster than the cluster commits cannot grow the peer's memory without bound.
  std::size_t max_pending_requests = 10000;
  std::size_t max_sessions = 100000;  // client sessions remembered for deduplication (least recently used go)
  int election_ticks = 20;
  int heartbeat_ticks = 2;
  // Snapshots: taken when this many entries were applied since the last one, or the entries applied since then
  // hold this many bytes (0 turns a trigger off). The log is then compacted, keeping trailing_entries behind the
  // snapshot so a follower only slightly behind catches up from the log rather than by snapshot.
  std::uint64_t snapshot_entries = 100000;
  std::uint64_t snapshot_bytes = 256ull << 20;
  std::uint64_t trailing_entries = 10000;
  // Streaming a snapshot to a follower: chunk size, chunks in flight, how long without an acknowledgement before
  // resending from the last acknowledged byte, and before giving up (the core then retries later). A transfer
  // that keeps making progress never times out, however large the snapshot.
  std::size_t snapshot_chunk_bytes = 1 << 20;
  std::size_t snapshot_window_chunks = 8;
  std::chrono::milliseconds snapshot_resend_after{1000};
  std::chrono::milliseconds snapshot_give_up_after{30000};
  // Logging (util/logger.h): every line names this peer. At kInfo: campaigns, leadership gained, lost and handed
  // over, committed configuration changes, snapshots taken, sent and installed; at kWarning: refused peer
  // connections (once per source a minute) and failed snapshots; at kError: why the peer stopped by itself.
  // No sink: standard error.
  LogLevel log_level = LogLevel::kInfo;
  LogSink log_sink;
};

// A member of the current configuration, as members() reports it.
struct MemberInfo {
  PeerAddress address;
  std::string info;
  bool voter = false;     // in a joint configuration: a voter of either half
  bool learner = false;
};

// The answer to a request: the state machine's result, or why there is none.
using Completion = std::function<void(Result<std::string>)>;

struct PeerStatus {
  std::uint64_t term = 0;
  std::uint64_t commit = 0;
  std::uint64_t applied = 0;
  std::uint64_t snapshot_index = 0;   // the newest durable snapshot's last index
  std::uint64_t log_first_index = 0;  // the first entry still in the log (compaction point + 1)
  std::uint64_t snapshots_installed = 0;  // received from a leader since start
  bool member = true;   // false once a configuration without this peer is in its log (removed, or not yet added)
  // True once the peer stopped, by stop() or because it could no longer go on safely (its durable log or state
  // machine failed); stop_reason says why. A stopped peer answers nothing, leads nothing and never restarts by
  // itself: a process that embeds it should exit so its supervisor starts it again.
  bool stopped = false;
  std::string stop_reason;
  // The peer port: connections open, refused (by the hello, or unread beyond the connection limits), timed out,
  // malformed frames, messages sent and received, messages dropped for a full queue.
  TransportStats transport;
  // Peers' messages dropped because the Raft thread's queue held too many bytes (Raft retransmits them).
  std::uint64_t inbound_dropped = 0;
};

class Peer {
 public:
  static Result<std::unique_ptr<Peer>> start(PeerOptions options, std::unique_ptr<StateMachine> machine);
  virtual ~Peer() = default;

  // Requests come in two forms. The callback form calls `done` exactly once: on the caller's thread when the
  // request is refused at once (stopped, overloaded), otherwise on one of the peer's threads — so `done` must be
  // quick and must not block or wait for the peer (hand the result to your own executor instead); an exception
  // it throws is caught and dropped. Requests still unanswered when the peer stops are answered kUnavailable.
  // The future form is a convenience over it.
  //
  // write replicates and applies a command; the result is the state machine's, or kNotLeader (message names the
  // leader if known), kDropped (lost in a leadership change: safe to retry), or kUnavailable (stopped,
  // overloaded, or outcome unknown).
  virtual void write(std::string command, Completion done) = 0;
  // The same within a client session (Raft thesis 6.3): a retried write — same client_id, same request_id —
  // is applied at most once, and the retry gets the first result. request_ids must grow per client; a request
  // older than the newest one applied for its client is answered kDropped without being applied.
  virtual void write(std::string command, std::uint64_t client_id, std::uint64_t request_id, Completion done) = 0;
  // A linearizable read through the leader.
  virtual void read(std::string query, Completion done) = 0;
  // A read of this peer's own applied state, on any peer, without asking anyone (etcd's "serializable" read,
  // hashicorp/raft's stale read): may be arbitrarily stale, never linearizable; for monitoring, debugging, and
  // comparing replicas. Answered between two applied commands, so it sees a state some prefix of the log produced.
  virtual void read_local(std::string query, Completion done) = 0;

  std::future<Result<std::string>> write(std::string command);
  std::future<Result<std::string>> write(std::string command, std::uint64_t client_id, std::uint64_t request_id);
  std::future<Result<std::string>> read(std::string query);
  std::future<Result<std::string>> read_local(std::string query);
  // The leader's name as this peer knows it.
  virtual std::optional<std::string> leader() const = 0;

  // Membership, through the leader (kNotLeader names it otherwise). Each future holds the new configuration's
  // description once the change has committed — for a change of several voters, once the joint configuration has
  // (the leader then leaves it by itself) — or kDropped while another change is in progress (retry), or
  // kInvalidArgument. Only one change runs at a time.
  // Adds a peer (its id is chosen by the leader) as a learner, promoted to voter once caught up.
  virtual std::future<Result<std::string>> add_peer(PeerAddress peer, std::string info = "") = 0;
  // Adds a learner that stays one: it receives the log but never votes.
  virtual std::future<Result<std::string>> add_learner(PeerAddress peer, std::string info = "") = 0;
  // Removes a member, the leader included (it hands leadership over and steps down once the change commits).
  virtual std::future<Result<std::string>> remove_peer(std::string name) = 0;
  // Any new set of voters and learners among known members, at once (through joint consensus if needed).
  virtual std::future<Result<std::string>> change_configuration(std::vector<std::string> voters,
                                                                std::vector<std::string> learners) = 0;
  // This peer asks the leader to remove it.
  virtual std::future<Result<std::string>> leave() = 0;
  // Hands leadership to the voter `name` (Raft thesis 3.10), through the leader (kNotLeader names it otherwise):
  // the leader brings its log up to date, then tells it to campaign at once, so a planned restart of the leader
  // costs no election timeout. While a transfer runs the leader refuses new writes with kDropped (safe to retry).
  // An empty name picks the voter whose log is the most up to date. The future holds the new leader's name once
  // this peer has seen it lead (at once if `name` already leads); kInvalidArgument if `name` is not a voter;
  // kDropped if another peer was elected instead or a newer transfer replaced this one; kUnavailable if `name` did
  // not take over within two election timeouts (the core abandons a transfer after one, and a campaign it started
  // may still win in the next; the leader goes on leading), or no leader was known within three.
  virtual std::future<Result<std::string>> transfer_leadership(std::string name = "") = 0;
  virtual std::vector<MemberInfo> members() const = 0;
  virtual bool is_leader() const = 0;
  virtual PeerStatus status() const = 0;
  // Counters, gauges and histograms for monitoring (runtime/metrics.h; runtime/prometheus.h writes them for
  // Prometheus). Cheap: taking it never waits for the peer's threads.
  virtual PeerMetrics metrics() const = 0;
  // Stops the peer: pending requests are answered kUnavailable; the log stays on disk for a restart.
  virtual void stop() = 0;
};

}  // namespace raftkit
