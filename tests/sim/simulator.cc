#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <vector>

#include "adapters/memory/memory_log.h"
#include "consensus/raft.h"
#include "consensus/random.h"
#include "tests/lincheck/checker.h"
#include "tests/sim/invariants.h"
#include "tests/sim/kv_machine.h"

namespace raftkit::sim {
namespace {

using Micros = std::uint64_t;
constexpr Micros kMs = 1000;

enum class EventKind {
  kTick,
  kDeliver,
  kSyncDone,
  kClientRequest,
  kClientReply,
  kClientTimeout,
  kClientNext,
  kFault,
  kSnapshotWritten,   // a node's own snapshot is durable
  kSnapshotArrives,   // a streamed snapshot's last chunk reaches the follower
  kSnapshotReceived,  // ... and the follower has made it durable
  kSnapshotReport,    // the leader's runtime learns how the stream ended
};

// A snapshot of the simulated state machine: metadata and a copy of the registers.
struct SimSnapshot {
  SnapshotMeta meta;
  std::map<std::string, std::string> data;
};

constexpr std::uint64_t kEventLimit = 5'000'000;

// Event::op of a kFault event: a random fault, or one of these.
constexpr std::uint64_t kFaultHeal = 1;
constexpr std::uint64_t kFaultMajorityPowerLoss = 2;
constexpr std::uint64_t kFaultRestart = 3;  // Event::node

enum class Reply { kOk, kRetry };  // kRetry: definitely not applied (not leader, dropped); try again

struct Event {
  Micros time = 0;
  std::uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  NodeId node = kNoNode;
  std::uint64_t incarnation = 0;
  std::uint64_t op = 0;  // client operation id, client id or fault number
  std::shared_ptr<Message> message;
  Reply reply = Reply::kOk;
  NodeId hint = kNoNode;
  bool cas_applied = false;
  std::optional<std::string> read_value;
  std::shared_ptr<const SimSnapshot> snapshot;  // snapshot events
  NodeId peer = kNoNode;                        // kSnapshotReport: the follower; kSnapshotArrives: the leader
  std::uint64_t peer_incarnation = 0;
  bool delivered = false;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
};

struct PendingWrite {
  std::uint64_t op;
  Term term;
};

struct Node {
  NodeId id = kNoNode;
  std::unique_ptr<Raft> raft;
  MemoryLog log;
  KvMachine machine;
  bool up = true;
  bool paused = false;
  std::uint64_t incarnation = 0;
  std::uint64_t boots = 0;  // changes only when the process restarts
  Micros tick_period = 10 * kMs;
  std::optional<Ready> in_flight;
  std::map<Index, PendingWrite> pending_writes;
  std::map<std::uint64_t, std::uint64_t> pending_reads;  // read context -> op
  std::vector<ReadState> reads_waiting;                   // confirmed, waiting for apply
  std::vector<Event> deferred;                            // arrived while paused
  Term durable_term = 0;
  Index durable_commit = 0;
  Role last_role = Role::kFollower;
  // Snapshots. durable_snapshot survives crashes; the others are lost with the process.
  std::shared_ptr<const SimSnapshot> durable_snapshot;
  std::shared_ptr<const SimSnapshot> snapshot_being_written;
  std::shared_ptr<const SimSnapshot> received;  // durable but not yet installed (a restart discards it)
  std::vector<std::pair<NodeId, std::uint64_t>> receiving_from;  // leaders (and incarnations) streaming to us
  Term applied_term = 0;
  Configuration applied_configuration;
};

struct ClientOp {
  int client = 0;
  lincheck::Operation record;
  Command command;
  bool done = false;
  NodeId target = kNoNode;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options) : options_(options), random_(options.seed) {}

  SimResult run();

 private:
  // Scheduling.
  void schedule(Event e) {
    e.seq = next_seq_++;
    queue_.push(std::move(e));
  }
  Micros network_delay() { return 200 + random_.below(3 * kMs); }

  // Nodes.
  void start_node(Node& n);
  void crash(Node& n);
  void restart(Node& n);
  void majority_power_loss();
  void process_ready(Node& n);
  void finish_ready(Node& n);
  void apply_entry(Node& n, const Entry& e);
  void serve_reads(Node& n);
  void send(const Message& m);
  void maybe_snapshot(Node& n);
  void snapshot_written(Node& n, const Event& e);
  void stream_snapshot(const Message& m);
  void snapshot_arrives(Node& n, const Event& e);
  void snapshot_received(Node& n, const Event& e);
  void report_snapshot(NodeId leader, std::uint64_t incarnation, NodeId follower, bool delivered, Micros delay);
  void install_snapshot(Node& n, const SnapshotMeta& meta);
  bool link_blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) > 0; }
  void handle_node_event(Node& n, const Event& e);

  // Clients.
  void client_next(int client);
  void client_attempt(std::uint64_t op_id);
  void client_request(Node& n, std::uint64_t op_id);
  void reply(std::uint64_t op_id, NodeId from, Reply r, NodeId hint, bool cas_applied = false,
             std::optional<std::string> read_value = std::nullopt);
  void client_reply(const Event& e);
  void complete(ClientOp& op, lincheck::Outcome outcome);

  // Faults.
  void inject_fault();
  void change_membership();
  Raft* current_leader();
  void heal_everything();
  std::string describe_partition() const;

  SimResult finish();

  void fail(const std::string& what) {
    if (result_.ok) {
      result_.ok = false;
      result_.failure = "seed " + std::to_string(options_.seed) + " at t=" + std::to_string(now_ / kMs) + "ms: " + what;
    }
  }
  void check(const std::string& violation) {
    if (!violation.empty()) fail(violation);
  }
  void log_line(const std::string& s) {
    if (options_.verbose) std::printf("[%8.3f ms] %s\n", static_cast<double>(now_) / kMs, s.c_str());
  }

  SimOptions options_;
  Random random_;
  SimResult result_;
  InvariantChecker invariants_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::uint64_t next_seq_ = 0;
  Micros now_ = 0;
  std::map<NodeId, Node> nodes_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::uint64_t loss_per_million_ = 0;
  std::uint64_t duplicate_per_million_ = 0;
  bool healed_ = false;
  Micros healed_at_ = 0;
  std::optional<Micros> first_ok_after_heal_;
  std::map<std::uint64_t, ClientOp> ops_;
  std::uint64_t next_op_ = 1;
  std::vector<std::tuple<Index, Term, std::string>> acknowledged_;
  std::uint64_t snapshot_every_ = 0;  // entries between snapshots; 0: never
  bool power_loss_pending_ = false;
  Index trailing_entries_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Nodes

