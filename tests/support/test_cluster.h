// A small synchronous cluster for unit tests: real Raft cores over MemoryLogs, messages delivered by hand or until
// quiescent, with per-link drops. The full fault-injecting simulator lives in tests/sim.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "adapters/memory/memory_log.h"
#include "consensus/raft.h"

namespace raftkit::testing {

struct TestNode {
  std::unique_ptr<Raft> raft;
  MemoryLog log;
  std::vector<Entry> applied;
  std::vector<ReadState> reads;
  std::vector<std::uint64_t> dropped_reads;
  std::optional<SnapshotMeta> snapshot;  // the newest "durable" snapshot (taken here or installed from a leader)
  std::size_t restores = 0;              // snapshots installed from a leader
};

class TestCluster {
 public:
  // Nodes 1..n, all bootstrapped with the same configuration entry at index 1, term 1.
  explicit TestCluster(int n, std::function<void(RaftConfig&)> tweak = {});
  // Nodes with hand-made logs and hard states (for Figure 8 style scenarios). The configuration is all ids.
  TestCluster(const std::vector<std::pair<std::vector<Entry>, HardState>>& boots, std::function<void(RaftConfig&)> tweak = {});

  Raft& raft(NodeId id) { return *nodes_.at(id).raft; }
  TestNode& node(NodeId id) { return nodes_.at(id); }
  std::vector<NodeId> ids() const;

  // Processes every node's Ready (persisting to its MemoryLog, applying) and returns the messages produced.
  std::vector<Message> collect();
  // Delivers messages (unless the link is cut) and repeats until nothing moves.
  void stabilize();
  void deliver(const std::vector<Message>& messages);
  void tick(NodeId id, int n = 1);
  // Ticks id until it campaigns, then stabilizes; returns the leader afterwards (kNoNode if none).
  NodeId elect(NodeId id);
  NodeId leader() const;

  void isolate(NodeId id);
  void cut(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void heal() { cut_.clear(); }
  // Adds a node with an empty log and no configuration, as a peer that is about to join (it learns everything from
  // the leader).
  void add_empty_node(NodeId id);
  // Snapshots the node at its applied index and compacts, keeping `trailing` entries behind the snapshot.
  Status take_snapshot(NodeId id, Index trailing);
  // Whether an InstallSnapshot's stream "reaches" the follower; when false its leader is told the stream failed.
  void set_snapshot_streams_fail(bool fail) { snapshot_streams_fail_ = fail; }
  // Restarts a node from its durable MemoryLog (unsynced writes lost), as after a crash.
  void restart(NodeId id);

  std::size_t delivered() const { return delivered_; }

 private:
  void add_node(NodeId id, std::vector<Entry> entries, HardState hs);
  RaftConfig config_for(NodeId id) const;

  std::map<NodeId, TestNode> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::function<void(RaftConfig&)> tweak_;
  std::size_t delivered_ = 0;
  bool snapshot_streams_fail_ = false;
};

Entry configuration_entry(const std::vector<NodeId>& voters, Index index = 1, Term term = 1);

}  // namespace raftkit::testing
