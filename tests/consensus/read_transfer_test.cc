// Linearizable reads (ReadIndex and lease) and leadership transfer, with their edge cases.
#include <catch2/catch.hpp>

#include "tests/support/test_cluster.h"

namespace {

using namespace raftkit;
using raftkit::testing::TestCluster;

TEST_CASE("ReadIndex: a read is released after a quorum confirms leadership", "[read]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.raft(1).propose("x").status.is_ok());
  c.stabilize();
  REQUIRE(c.raft(1).read_index(7).is_ok());
  auto rd = c.raft(1).ready();
  CHECK(rd.read_states.empty());  // not before the heartbeat round
  int heartbeats = 0;
  for (const Message& m : rd.messages) heartbeats += m.type == MessageType::kHeartbeat && m.context != 0;
  CHECK(heartbeats == 2);
  c.raft(1).advance(rd);
  c.deliver(rd.messages);
  c.stabilize();
  REQUIRE(c.node(1).reads.size() == 1);
  CHECK(c.node(1).reads[0].context == 7);
  CHECK(c.node(1).reads[0].index == 3);
}

TEST_CASE("ReadIndex: a leader cut off from the quorum never serves the read", "[read]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(1);
  REQUIRE(c.raft(1).read_index(9).is_ok());
  for (int i = 0; i < 30; ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(c.node(1).reads.empty());
  // Once it steps down the read is reported as dropped, so the client hears "not leader", not silence.
  CHECK(c.raft(1).role() != Role::kLeader);
  REQUIRE(c.node(1).dropped_reads.size() == 1);
  CHECK(c.node(1).dropped_reads[0] == 9);
}

TEST_CASE("ReadIndex: a new leader serves reads only after committing an entry of its term", "[read]") {
  TestCluster c(3);
  for (int i = 0; i < 100 && c.raft(1).role() == Role::kFollower; ++i) c.tick(1);
  for (int i = 0; i < 10 && c.raft(1).role() != Role::kLeader; ++i) c.deliver(c.collect());
  REQUIRE(c.raft(1).role() == Role::kLeader);
  REQUIRE(c.raft(1).log().committed() == 0);
  REQUIRE(c.raft(1).read_index(5).is_ok());
  c.stabilize();
  c.tick(1);
  c.stabilize();
  REQUIRE(c.node(1).reads.size() == 1);
  CHECK(c.node(1).reads[0].index >= 2);  // at least the new leader's no-op
}

TEST_CASE("ReadIndex: followers refuse reads with a leader hint, context 0 is invalid", "[read]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  CHECK(c.raft(2).read_index(1).code() == ErrorCode::kNotLeader);
  CHECK(c.raft(1).read_index(0).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("lease reads are served without a heartbeat round while a quorum acknowledged recently", "[read]") {
  TestCluster c(3, [](RaftConfig& cfg) { cfg.read_mode = ReadMode::kLeaseBased; });
  REQUIRE(c.elect(1) == 1);
  c.tick(1);  // a heartbeat round establishes the lease
  c.stabilize();
  REQUIRE(c.raft(1).read_index(3).is_ok());
  auto rd = c.raft(1).ready();
  REQUIRE(rd.read_states.size() == 1);
  CHECK(rd.read_states[0].index == 2);
  c.raft(1).advance(rd);
  RaftConfig bad;
  bad.id = 1;
  bad.read_mode = ReadMode::kLeaseBased;
  bad.check_quorum = false;
  CHECK(bad.validate().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("lease reads fall back to ReadIndex once the lease has run out", "[read]") {
  TestCluster c(3, [](RaftConfig& cfg) { cfg.read_mode = ReadMode::kLeaseBased; });
  REQUIRE(c.elect(1) == 1);
  c.tick(1);
  c.stabilize();
  c.isolate(1);
  for (int i = 0; i < 9; ++i) {  // election_ticks - 1 ticks without an acknowledgement
    c.tick(1);
    c.stabilize();
  }
  REQUIRE(c.raft(1).role() == Role::kLeader);
  REQUIRE(c.raft(1).read_index(4).is_ok());
  c.stabilize();
  CHECK(c.node(1).reads.empty());  // waits for a quorum that cannot answer
}

TEST_CASE("lease reads fall back to ReadIndex during a leadership transfer", "[read][transfer]") {
  TestCluster c(3, [](RaftConfig& cfg) { cfg.read_mode = ReadMode::kLeaseBased; });
  REQUIRE(c.elect(1) == 1);
  c.tick(1);
  c.stabilize();
  c.isolate(2);
  REQUIRE(c.raft(1).transfer_leadership(2).is_ok());
  REQUIRE(c.raft(1).read_index(5).is_ok());
  auto rd = c.raft(1).ready();
  CHECK(rd.read_states.empty());
  c.raft(1).advance(rd);
}

TEST_CASE("ReadIndex: a reused context cannot be confirmed by an older round", "[read]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.raft(1).read_index(7).is_ok());
  auto first = c.collect();  // heartbeats of round 1, held back
  c.stabilize();
  REQUIRE(c.raft(1).read_index(7).is_ok());  // the same context again, for a new read
  c.collect();  // round 2's heartbeats are dropped
  c.deliver(first);
  c.deliver(c.collect());  // the answers to round 1
  c.collect();
  // Round 1 releases the first read only; the second waits for its own round.
  CHECK(c.node(1).reads.size() == 1);
}

TEST_CASE("transfer: to an up-to-date follower", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  const Term term = c.raft(1).term();
  REQUIRE(c.raft(1).transfer_leadership(2).is_ok());
  c.stabilize();
  CHECK(c.leader() == 2);
  CHECK(c.raft(2).term() == term + 1);
  CHECK(c.raft(1).role() == Role::kFollower);
}

TEST_CASE("transfer: a lagging target is caught up first", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.cut(1, 3);
  for (int i = 0; i < 5; ++i) REQUIRE(c.raft(1).propose("x").status.is_ok());
  c.stabilize();
  c.heal();
  REQUIRE(c.raft(1).progress(3)->match < c.raft(1).log().last_index());
  REQUIRE(c.raft(1).transfer_leadership(3).is_ok());
  c.stabilize();
  c.tick(1);
  c.stabilize();
  CHECK(c.leader() == 3);
  CHECK(c.raft(3).log().committed() >= 7);
}

TEST_CASE("transfer: proposals are dropped while it is in progress", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  REQUIRE(c.raft(1).transfer_leadership(3).is_ok());
  Proposal p = c.raft(1).propose("x");
  CHECK(p.status.code() == ErrorCode::kDropped);
}

TEST_CASE("transfer: an unreachable target times out and the leader carries on", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  REQUIRE(c.raft(1).transfer_leadership(3).is_ok());
  CHECK(c.raft(1).transfer_target() == 3);
  for (int i = 0; i < 11; ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(c.raft(1).transfer_target() == kNoNode);
  CHECK(c.raft(1).role() == Role::kLeader);
  CHECK(c.raft(1).propose("y").status.is_ok());
}

TEST_CASE("transfer: to itself, to a non-member, from a follower", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  CHECK(c.raft(1).transfer_leadership(1).is_ok());
  CHECK(c.raft(1).role() == Role::kLeader);
  CHECK(c.raft(1).transfer_leadership(9).code() == ErrorCode::kInvalidArgument);
  CHECK(c.raft(2).transfer_leadership(3).code() == ErrorCode::kNotLeader);
}

TEST_CASE("transfer: a newer request replaces an older one", "[transfer]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  REQUIRE(c.raft(1).transfer_leadership(3).is_ok());
  c.heal();
  REQUIRE(c.raft(1).transfer_leadership(2).is_ok());
  CHECK(c.raft(1).transfer_target() == 2);
  c.stabilize();
  CHECK(c.leader() == 2);
}

TEST_CASE("transfer: the target campaigns even inside the followers' leader lease", "[transfer]") {
  TestCluster c(5);
  REQUIRE(c.elect(1) == 1);
  // Followers just heard from the leader (lease active), yet the forced vote goes through.
  REQUIRE(c.raft(1).transfer_leadership(4).is_ok());
  c.stabilize();
  CHECK(c.leader() == 4);
}

}  // namespace