void Simulation::start_node(Node& n) {
  RaftConfig config;
  config.id = n.id;
  config.election_ticks = 10;
  config.heartbeat_ticks = 2;
  config.max_inflight_messages = 16;
  config.max_append_bytes = 4096;
  config.promote_learners_within = 5;
  config.seed = random_.next();
  if (options_.lease_reads) config.read_mode = ReadMode::kLeaseBased;
  if (n.durable_snapshot) {
    // A crash while installing a snapshot may leave it durable but the log not yet compacted to it: finish that
    // first, as the runtime does.
    const SnapshotMeta& snap = n.durable_snapshot->meta;
    Result<Term> t = n.log.term_at(snap.last_index);
    if (n.log.snapshot_meta().last_index < snap.last_index && (!t.is_ok() || t.value() != snap.last_term)) {
      log_line("node " + std::to_string(n.id) + " finishes installing snapshot " + std::to_string(snap.last_index));
      if (Status s = n.log.compact(snap); !s.is_ok()) fail("finishing a snapshot install: " + s.to_string());
    }
  }
  BootState boot;
  boot.hard_state = n.log.hard_state();
  boot.log_start = n.log.snapshot_meta();
  boot.entries = n.log.read(n.log.first_index(), n.log.last_index() + 1, UINT64_MAX).value();
  if (n.durable_snapshot) boot.snapshot = n.durable_snapshot->meta;
  auto raft = Raft::create(config, std::move(boot));
  if (!raft.is_ok()) {
    fail("node " + std::to_string(n.id) + " cannot restart: " + raft.status().to_string());
    return;
  }
  n.raft = std::move(raft).value();
  n.machine = KvMachine();
  n.applied_term = 0;
  n.applied_configuration = Configuration{};
  if (n.durable_snapshot) {
    n.machine.restore(n.durable_snapshot->data);
    n.applied_term = n.durable_snapshot->meta.last_term;
    n.applied_configuration = n.durable_snapshot->meta.configuration;
    check(invariants_.check_state(n.id, n.durable_snapshot->meta.last_index, n.machine.digest()));
  }
  n.snapshot_being_written.reset();
  n.received.reset();
  n.receiving_from.clear();
  ++n.boots;
  n.up = true;
  n.paused = false;
  n.in_flight.reset();
  n.pending_writes.clear();
  n.pending_reads.clear();
  n.reads_waiting.clear();
  n.deferred.clear();
  n.last_role = Role::kFollower;
  ++n.incarnation;
  check(invariants_.check_restart(n.id, n.durable_term, n.durable_commit, *n.raft));
  Event tick;
  tick.kind = EventKind::kTick;
  tick.node = n.id;
  tick.incarnation = n.incarnation;
  tick.time = now_ + random_.below(n.tick_period);
  schedule(tick);
}

void Simulation::crash(Node& n) {
  // Power loss: the unsynced write of an in-flight Ready is lost, or survives as a torn prefix of its entries.
  std::size_t keep_entries = 0;
  if (n.in_flight && !n.in_flight->entries.empty()) keep_entries = random_.below(n.in_flight->entries.size() + 1);
  n.log.crash(0, keep_entries);
  // Snapshots being streamed to it fail with the connection; one being written or received is lost.
  for (const auto& [leader, incarnation] : n.receiving_from) report_snapshot(leader, incarnation, n.id, false, 5 * kMs);
  n.up = false;
  n.raft.reset();
  ++n.incarnation;
  invariants_.forget_volatile(n.id);
  ++result_.stats.crashes;
}

void Simulation::restart(Node& n) { start_node(n); }

void Simulation::majority_power_loss() {
  power_loss_pending_ = false;
  std::vector<NodeId> victims;
  auto add = [&](auto&& wanted) {
    for (auto& [id, node] : nodes_) {
      if (node.up && wanted(node) && std::find(victims.begin(), victims.end(), id) == victims.end()) {
        victims.push_back(id);
      }
    }
  };
  add([](const Node& node) { return node.in_flight.has_value(); });
  add([](const Node& node) { return node.raft->role() == Role::kLeader; });
  add([](const Node&) { return true; });
  const std::size_t majority = nodes_.size() / 2 + 1;
  if (victims.size() > majority) victims.resize(majority);
  std::string names;
  for (NodeId id : victims) {
    crash(nodes_.at(id));
    names += " " + std::to_string(id);
    Event back;
    back.kind = EventKind::kFault;
    back.op = kFaultRestart;
    back.node = id;
    back.time = now_ + 20 * kMs + random_.below(180 * kMs);
    schedule(back);
  }
  ++result_.stats.majority_power_losses;
  log_line("fault: power loss of a majority right after an acknowledgement, nodes" + names);
}

