#include "tests/support/test_cluster.h"

#include <stdexcept>

namespace raftkit::testing {

Entry configuration_entry(const std::vector<NodeId>& voters, Index index, Term term) {
  Configuration c;
  c.voters = voters;
  return Entry{index, term, EntryKind::kConfiguration, encode_configuration(c)};
}

TestCluster::TestCluster(int n, std::function<void(RaftConfig&)> tweak) : tweak_(std::move(tweak)) {
  std::vector<NodeId> voters;
  for (int i = 1; i <= n; ++i) voters.push_back(static_cast<NodeId>(i));
  for (NodeId id : voters) add_node(id, {configuration_entry(voters)}, HardState{1, kNoNode, 0});
}

TestCluster::TestCluster(const std::vector<std::pair<std::vector<Entry>, HardState>>& boots,
                         std::function<void(RaftConfig&)> tweak)
    : tweak_(std::move(tweak)) {
  NodeId id = 1;
  for (const auto& [entries, hs] : boots) add_node(id++, entries, hs);
}

RaftConfig TestCluster::config_for(NodeId id) const {
  RaftConfig c;
  c.id = id;
  c.seed = 42;
  if (tweak_) tweak_(c);
  return c;
}

void TestCluster::add_node(NodeId id, std::vector<Entry> entries, HardState hs) {
  TestNode& node = nodes_[id];
  LogWrite w;
  w.entries = entries;
  w.hard_state = hs;
  if (!node.log.write(w).is_ok()) throw std::runtime_error("bad boot log for test node");
  restart(id);
}

void TestCluster::restart(NodeId id) {
  TestNode& node = nodes_.at(id);
  node.log.crash();
  BootState boot;
  boot.hard_state = node.log.hard_state();
  boot.log_start = node.log.snapshot_meta();
  boot.entries = node.log.read(node.log.first_index(), node.log.last_index() + 1, UINT64_MAX).value();
  boot.snapshot = node.snapshot;
  auto raft = Raft::create(config_for(id), std::move(boot));
  if (!raft.is_ok()) throw std::runtime_error(raft.status().to_string());
  node.raft = std::move(raft).value();
  node.applied.clear();
}

void TestCluster::add_empty_node(NodeId id) {
  nodes_[id];
  restart(id);
}

Status TestCluster::take_snapshot(NodeId id, Index trailing) {
  TestNode& node = nodes_.at(id);
  const Index applied = node.raft->log().applied();
  SnapshotMeta meta{applied, node.raft->log().term(applied).value_or(0), node.raft->configuration()};
  Result<std::optional<SnapshotMeta>> compaction = node.raft->snapshot_taken(meta, trailing);
  if (!compaction.is_ok()) return compaction.status();
  node.snapshot = meta;
  if (compaction.value()) return node.log.compact(*compaction.value());
  return Status::ok();
}

std::vector<NodeId> TestCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

std::vector<Message> TestCluster::collect() {
  std::vector<Message> out;
  for (auto& [id, node] : nodes_) {
    while (node.raft->has_ready()) {
      Ready rd = node.raft->ready();
      out.insert(out.end(), rd.messages.begin(), rd.messages.end());
      if (rd.snapshot) {
        node.snapshot = rd.snapshot;
        ++node.restores;
        Status s = node.log.compact(*rd.snapshot);
        if (!s.is_ok()) throw std::runtime_error("compaction to an installed snapshot failed: " + s.to_string());
      }
      LogWrite w;
      if (!rd.entries.empty()) w.truncate_after = rd.entries.front().index - 1;
      w.entries = rd.entries;
      w.hard_state = rd.hard_state;
      if (!w.empty()) {
        Status s = node.log.write(w);
        if (!s.is_ok()) throw std::runtime_error("persist failed: " + s.to_string());
      }
      out.insert(out.end(), rd.messages_after_persist.begin(), rd.messages_after_persist.end());
      node.applied.insert(node.applied.end(), rd.committed.begin(), rd.committed.end());
      node.reads.insert(node.reads.end(), rd.read_states.begin(), rd.read_states.end());
      node.dropped_reads.insert(node.dropped_reads.end(), rd.dropped_reads.begin(), rd.dropped_reads.end());
      node.raft->advance(rd);
    }
  }
  return out;
}

void TestCluster::deliver(const std::vector<Message>& messages) {
  for (const Message& m : messages) {
    if (cut_.count({m.from, m.to}) || !nodes_.count(m.to)) continue;
    ++delivered_;
    if (m.type == MessageType::kInstallSnapshot && snapshot_streams_fail_) {
      nodes_.at(m.from).raft->report_snapshot(m.to, false);
      continue;
    }
    Status s = nodes_.at(m.to).raft->step(m);
    if (!s.is_ok()) throw std::runtime_error("step failed: " + s.to_string());
    if (m.type == MessageType::kInstallSnapshot) nodes_.at(m.from).raft->report_snapshot(m.to, true);
  }
}

void TestCluster::stabilize() {
  for (int round = 0; round < 10000; ++round) {
    std::vector<Message> msgs = collect();
    if (msgs.empty()) return;
    deliver(msgs);
  }
  throw std::runtime_error("cluster did not stabilize");
}

void TestCluster::tick(NodeId id, int n) {
  for (int i = 0; i < n; ++i) raft(id).tick();
}

NodeId TestCluster::elect(NodeId id) {
  for (int i = 0; i < 100 && raft(id).role() == Role::kFollower; ++i) raft(id).tick();
  stabilize();
  return leader();
}

NodeId TestCluster::leader() const {
  NodeId found = kNoNode;
  Term best = 0;
  for (const auto& [id, node] : nodes_) {
    if (node.raft->role() == Role::kLeader && node.raft->term() >= best) {
      found = id;
      best = node.raft->term();
    }
  }
  return found;
}

void TestCluster::isolate(NodeId id) {
  for (const auto& [other, node] : nodes_) {
    if (other == id) continue;
    cut(id, other);
    cut(other, id);
  }
}

}  // namespace raftkit::testing
