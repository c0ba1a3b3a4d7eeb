// Membership changes (Raft thesis chapter 4): single-server changes, joint consensus, learners and their automatic
// promotion, the rules that refuse overlapping changes, leader removal, and removed nodes that cannot disrupt.
#include <catch2/catch.hpp>

#include "tests/support/test_cluster.h"

namespace {

using namespace raftkit;
using raftkit::testing::TestCluster;

Configuration config(std::vector<NodeId> voters, std::vector<NodeId> learners = {}) {
  Configuration c;
  c.voters = std::move(voters);
  c.learners = std::move(learners);
  return c;
}

void settle(TestCluster& c, NodeId leader) {
  for (int i = 0; i < 4; ++i) {
    c.stabilize();
    c.tick(leader, 2);
  }
  c.stabilize();
}

TEST_CASE("a learner receives the log without voting, then a single-server change promotes it", "[membership]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 5; ++i) REQUIRE(c.raft(1).propose("x").status.is_ok());
  c.add_empty_node(4);
  CHECK_FALSE(c.raft(4).configuration().is_member(4));
  Proposal p = c.raft(1).propose_configuration(config({1, 2, 3}, {4}));
  REQUIRE(p.status.is_ok());
  settle(c, 1);
  CHECK(c.raft(4).configuration() == config({1, 2, 3}, {4}));
  CHECK(c.raft(4).log().last_index() == c.raft(1).log().last_index());
  CHECK(c.raft(4).log().committed() == c.raft(1).log().committed());
  CHECK(c.raft(1).progress(4) != nullptr);
  // A learner never campaigns.
  c.tick(4, 100);
  CHECK(c.raft(4).role() == Role::kFollower);
  REQUIRE(c.raft(1).propose_configuration(config({1, 2, 3, 4})).status.is_ok());
  settle(c, 1);
  for (NodeId id : c.ids()) CHECK(c.raft(id).configuration() == config({1, 2, 3, 4}));
  CHECK_FALSE(c.raft(1).configuration_change_pending());
}

TEST_CASE("a caught-up learner is promoted automatically", "[membership]") {
  TestCluster c(3, [](RaftConfig& rc) { rc.promote_learners_within = 10; });
  REQUIRE(c.elect(1) == 1);
  c.add_empty_node(4);
  REQUIRE(c.raft(1).propose_configuration(config({1, 2, 3}, {4})).status.is_ok());
  settle(c, 1);
  CHECK(c.raft(1).configuration() == config({1, 2, 3, 4}));
  CHECK(c.raft(4).configuration().is_voter(4));
}

TEST_CASE("joint consensus: replacing two voters needs both majorities, then leaves the joint configuration",
          "[membership][joint]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.add_empty_node(4);
  c.add_empty_node(5);
  // 4 and 5 are unreachable: the joint entry gets acknowledgements from all of {1,2,3} but only one of {1,4,5}.
  c.isolate(4);
  c.isolate(5);
  Proposal p = c.raft(1).propose_configuration(config({1, 4, 5}));
  REQUIRE(p.status.is_ok());
  CHECK(c.raft(1).configuration().is_joint());
  CHECK(c.raft(1).configuration().voters_outgoing == std::vector<NodeId>{1, 2, 3});
  c.stabilize();  // no ticks: with {1,4,5} out of reach check-quorum would rightly depose the leader
  CHECK(c.raft(1).log().committed() < p.index);
  CHECK(c.raft(1).configuration_change_pending());
  CHECK(c.raft(1).propose_configuration(config({1, 2})).status.code() == ErrorCode::kDropped);
  c.heal();
  settle(c, 1);
  // Committed, then left: the final configuration is in effect and committed everywhere that matters.
  CHECK(c.raft(1).log().committed() > p.index);
  CHECK(c.raft(1).configuration() == config({1, 4, 5}));
  CHECK_FALSE(c.raft(1).configuration_change_pending());
  CHECK(c.raft(4).configuration() == config({1, 4, 5}));
  CHECK(c.raft(5).log().committed() == c.raft(1).log().committed());
  CHECK(c.raft(1).progress(2) == nullptr);
}

TEST_CASE("a change is refused while another is uncommitted", "[membership]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  c.isolate(2);
  c.isolate(3);
  REQUIRE(c.raft(1).propose_configuration(config({1, 2, 3}, {4})).status.is_ok());
  Proposal second = c.raft(1).propose_configuration(config({1, 2, 3}, {5}));
  CHECK(second.status.code() == ErrorCode::kDropped);
  CHECK(second.status.message().find("in progress") != std::string::npos);
}

TEST_CASE("a new leader proposes no change before committing an entry of its own term", "[membership]") {
  TestCluster c(1);
  for (int i = 0; i < 100 && c.raft(1).role() != Role::kLeader; ++i) c.raft(1).tick();
  REQUIRE(c.raft(1).role() == Role::kLeader);
  Proposal early = c.raft(1).propose_configuration(config({1}, {2}));
  CHECK(early.status.code() == ErrorCode::kDropped);
  c.stabilize();  // the no-op is persisted and commits
  CHECK(c.raft(1).propose_configuration(config({1}, {2})).status.is_ok());
}

TEST_CASE("invalid targets are refused", "[membership]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  CHECK(c.raft(1).propose_configuration(config({})).status.code() == ErrorCode::kInvalidArgument);
  CHECK(c.raft(1).propose_configuration(config({1, 2}, {2})).status.code() == ErrorCode::kInvalidArgument);
  // Demoting a voter in a joint change would make it both an outgoing voter and a learner.
  CHECK(c.raft(1).propose_configuration(config({1, 4, 5}, {2})).status.code() == ErrorCode::kInvalidArgument);
  CHECK(c.raft(2).propose_configuration(config({1, 2})).status.code() == ErrorCode::kNotLeader);
}

TEST_CASE("a leader that removes itself hands over and steps down once the change commits", "[membership]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  Proposal p = c.raft(1).propose_configuration(config({2, 3}));
  REQUIRE(p.status.is_ok());
  CHECK(c.raft(1).role() == Role::kLeader);  // it still leads until the change commits
  settle(c, 2);
  CHECK(c.raft(1).role() == Role::kFollower);
  const NodeId next = c.leader();
  REQUIRE((next == 2 || next == 3));
  CHECK(c.raft(next).configuration() == config({2, 3}));
  // The cluster goes on without it.
  REQUIRE(c.raft(next).propose("after").status.is_ok());
  settle(c, next);
  CHECK(c.raft(next == 2 ? 3 : 2).log().committed() == c.raft(next).log().committed());
  // And it never campaigns again.
  const Term before = c.raft(next).term();
  c.tick(1, 100);
  c.stabilize();
  CHECK(c.raft(next).term() == before);
  CHECK(c.raft(next).role() == Role::kLeader);
}

TEST_CASE("a removed node that never learned of its removal cannot disrupt the cluster", "[membership]") {
  for (bool pre_vote : {true, false}) {
    INFO("pre_vote " << pre_vote);
    TestCluster c(3, [&](RaftConfig& rc) { rc.pre_vote = pre_vote; });
    REQUIRE(c.elect(1) == 1);
    c.isolate(3);
    REQUIRE(c.raft(1).propose_configuration(config({1, 2})).status.is_ok());
    settle(c, 1);
    CHECK(c.raft(3).configuration().is_voter(3));  // it still thinks it belongs
    c.heal();
    const Term before = c.raft(1).term();
    for (int i = 0; i < 10; ++i) {
      c.tick(3, 30);  // it times out and campaigns again and again
      c.stabilize();
    }
    CHECK(c.raft(1).term() == before);
    CHECK(c.raft(1).role() == Role::kLeader);
    CHECK(c.raft(2).term() == before);
  }
}

TEST_CASE("a joining node behind the compaction point catches up by snapshot, configuration included",
          "[membership][snapshot]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 30; ++i) REQUIRE(c.raft(1).propose("x").status.is_ok());
  settle(c, 1);
  for (NodeId id : {1, 2, 3}) REQUIRE(c.take_snapshot(id, 2).is_ok());
  c.add_empty_node(4);
  Configuration target = config({1, 2, 3}, {4});
  target.metadata = "addresses";
  REQUIRE(c.raft(1).propose_configuration(target).status.is_ok());
  settle(c, 1);
  CHECK(c.node(4).restores == 1);
  CHECK(c.raft(4).configuration() == target);
  CHECK(c.raft(4).log().committed() == c.raft(1).log().committed());
}

}  // namespace
