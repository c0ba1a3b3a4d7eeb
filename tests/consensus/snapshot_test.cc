// Snapshots in the core: compaction with trailing entries, InstallSnapshot to a lagging follower, failed streams,
// restarts from a snapshot plus log (Raft thesis chapter 5).
#include <catch2/catch.hpp>

#include "tests/support/test_cluster.h"

namespace {

using namespace raftkit;
using raftkit::testing::TestCluster;

void propose_n(TestCluster& c, NodeId leader, int n, const std::string& prefix = "cmd") {
  for (int i = 0; i < n; ++i) REQUIRE(c.raft(leader).propose(prefix + std::to_string(i)).status.is_ok());
  c.stabilize();
  c.tick(leader, 2);  // a heartbeat carries the final commit index
  c.stabilize();
}

TEST_CASE("a snapshot compacts the in-memory and durable logs, keeping trailing entries", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  propose_n(c, 1, 30);
  REQUIRE(c.raft(1).log().applied() == 32);
  REQUIRE(c.take_snapshot(1, 10).is_ok());
  CHECK(c.raft(1).snapshot().last_index == 32);
  CHECK(c.raft(1).log().first_index() == 23);
  CHECK(c.node(1).log.first_index() == 23);
  CHECK(c.node(1).log.snapshot_meta().last_term == c.raft(1).log().term(22));
  CHECK(c.node(1).log.snapshot_meta().configuration == c.raft(1).configuration());
  // Nothing to do a second time; a snapshot older than the compaction point is accepted and changes nothing.
  REQUIRE(c.take_snapshot(1, 10).is_ok());
  CHECK(c.raft(1).log().first_index() == 23);
}

TEST_CASE("snapshot_taken refuses metadata the log contradicts or has not applied", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  propose_n(c, 1, 5);
  Raft& r = c.raft(1);
  const Index applied = r.log().applied();
  CHECK(r.snapshot_taken(SnapshotMeta{applied + 1, r.term(), r.configuration()}, 0).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(r.snapshot_taken(SnapshotMeta{applied, r.term() + 1, r.configuration()}, 0).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(r.snapshot_taken(SnapshotMeta{applied, r.term(), Configuration{{1, 2}, {}, {}}}, 0).status().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(r.log().first_index() == 1);
}

TEST_CASE("a follower behind the compaction point catches up by snapshot", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  propose_n(c, 1, 5);
  c.isolate(3);
  propose_n(c, 1, 40, "late");
  REQUIRE(c.take_snapshot(1, 5).is_ok());
  const SnapshotMeta snap = c.raft(1).snapshot();
  REQUIRE(c.raft(1).log().first_index() > c.raft(3).log().last_index() + 1);
  c.heal();
  propose_n(c, 1, 3, "after");
  c.tick(1, 2);
  c.stabilize();
  CHECK(c.node(3).restores == 1);
  REQUIRE(c.node(3).snapshot);
  CHECK(*c.node(3).snapshot == snap);
  CHECK(c.node(3).log.first_index() == snap.last_index + 1);
  CHECK(c.raft(3).log().applied() == c.raft(1).log().committed());
  CHECK(c.raft(3).log().last_index() == c.raft(1).log().last_index());
  // Entries after the snapshot arrived by ordinary replication and were applied individually.
  REQUIRE(!c.node(3).applied.empty());
  CHECK(c.node(3).applied.back().payload == "after2");
  CHECK(c.raft(1).progress(3)->state == Progress::State::kReplicate);
  // The follower restarts from snapshot plus log.
  c.restart(3);
  CHECK(c.raft(3).log().applied() == snap.last_index);
  CHECK(c.raft(3).configuration() == snap.configuration);
}

TEST_CASE("a follower that holds the snapshot's last entry only commits it", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  propose_n(c, 1, 5);
  const Index last = c.raft(2).log().last_index();
  Message m;
  m.type = MessageType::kInstallSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = c.raft(1).term();
  m.snapshot = SnapshotMeta{last, c.raft(2).log().last_term(), c.raft(1).configuration()};
  // The follower's commit index is behind: pretend the leader's heartbeat never came.
  REQUIRE(c.raft(2).log().committed() <= last);
  REQUIRE(c.raft(2).step(m).is_ok());
  Ready rd = c.raft(2).ready();
  CHECK_FALSE(rd.snapshot);
  REQUIRE(rd.messages_after_persist.size() == 1);
  CHECK(rd.messages_after_persist[0].log_index == last);
  CHECK(c.raft(2).log().committed() == last);
  CHECK(c.raft(2).log().first_index() == 1);
  c.raft(2).advance(rd);
}

TEST_CASE("a failed snapshot stream is retried after a heartbeat, not in a loop", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  propose_n(c, 1, 20);
  REQUIRE(c.take_snapshot(1, 0).is_ok());
  c.heal();
  c.set_snapshot_streams_fail(true);
  c.tick(1, 2);
  c.stabilize();
  CHECK(c.node(3).restores == 0);
  // After the failure the leader waits in probe for the next heartbeat answer rather than resending at once.
  CHECK(c.raft(1).progress(3)->state != Progress::State::kReplicate);
  c.set_snapshot_streams_fail(false);
  c.tick(1, 2);
  c.stabilize();
  CHECK(c.node(3).restores == 1);
  CHECK(c.raft(3).log().applied() == c.raft(1).log().committed());
}

TEST_CASE("a snapshot at or below the commit index is answered without restoring", "[snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  propose_n(c, 1, 5);
  Message m;
  m.type = MessageType::kInstallSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = c.raft(1).term();
  m.snapshot = SnapshotMeta{2, 1, c.raft(1).configuration()};
  REQUIRE(c.raft(2).step(m).is_ok());
  Ready rd = c.raft(2).ready();
  CHECK_FALSE(rd.snapshot);
  REQUIRE(rd.messages_after_persist.size() == 1);
  CHECK(rd.messages_after_persist[0].log_index == c.raft(2).log().committed());
  c.raft(2).advance(rd);
}

TEST_CASE("malformed snapshot metadata is refused", "[snapshot]") {
  TestCluster c(3);
  Message m;
  m.type = MessageType::kInstallSnapshot;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot = SnapshotMeta{10, 4, Configuration{{1, 2, 3}, {}, {}}};  // a term beyond the sender's
  CHECK(c.raft(2).step(m).code() == ErrorCode::kInvalidArgument);
  m.snapshot = SnapshotMeta{10, 2, Configuration{}};  // nobody votes
  CHECK(c.raft(2).step(m).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("boot refuses a snapshot the log does not reach", "[snapshot]") {
  RaftConfig config;
  config.id = 1;
  BootState boot;
  boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(Configuration{{1}, {}, {}})}};
  boot.snapshot = SnapshotMeta{5, 1, Configuration{{1}, {}, {}}};
  CHECK(Raft::create(config, boot).status().code() == ErrorCode::kCorruption);
  boot.snapshot = SnapshotMeta{1, 2, Configuration{{1}, {}, {}}};  // in range, but another term
  CHECK(Raft::create(config, boot).status().code() == ErrorCode::kCorruption);
  boot.snapshot = SnapshotMeta{1, 1, Configuration{{1}, {}, {}}};
  auto raft = Raft::create(config, boot);
  REQUIRE(raft.is_ok());
  CHECK(raft.value()->log().applied() == 1);
  CHECK(raft.value()->log().committed() == 1);
}

}  // namespace