void Simulation::process_ready(Node& n) {
  if (!n.up || n.paused || n.in_flight || !n.raft->has_ready()) return;
  Ready rd = n.raft->ready();
  for (const Message& m : rd.messages) send(m);
  if (options_.bug == InjectedBug::kAcknowledgeBeforePersist) {
    for (const Message& m : rd.messages_after_persist) send(m);
    rd.messages_after_persist.clear();
  }
  if (rd.snapshot) install_snapshot(n, *rd.snapshot);
  LogWrite w;
  if (!rd.entries.empty()) w.truncate_after = rd.entries.front().index - 1;
  w.entries = rd.entries;
  w.hard_state = rd.hard_state;
  n.in_flight = std::move(rd);
  if (w.empty() && n.log.unsynced_operations() == 0) {
    finish_ready(n);
    return;
  }
  if (Status s = w.empty() ? Status::ok() : n.log.write_unsynced(w); !s.is_ok()) {
    fail("node " + std::to_string(n.id) + " persist rejected: " + s.to_string());
    return;
  }
  // The fsync completes a little later; a crash before then loses the write.
  Event done;
  done.kind = EventKind::kSyncDone;
  done.node = n.id;
  done.incarnation = n.incarnation;
  if (options_.majority_power_loss) {
    // Disks that stall now and then: acknowledgements sent before persisting outrun them.
    done.time = now_ + 100 + (random_.chance(330000) ? 20 * kMs + random_.below(60 * kMs) : random_.below(2 * kMs));
  } else {
    done.time = now_ + 100 + random_.below(random_.chance(50000) ? 20 * kMs : 2 * kMs);
  }
  schedule(done);
}

void Simulation::finish_ready(Node& n) {
  n.log.sync();
  Ready rd = std::move(*n.in_flight);
  n.in_flight.reset();
  n.durable_term = n.log.hard_state().term;
  n.durable_commit = n.log.hard_state().commit;
  for (const Message& m : rd.messages_after_persist) send(m);
  for (const Entry& e : rd.committed) apply_entry(n, e);
  for (std::uint64_t ctx : rd.dropped_reads) {
    auto it = n.pending_reads.find(ctx);
    if (it == n.pending_reads.end()) continue;
    reply(it->second, n.id, Reply::kRetry, n.raft->leader());
    n.pending_reads.erase(it);
  }
  n.reads_waiting.insert(n.reads_waiting.end(), rd.read_states.begin(), rd.read_states.end());
  n.raft->advance(rd);
  serve_reads(n);
  maybe_snapshot(n);
  process_ready(n);
}

void Simulation::apply_entry(Node& n, const Entry& e) {
  check(invariants_.check_applied(n.id, e));
  n.applied_term = e.term;
  if (e.kind == EntryKind::kConfiguration) n.applied_configuration = decode_configuration(e.payload).value();
  std::optional<Command> cmd;
  bool applied = false;
  if (e.kind == EntryKind::kNormal) {
    cmd = decode_command(e.payload);
    if (!cmd) {
      fail("undecodable command at index " + std::to_string(e.index));
      return;
    }
    applied = n.machine.apply(*cmd);
  }
  check(invariants_.check_state(n.id, e.index, n.machine.digest()));
  auto it = n.pending_writes.find(e.index);
  if (it == n.pending_writes.end()) return;
  const PendingWrite pw = it->second;
  n.pending_writes.erase(it);
  if (e.term != pw.term) {
    // Another leader's entry took this index: ours was never committed, so the client may safely retry.
    reply(pw.op, n.id, Reply::kRetry, n.raft->leader());
    return;
  }
  acknowledged_.emplace_back(e.index, e.term, e.payload);
  reply(pw.op, n.id, Reply::kOk, n.id, applied);
  // Aimed at the worst moment: some node still has entries on their way to disk.
  const bool writes_in_flight = std::any_of(nodes_.begin(), nodes_.end(), [](const auto& node) {
    return node.second.up && node.second.in_flight && !node.second.in_flight->entries.empty();
  });
  if (options_.majority_power_loss && !healed_ && !power_loss_pending_ && result_.stats.majority_power_losses < 5 &&
      writes_in_flight && random_.chance(300000)) {
    // At this instant, once the event being handled is done (this node may be among the victims).
    power_loss_pending_ = true;
    Event loss;
    loss.kind = EventKind::kFault;
    loss.op = kFaultMajorityPowerLoss;
    loss.time = now_;
    schedule(loss);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots: taken every few entries, written in the background (a crash loses one not yet durable), then the log
// compacted (unsynced: a crash may lose the compaction, never the snapshot); streamed to followers that need them.

void Simulation::maybe_snapshot(Node& n) {
  if (!snapshot_every_ || n.snapshot_being_written || !n.up) return;
  const Index applied = n.raft->log().applied();
  const Index last = n.durable_snapshot ? n.durable_snapshot->meta.last_index : 0;
  if (applied < last + snapshot_every_) return;
  auto snap = std::make_shared<SimSnapshot>();
  snap->meta = SnapshotMeta{applied, n.applied_term, n.applied_configuration};
  snap->data = n.machine.data();
  n.snapshot_being_written = snap;
  Event e;
  e.kind = EventKind::kSnapshotWritten;
  e.node = n.id;
  e.incarnation = n.boots;
  e.snapshot = snap;
  e.time = now_ + 500 + random_.below(15 * kMs);
  schedule(e);
}

void Simulation::snapshot_written(Node& n, const Event& e) {
  n.snapshot_being_written.reset();
  if (n.durable_snapshot && n.durable_snapshot->meta.last_index >= e.snapshot->meta.last_index) return;
  n.durable_snapshot = e.snapshot;  // temp file fsynced, renamed, directory fsynced
  ++result_.stats.snapshots_taken;
  Result<std::optional<SnapshotMeta>> compaction = n.raft->snapshot_taken(e.snapshot->meta, trailing_entries_);
  if (!compaction.is_ok()) {
    fail("node " + std::to_string(n.id) + " snapshot refused by the core: " + compaction.status().to_string());
    return;
  }
  log_line("node " + std::to_string(n.id) + " took snapshot " + std::to_string(e.snapshot->meta.last_index));
  if (compaction.value()) {
    if (Status s = n.log.compact_unsynced(*compaction.value()); !s.is_ok()) fail("compaction: " + s.to_string());
  }
}

void Simulation::stream_snapshot(const Message& m) {
  Node& leader = nodes_.at(m.from);
  // The core names the snapshot it knew when it decided; a newer one may have become durable since, and is sent
  // instead (the runtime does the same: it streams the newest snapshot it holds).
  if (!leader.durable_snapshot || leader.durable_snapshot->meta.last_index < m.snapshot.last_index) {
    fail("node " + std::to_string(m.from) + " asked to send snapshot " + std::to_string(m.snapshot.last_index) +
         " that it does not hold");
    return;
  }
  // The stream takes a while; a cut link or a lossy network breaks it, and the leader's runtime notices.
  if (link_blocked(m.from, m.to) || random_.chance(loss_per_million_)) {
    report_snapshot(m.from, leader.boots, m.to, false, 5 * kMs + random_.below(20 * kMs));
    return;
  }
  Event e;
  e.kind = EventKind::kSnapshotArrives;
  e.node = m.to;
  e.incarnation = nodes_.at(m.to).boots;
  auto sent = std::make_shared<Message>(m);
  sent->snapshot = leader.durable_snapshot->meta;
  e.message = sent;
  e.snapshot = leader.durable_snapshot;
  e.peer = m.from;
  e.peer_incarnation = leader.boots;
  e.time = now_ + 2 * kMs + random_.below(20 * kMs);
  nodes_.at(m.to).receiving_from.emplace_back(m.from, leader.boots);
  schedule(e);
}

void Simulation::snapshot_arrives(Node& n, const Event& e) {
  if (link_blocked(e.peer, n.id)) {
    report_snapshot(e.peer, e.peer_incarnation, n.id, false, 5 * kMs);
    return;
  }
  // Written to a temporary file and fsynced before the core hears of it.
  Event done = e;
  done.kind = EventKind::kSnapshotReceived;
  done.time = now_ + 200 + random_.below(5 * kMs);
  schedule(done);
}

void Simulation::snapshot_received(Node& n, const Event& e) {
  auto& from = n.receiving_from;
  from.erase(std::remove(from.begin(), from.end(), std::make_pair(e.peer, e.peer_incarnation)), from.end());
  n.received = e.snapshot;
  if (Status s = n.raft->step(*e.message); !s.is_ok()) fail("step refused a snapshot: " + s.to_string());
  report_snapshot(e.peer, e.peer_incarnation, n.id, true, network_delay());
}

void Simulation::report_snapshot(NodeId leader, std::uint64_t incarnation, NodeId follower, bool delivered,
                                 Micros delay) {
  Event e;
  e.kind = EventKind::kSnapshotReport;
  e.node = leader;
  e.incarnation = incarnation;
  e.peer = follower;
  e.delivered = delivered;
  e.time = now_ + delay;
  schedule(e);
}

void Simulation::install_snapshot(Node& n, const SnapshotMeta& meta) {
  if (!n.received || !(n.received->meta == meta)) {
    fail("node " + std::to_string(n.id) + " told to install snapshot " + std::to_string(meta.last_index) +
         " it did not receive");
    return;
  }
  // Renamed into place (durable), then the log compacted to it — unsynced, so a crash right here leaves the
  // snapshot and an uncompacted log, which the restart must finish.
  n.durable_snapshot = n.received;
  n.received.reset();
  if (Status s = n.log.compact_unsynced(meta); !s.is_ok()) fail("compacting to an installed snapshot: " + s.to_string());
  n.machine.restore(n.durable_snapshot->data);
  n.applied_term = meta.last_term;
  n.applied_configuration = meta.configuration;
  check(invariants_.check_state(n.id, meta.last_index, n.machine.digest()));
  // Writes this node proposed up to the snapshot can no longer be told apart: their clients time out (unknown).
  n.pending_writes.erase(n.pending_writes.begin(), n.pending_writes.upper_bound(meta.last_index));
  ++result_.stats.snapshots_installed;
  log_line("node " + std::to_string(n.id) + " installs snapshot " + std::to_string(meta.last_index));
}

void Simulation::serve_reads(Node& n) {
  const Index applied = n.raft->log().applied();
  auto ready_end = std::partition(n.reads_waiting.begin(), n.reads_waiting.end(),
                                  [&](const ReadState& r) { return r.index <= applied; });
  for (auto it = n.reads_waiting.begin(); it != ready_end; ++it) {
    auto p = n.pending_reads.find(it->context);
    if (p == n.pending_reads.end()) continue;
    const ClientOp& op = ops_.at(p->second);
    reply(p->second, n.id, Reply::kOk, n.id, false, n.machine.get(op.record.key));
    n.pending_reads.erase(p);
  }
  n.reads_waiting.erase(n.reads_waiting.begin(), ready_end);
}

void Simulation::send(const Message& m) {
  if (m.type == MessageType::kInstallSnapshot) {
    stream_snapshot(m);
    return;
  }
  if (link_blocked(m.from, m.to) || random_.chance(loss_per_million_)) {
    ++result_.stats.messages_dropped;
    return;
  }
  const int copies = random_.chance(duplicate_per_million_) ? 2 : 1;
  if (copies == 2) ++result_.stats.messages_duplicated;
  auto shared = std::make_shared<Message>(m);
  for (int i = 0; i < copies; ++i) {
    Event e;
    e.kind = EventKind::kDeliver;
    e.node = m.to;
    e.message = shared;
    e.time = now_ + network_delay();  // independent delays reorder messages
    schedule(e);
  }
}

void Simulation::handle_node_event(Node& n, const Event& e) {
  if (!n.up) return;
  // Snapshot events belong to one boot of the node (a pause does not cancel them); timers to one incarnation.
  const bool snapshot_event = e.kind == EventKind::kSnapshotWritten || e.kind == EventKind::kSnapshotArrives ||
                              e.kind == EventKind::kSnapshotReceived || e.kind == EventKind::kSnapshotReport;
  const std::uint64_t current = snapshot_event ? n.boots : n.incarnation;
  if (e.kind != EventKind::kDeliver && e.kind != EventKind::kClientRequest && e.incarnation != current) {
    // A stream to a follower that restarted meanwhile ends in failure for the leader.
    if (e.kind == EventKind::kSnapshotArrives) report_snapshot(e.peer, e.peer_incarnation, n.id, false, 5 * kMs);
    return;
  }
  if (n.paused) {
    if (e.kind == EventKind::kTick) return;  // a paused process does not tick; the timer fires again on resume
    n.deferred.push_back(e);
    return;
  }
  switch (e.kind) {
    case EventKind::kTick: {
      n.raft->tick();
      Event next = e;
      next.time = now_ + n.tick_period;
      schedule(next);
      break;
    }
    case EventKind::kDeliver:
      if (link_blocked(e.message->from, e.message->to)) {
        ++result_.stats.messages_dropped;  // cut while in flight
        return;
      }
      ++result_.stats.messages_delivered;
      if (Status s = n.raft->step(*e.message); !s.is_ok()) fail("step refused a simulated message: " + s.to_string());
      break;
    case EventKind::kSyncDone:
      if (!n.in_flight) return;
      finish_ready(n);
      break;
    case EventKind::kClientRequest: client_request(n, e.op); break;
    case EventKind::kSnapshotWritten: snapshot_written(n, e); break;
    case EventKind::kSnapshotArrives: snapshot_arrives(n, e); break;
    case EventKind::kSnapshotReceived: snapshot_received(n, e); break;
    case EventKind::kSnapshotReport:
      if (n.raft->role() == Role::kLeader) n.raft->report_snapshot(e.peer, e.delivered);
      break;
    default: break;
  }
  process_ready(n);
  if (n.up && n.raft) {
    check(invariants_.check_node(*n.raft));
    if (n.raft->role() == Role::kLeader && n.last_role != Role::kLeader) ++result_.stats.leaders_elected;
    n.last_role = n.raft->role();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Clients: each runs one operation at a time, retrying definite refusals, giving up after a timeout.

void Simulation::client_next(int client) {
  const Micros end = (options_.fault_phase_ms + options_.liveness_phase_ms) * kMs;
  if (now_ + 500 * kMs > end) return;
  ClientOp op;
  op.client = client;
  op.record.client = client;
  op.record.key = "k" + std::to_string(random_.below(3));
  op.record.invoke = now_;
  const std::uint64_t r = random_.below(10);
  const std::uint64_t id = next_op_++;
  if (r < 4) {
    op.record.kind = lincheck::OpKind::kRead;
  } else {
    op.command.op_id = id;
    op.command.key = op.record.key;
    op.command.value = std::to_string(random_.below(5));
    op.record.value = op.command.value;
    if (r >= 7) {
      op.record.kind = lincheck::OpKind::kCas;
      op.command.is_cas = true;
      if (!random_.chance(100000)) op.command.expected = std::to_string(random_.below(5));
      op.record.expected = op.command.expected;
    } else {
      op.record.kind = lincheck::OpKind::kWrite;
    }
  }
  op.target = static_cast<NodeId>(1 + random_.below(nodes_.size()));
  ops_.emplace(id, std::move(op));
  log_line("client " + std::to_string(client) + " invokes op " + std::to_string(id));
  Event timeout;
  timeout.kind = EventKind::kClientTimeout;
  timeout.op = id;
  timeout.time = now_ + 800 * kMs;
  schedule(timeout);
  client_attempt(id);
}

void Simulation::client_attempt(std::uint64_t op_id) {
  ClientOp& op = ops_.at(op_id);
  if (op.done) return;
  Event e;
  e.kind = EventKind::kClientRequest;
  e.node = op.target;
  e.op = op_id;
  e.time = now_ + network_delay();
  schedule(e);
}

void Simulation::client_request(Node& n, std::uint64_t op_id) {
  ClientOp& op = ops_.at(op_id);
  if (op.done) return;
  if (op.record.kind == lincheck::OpKind::kRead) {
    if (options_.bug == InjectedBug::kReadFromLocalState) {
      reply(op_id, n.id, Reply::kOk, n.id, false, n.machine.get(op.record.key));
      return;
    }
    if (Status s = n.raft->read_index(op_id); !s.is_ok()) {
      reply(op_id, n.id, Reply::kRetry, n.raft->leader());
      return;
    }
    n.pending_reads[op_id] = op_id;
    return;
  }
  Proposal p = n.raft->propose(encode_command(op.command));
  if (!p.status.is_ok()) {
    reply(op_id, n.id, Reply::kRetry, p.leader_hint);
    return;
  }
  n.pending_writes[p.index] = PendingWrite{op_id, p.term};
}

void Simulation::reply(std::uint64_t op_id, NodeId from, Reply r, NodeId hint, bool cas_applied,
                       std::optional<std::string> read_value) {
  Event e;
  e.kind = EventKind::kClientReply;
  e.node = from;
  e.op = op_id;
  e.reply = r;
  e.hint = hint;
  e.cas_applied = cas_applied;
  e.read_value = std::move(read_value);
  e.time = now_ + network_delay();
  schedule(e);
}

void Simulation::client_reply(const Event& e) {
  ClientOp& op = ops_.at(e.op);
  if (op.done) return;
  if (e.reply == Reply::kRetry) {
    op.target = e.hint != kNoNode ? e.hint : static_cast<NodeId>(1 + random_.below(nodes_.size()));
    Event again;
    again.kind = EventKind::kClientNext;  // reuse: a short back-off, then the same operation again
    again.op = e.op;
    again.node = 1;  // marks "retry" rather than "next operation"
    again.time = now_ + 2 * kMs + random_.below(10 * kMs);
    schedule(again);
    return;
  }
  if (op.record.kind == lincheck::OpKind::kRead) op.record.value = e.read_value;
  const bool failed_cas = op.record.kind == lincheck::OpKind::kCas && !e.cas_applied;
  complete(op, failed_cas ? lincheck::Outcome::kFail : lincheck::Outcome::kOk);
}

void Simulation::complete(ClientOp& op, lincheck::Outcome outcome) {
  op.done = true;
  op.record.outcome = outcome;
  op.record.complete = outcome == lincheck::Outcome::kUnknown ? lincheck::kNever : now_;
  result_.history.operations.push_back(op.record);
  if (outcome == lincheck::Outcome::kUnknown) {
    ++result_.stats.ops_unknown;
  } else if (outcome == lincheck::Outcome::kFail) {
    ++result_.stats.ops_failed;
  } else {
    ++result_.stats.ops_ok;
    if (healed_ && !first_ok_after_heal_ && op.record.kind != lincheck::OpKind::kRead) first_ok_after_heal_ = now_;
  }
  log_line("client " + std::to_string(op.client) + " completes " + lincheck::describe(op.record));
  Event next;
  next.kind = EventKind::kClientNext;
  next.op = static_cast<std::uint64_t>(op.client);
  next.node = 0;
  next.time = now_ + random_.below(3 * kMs);
  schedule(next);
}

// ---------------------------------------------------------------------------------------------------------------
// Faults

std::string Simulation::describe_partition() const {
  std::string s;
  for (const auto& [from, to] : blocked_) s += std::to_string(from) + "-x->" + std::to_string(to) + " ";
  return s.empty() ? "none" : s;
}

void Simulation::inject_fault() {
  ++result_.stats.faults;
  std::vector<NodeId> ids;
  for (const auto& [id, n] : nodes_) ids.push_back(id);
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[random_.below(i)]);
  auto cut_both = [&](NodeId a, NodeId b) {
    blocked_.insert({a, b});
    blocked_.insert({b, a});
  };
  const std::size_t n = ids.size();
  switch (random_.below(14)) {
    case 0: {  // isolate one node
      blocked_.clear();
      for (NodeId other : ids) {
        if (other != ids[0]) cut_both(ids[0], other);
      }
      log_line("fault: isolate node " + std::to_string(ids[0]));
      break;
    }
    case 1: {  // split into a minority and a majority
      blocked_.clear();
      const std::size_t minority = 1 + random_.below(n / 2);
      for (std::size_t i = 0; i < minority; ++i) {
        for (std::size_t j = minority; j < n; ++j) cut_both(ids[i], ids[j]);
      }
      log_line("fault: partition " + describe_partition());
      break;
    }
    case 2: {  // majorities ring: each node reaches only its ring neighbours
      blocked_.clear();
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
          const std::size_t d = std::min(j - i, n - (j - i));
          if (d > 1) cut_both(ids[i], ids[j]);
        }
      }
      log_line("fault: majorities ring " + describe_partition());
      break;
    }
    case 3: {  // asymmetric: one node's outbound messages are lost, its inbound arrive
      blocked_.clear();
      for (NodeId other : ids) {
        if (other != ids[0]) blocked_.insert({ids[0], other});
      }
      log_line("fault: asymmetric, node " + std::to_string(ids[0]) + " cannot send");
      break;
    }
    case 4:
    case 5:
      blocked_.clear();
      log_line("fault: heal partitions");
      break;
    case 12:
    case 13:
    case 6: {  // crash, preferring a node caught in the middle of a write (power loss mid-fsync)
      NodeId pick = ids[0];
      for (NodeId id : ids) {
        if (nodes_.at(id).up && nodes_.at(id).in_flight) pick = id;
      }
      Node& victim = nodes_.at(pick);
      if (victim.up) {
        crash(victim);
        log_line("fault: crash node " + std::to_string(victim.id));
      }
      break;
    }
    case 7: {  // restart any crashed node
      for (auto& [id, node] : nodes_) {
        if (!node.up) {
          restart(node);
          log_line("fault: restart node " + std::to_string(id));
          break;
        }
      }
      break;
    }
    case 8: {  // pause or resume
      Node& node = nodes_.at(ids[0]);
      if (!node.up || options_.lease_reads) break;
      node.paused = !node.paused;
      log_line(std::string("fault: ") + (node.paused ? "pause" : "resume") + " node " + std::to_string(node.id));
      if (!node.paused) {
        std::vector<Event> deferred;
        deferred.swap(node.deferred);
        for (Event& e : deferred) {
          e.time = now_;
          schedule(e);
        }
        Event tick;
        tick.kind = EventKind::kTick;
        tick.node = node.id;
        tick.incarnation = ++node.incarnation;
        tick.time = now_ + node.tick_period;
        schedule(tick);
        // A SyncDone of the old incarnation may have been skipped: re-arm it.
        if (node.in_flight) {
          Event done;
          done.kind = EventKind::kSyncDone;
          done.node = node.id;
          done.incarnation = node.incarnation;
          done.time = now_ + 100;
          schedule(done);
        }
      }
      break;
    }
    case 9:  // a lossy, duplicating network
      loss_per_million_ = random_.below(200000);
      duplicate_per_million_ = random_.below(50000);
      log_line("fault: loss " + std::to_string(loss_per_million_ / 10000) + "% duplication " +
               std::to_string(duplicate_per_million_ / 10000) + "%");
      break;
    case 10: {  // clock skew: this node's ticks run faster or slower
      if (options_.lease_reads) break;
      Node& node = nodes_.at(ids[0]);
      node.tick_period = (5 + random_.below(16)) * kMs;
      log_line("fault: node " + std::to_string(node.id) + " ticks every " + std::to_string(node.tick_period / kMs) + "ms");
      break;
    }
    case 11:
      loss_per_million_ = 0;
      duplicate_per_million_ = 0;
      log_line("fault: network quality restored");
      break;
  }
  if (options_.churn && random_.chance(350000)) change_membership();
}

Raft* Simulation::current_leader() {
  Raft* leader = nullptr;
  for (auto& [id, n] : nodes_) {
    if (n.up && !n.paused && n.raft->role() == Role::kLeader && (!leader || n.raft->term() > leader->term())) {
      leader = n.raft.get();
    }
  }
  return leader;
}

void Simulation::change_membership() {
  Raft* leader = current_leader();
  if (!leader || leader->configuration_change_pending()) return;
  const Configuration& now = leader->configuration();
  std::vector<NodeId> outsiders, voters = now.voters;
  for (const auto& [id, n] : nodes_) {
    if (!now.is_member(id)) outsiders.push_back(id);
  }
  Configuration target = now;
  std::string what;
  const std::uint64_t kind = random_.below(3);
  if (kind == 0 && !outsiders.empty()) {
    const NodeId add = outsiders[random_.below(outsiders.size())];
    target.learners.push_back(add);
    std::sort(target.learners.begin(), target.learners.end());
    what = "add learner " + std::to_string(add);
  } else if (kind == 1 && voters.size() > 3) {
    const NodeId remove = voters[random_.below(voters.size())];  // possibly the leader itself
    target.voters.erase(std::find(target.voters.begin(), target.voters.end(), remove));
    what = "remove voter " + std::to_string(remove);
  } else if (kind == 2 && !outsiders.empty()) {
    // Replace: one voter out, an outsider in as a voter at once: two voters change, so a joint configuration.
    const NodeId remove = voters[random_.below(voters.size())];
    const NodeId add = outsiders[random_.below(outsiders.size())];
    target.voters.erase(std::find(target.voters.begin(), target.voters.end(), remove));
    target.voters.push_back(add);
    std::sort(target.voters.begin(), target.voters.end());
    what = "replace voter " + std::to_string(remove) + " with " + std::to_string(add);
  } else {
    return;
  }
  Proposal p = leader->propose_configuration(target);
  log_line("churn: node " + std::to_string(leader->id()) + " proposes " + what + " (" + target.to_string() + "): " +
           (p.status.is_ok() ? "accepted at " + std::to_string(p.index) : p.status.to_string()));
  if (p.status.is_ok()) {
    ++result_.stats.configuration_changes;
    process_ready(nodes_.at(leader->id()));
  }
}

void Simulation::heal_everything() {
  blocked_.clear();
  loss_per_million_ = 0;
  duplicate_per_million_ = 0;
  for (auto& [id, node] : nodes_) {
    node.tick_period = 10 * kMs;
    if (!node.up) restart(node);
    if (node.paused) {
      node.paused = false;
      for (Event& e : node.deferred) {
        e.time = now_;
        schedule(e);
      }
      node.deferred.clear();
      Event tick;
      tick.kind = EventKind::kTick;
      tick.node = id;
      tick.incarnation = ++node.incarnation;
      tick.time = now_ + node.tick_period;
      schedule(tick);
      if (node.in_flight) {
        Event done;
        done.kind = EventKind::kSyncDone;
        done.node = id;
        done.incarnation = node.incarnation;
        done.time = now_ + 100;
        schedule(done);
      }
    }
  }
  healed_ = true;
  healed_at_ = now_;
  log_line("heal: all faults cleared; liveness phase");
}

// ---------------------------------------------------------------------------------------------------------------

SimResult Simulation::run() {
  const int node_count = options_.nodes ? options_.nodes : (random_.below(2) ? 5 : 3);
  if (options_.snapshots) {
    // Drawn from their own stream, so enabling snapshots leaves the fault schedule of a seed unchanged.
    Random snapshot_random(options_.seed ^ 0x5a5a5a5a5a5a5a5aull);
    snapshot_every_ = 3 + snapshot_random.below(30);
    trailing_entries_ = snapshot_random.below(8);
  }
  Configuration c;
  for (int i = 1; i <= node_count; ++i) c.voters.push_back(static_cast<NodeId>(i));
  if (options_.churn) {
    // Spares: empty logs, no configuration. They do nothing until a leader adds them.
    for (NodeId id = static_cast<NodeId>(node_count) + 1; id <= static_cast<NodeId>(node_count) + 2; ++id) {
      Node& n = nodes_[id];
      n.id = id;
      n.tick_period = options_.lease_reads ? 10 * kMs : (9 + random_.below(3)) * kMs;
      start_node(n);
    }
  }
  for (NodeId id : c.voters) {
    Node& n = nodes_[id];
    n.id = id;
    // Every node starts from the same bootstrap entry (hashicorp/raft's BootstrapCluster does the same).
    LogWrite boot;
    boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(c)}};
    boot.hard_state = HardState{1, kNoNode, 0};
    if (!n.log.write(boot).is_ok()) fail("bootstrap write failed");
    n.tick_period = options_.lease_reads ? 10 * kMs : (9 + random_.below(3)) * kMs;
    start_node(n);
  }
  for (int client = 0; client < options_.clients; ++client) {
    Event e;
    e.kind = EventKind::kClientNext;
    e.op = static_cast<std::uint64_t>(client);
    e.time = 50 * kMs + random_.below(10 * kMs);
    schedule(e);
  }
  const Micros fault_end = options_.fault_phase_ms * kMs;
  const Micros end = fault_end + options_.liveness_phase_ms * kMs;
  for (Micros t = 100 * kMs + random_.below(300 * kMs); t < fault_end; t += 30 * kMs + random_.below(400 * kMs)) {
    Event f;
    f.kind = EventKind::kFault;
    f.time = t;
    schedule(f);
  }
  Event heal;
  heal.kind = EventKind::kFault;
  heal.op = kFaultHeal;
  heal.time = fault_end;
  schedule(heal);

  while (!queue_.empty() && result_.ok) {
    Event e = queue_.top();
    queue_.pop();
    if (e.time > end) break;
    now_ = e.time;
    if (++result_.stats.events > kEventLimit) {
      // A run takes tens of thousands of events; millions mean messages multiplying without progress.
      fail("event storm: more than " + std::to_string(kEventLimit) + " events by " + std::to_string(now_ / kMs) +
           " ms (messages multiply without progress)");
      break;
    }
    switch (e.kind) {
      case EventKind::kFault:
        if (e.op == kFaultHeal) {
          heal_everything();
        } else if (e.op == kFaultMajorityPowerLoss) {
          majority_power_loss();
        } else if (e.op == kFaultRestart) {
          if (Node& n = nodes_.at(e.node); !n.up) {
            restart(n);
            log_line("fault: restart node " + std::to_string(n.id));
          }
        } else if (!healed_) {
          inject_fault();
        }
        break;
      case EventKind::kClientNext:
        if (e.node == 1) {
          client_attempt(e.op);
        } else {
          client_next(static_cast<int>(e.op));
        }
        break;
      case EventKind::kClientReply: client_reply(e); break;
      case EventKind::kClientTimeout: {
        ClientOp& op = ops_.at(e.op);
        if (!op.done) {
          // Unknown outcome: it may have been applied, or may still be. Never counted as a failure.
          complete(op, lincheck::Outcome::kUnknown);
        }
        break;
      }
      default: handle_node_event(nodes_.at(e.node), e); break;
    }
    if (result_.stats.events % 500 == 0) {
      std::vector<const Raft*> live;
      for (const auto& [id, n] : nodes_) {
        if (n.up) live.push_back(n.raft.get());
      }
      check(invariants_.full_log_matching(live));
      for (const Raft* r : live) r->log().check_entries();
    }
  }
  if (!result_.ok) return finish();

  // Operations still open at the end have unknown outcomes.
  for (auto& [id, op] : ops_) {
    if (!op.done) {
      op.done = true;
      op.record.outcome = lincheck::Outcome::kUnknown;
      op.record.complete = lincheck::kNever;
      result_.history.operations.push_back(op.record);
      ++result_.stats.ops_unknown;
    }
  }
  return finish();
}

SimResult Simulation::finish() {
  for (const auto& [id, n] : nodes_) {
    if (n.up) log_line("end: " + n.raft->describe());
  }
  if (result_.ok && healed_) {
    if (!first_ok_after_heal_ || *first_ok_after_heal_ > healed_at_ + options_.liveness_bound_ms * kMs) {
      fail("liveness: no write completed within " + std::to_string(options_.liveness_bound_ms) + "ms of healing");
    }
    const Raft* leader = nullptr;
    Index max_commit = 0;
    for (const auto& [id, n] : nodes_) {
      if (n.raft->role() == Role::kLeader && (!leader || n.raft->term() > leader->term())) leader = n.raft.get();
      max_commit = std::max(max_commit, n.raft->log().committed());
    }
    if (!leader) fail("liveness: no leader at the end of the healed phase");
    for (const auto& [id, n] : nodes_) {
      if (leader && !leader->configuration().is_member(id)) continue;  // removed or never added
      if (result_.ok && n.raft->log().applied() != max_commit) {
        fail("liveness: node " + std::to_string(id) + " applied " + std::to_string(n.raft->log().applied()) +
             " of " + std::to_string(max_commit) + " committed entries after healing");
      }
    }
  }
  if (result_.ok) {
    std::vector<const Raft*> live;
    for (const auto& [id, n] : nodes_) {
      if (n.up) live.push_back(n.raft.get());
    }
    check(invariants_.full_log_matching(live));
    for (const auto& [index, term, payload] : acknowledged_) check(invariants_.check_acknowledged(index, term, payload));
  }
  if (result_.ok) {
    result_.history.initial = std::nullopt;
    lincheck::CheckResult r = lincheck::check(result_.history, std::chrono::seconds(30));
    if (r.verdict != lincheck::Verdict::kLinearizable) {
      fail(std::string("history is ") + lincheck::verdict_name(r.verdict) + ": " + r.detail);
    }
  }
  result_.stats.invariant_checks = invariants_.checks();
  return std::move(result_);
}

}  // namespace

SimResult run_simulation(const SimOptions& options) { return Simulation(options).run(); }

}  // namespace raftkit::sim
