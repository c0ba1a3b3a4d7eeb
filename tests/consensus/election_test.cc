// Leader election: Raft paper Figure 2 (RequestVote, Rules for Servers), 5.2, 5.4.1, pre-vote and check-quorum.
#include <catch2/catch.hpp>

#include "tests/support/test_cluster.h"

namespace {

using namespace raftkit;
using raftkit::testing::TestCluster;

Message vote_request(NodeId from, NodeId to, Term term, Index last_index, Term last_term, bool pre = false) {
  Message m;
  m.type = pre ? MessageType::kPreVote : MessageType::kVote;
  m.from = from;
  m.to = to;
  m.term = term;
  m.log_index = last_index;
  m.log_term = last_term;
  return m;
}

const Message* find(const std::vector<Message>& msgs, MessageType type, NodeId to) {
  for (const Message& m : msgs) {
    if (m.type == type && m.to == to) return &m;
  }
  return nullptr;
}

TEST_CASE("a follower that hears nothing campaigns and wins a majority", "[election]") {
  TestCluster c(3);
  CHECK(c.elect(1) == 1);
  CHECK(c.raft(1).term() == 2);
  for (NodeId id : {2, 3}) {
    CHECK(c.raft(id).role() == Role::kFollower);
    CHECK(c.raft(id).leader() == 1);
    CHECK(c.raft(id).voted_for() == 1);
  }
  // The new leader's no-op (index 2, term 2) commits everywhere.
  for (NodeId id : {1, 2, 3}) {
    CHECK(c.raft(id).log().last_index() == 2);
    CHECK(c.raft(id).log().at(2).kind == EntryKind::kNoop);
    CHECK(c.raft(id).log().committed() == 2);
  }
}

TEST_CASE("election timeouts are randomized between election_ticks and twice that", "[election]") {
  TestCluster c(5);
  std::set<int> timeouts;
  for (NodeId id : c.ids()) {
    int ticks = 0;
    while (c.raft(id).role() == Role::kFollower && ticks < 100) {
      c.raft(id).tick();
      ++ticks;
    }
    CHECK(ticks >= 10);
    CHECK(ticks < 20);
    timeouts.insert(ticks);
  }
  CHECK(timeouts.size() > 1);
}

TEST_CASE("a single-node cluster elects itself at once", "[election]") {
  TestCluster c(1);
  CHECK(c.elect(1) == 1);
  auto p = c.raft(1).propose("x");
  REQUIRE(p.status.is_ok());
  c.stabilize();
  CHECK(c.raft(1).log().committed() == p.index);
}

TEST_CASE("a node grants at most one vote per term", "[election][figure2]") {
  TestCluster c(3);
  Raft& r = c.raft(3);
  REQUIRE(r.step(vote_request(1, 3, 2, 1, 1)).is_ok());
  REQUIRE(r.step(vote_request(2, 3, 2, 1, 1)).is_ok());
  auto ready = r.ready();
  REQUIRE(ready.messages_after_persist.size() == 2);
  CHECK_FALSE(ready.messages_after_persist[0].reject);
  CHECK(ready.messages_after_persist[1].reject);
  // The vote is part of the hard state persisted before the response may be sent.
  REQUIRE(ready.hard_state);
  CHECK(ready.hard_state->voted_for == 1);
  CHECK(ready.hard_state->term == 2);
  r.advance(ready);
  // The same candidate asking again gets the same answer (idempotent under duplication).
  REQUIRE(r.step(vote_request(1, 3, 2, 1, 1)).is_ok());
  auto again = r.ready();
  CHECK_FALSE(find(again.messages_after_persist, MessageType::kVoteResponse, 1)->reject);
}

TEST_CASE("a vote is denied to a candidate whose log is less up to date (5.4.1)", "[election][figure2]") {
  using raftkit::testing::configuration_entry;
  std::vector<Entry> longer = {configuration_entry({1, 2, 3}), Entry{2, 2, EntryKind::kNormal, "a"}};
  std::vector<Entry> shorter = {configuration_entry({1, 2, 3})};
  TestCluster c({{longer, HardState{2, 0, 0}}, {shorter, HardState{2, 0, 0}}, {longer, HardState{2, 0, 0}}});
  // Node 2 (older last term) asks for votes at term 3.
  REQUIRE(c.raft(1).step(vote_request(2, 1, 3, 1, 1)).is_ok());
  // Same last term but shorter log.
  REQUIRE(c.raft(3).step(vote_request(2, 3, 3, 1, 2)).is_ok());
  auto r1 = c.raft(1).ready();
  auto r3 = c.raft(3).ready();
  CHECK(find(r1.messages_after_persist, MessageType::kVoteResponse, 2)->reject);
  CHECK(find(r3.messages_after_persist, MessageType::kVoteResponse, 2)->reject);
  // The more up-to-date node wins the election.
  c.raft(1).advance(r1);
  c.raft(3).advance(r3);
  CHECK(c.elect(1) == 1);
}

TEST_CASE("a node seeing a higher term steps down and adopts it, lower terms are refused", "[election][figure2]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  Message m = vote_request(2, 1, 9, 100, 9);
  m.context = 1;  // forced (transfer), so the leader lease does not apply
  REQUIRE(c.raft(1).step(m).is_ok());
  CHECK(c.raft(1).role() == Role::kFollower);
  CHECK(c.raft(1).term() == 9);
  // A message from an older term changes nothing.
  Message stale;
  stale.type = MessageType::kAppend;
  stale.from = 3;
  stale.to = 1;
  stale.term = 2;
  stale.log_index = 1;
  stale.log_term = 1;
  REQUIRE(c.raft(1).step(stale).is_ok());
  CHECK(c.raft(1).term() == 9);
  CHECK(c.raft(1).leader() == kNoNode);
}

TEST_CASE("a candidate that loses the vote returns to follower", "[election]") {
  TestCluster c(3, [](RaftConfig& cfg) { cfg.pre_vote = false; });
  c.tick(1, 100);
  auto msgs = c.collect();
  REQUIRE(c.raft(1).role() == Role::kCandidate);
  for (NodeId voter : {2, 3}) {
    Message r;
    r.type = MessageType::kVoteResponse;
    r.from = voter;
    r.to = 1;
    r.term = c.raft(1).term();
    r.reject = true;
    REQUIRE(c.raft(1).step(r).is_ok());
  }
  CHECK(c.raft(1).role() == Role::kFollower);
}

TEST_CASE("pre-vote: a partitioned node that rejoins does not disrupt the leader", "[election][prevote]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  const Term term = c.raft(1).term();
  c.isolate(3);
  for (int i = 0; i < 200; ++i) {
    c.tick(3);
    c.stabilize();
  }
  // Without pre-vote node 3 would have bumped its term many times; with it, it never leaves its term.
  CHECK(c.raft(3).term() == term);
  CHECK(c.raft(3).role() == Role::kPreCandidate);
  c.heal();
  c.tick(1, 1);  // heartbeat
  c.stabilize();
  CHECK(c.raft(1).role() == Role::kLeader);
  CHECK(c.raft(1).term() == term);
  CHECK(c.raft(3).leader() == 1);
}

TEST_CASE("without pre-vote a rejoining node forces a new election (the problem pre-vote solves)", "[election][prevote]") {
  TestCluster c(3, [](RaftConfig& cfg) {
    cfg.pre_vote = false;
    cfg.check_quorum = false;
  });
  REQUIRE(c.elect(1) == 1);
  const Term term = c.raft(1).term();
  c.isolate(3);
  for (int i = 0; i < 50; ++i) c.tick(3);
  c.stabilize();
  CHECK(c.raft(3).term() > term);
  c.heal();
  for (int i = 0; i < 50; ++i) {
    c.tick(3);
    c.stabilize();
  }
  CHECK(c.raft(1).term() > term);  // the old leader was deposed
}

TEST_CASE("check-quorum: a leader cut off from a majority steps down", "[election][checkquorum]") {
  TestCluster c(5);
  REQUIRE(c.elect(1) == 1);
  c.isolate(1);
  for (int i = 0; i < 60; ++i) {
    for (NodeId id : c.ids()) c.tick(id);
    c.stabilize();
  }
  CHECK(c.raft(1).role() != Role::kLeader);
  // The majority side elected a new leader, which the old one follows once healed.
  const NodeId leader = c.leader();
  REQUIRE(leader != kNoNode);
  CHECK(leader != 1);
  c.heal();
  c.tick(leader, 1);
  c.stabilize();
  CHECK(c.raft(1).leader() == leader);
  CHECK(c.raft(1).term() == c.raft(leader).term());
}

TEST_CASE("check-quorum: followers ignore vote requests while their leader is alive", "[election][checkquorum]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  const Term term = c.raft(2).term();
  REQUIRE(c.raft(2).step(vote_request(3, 2, term + 1, 100, term)).is_ok());
  CHECK(c.raft(2).term() == term);
  CHECK(c.raft(2).leader() == 1);
}

TEST_CASE("a node restarted with entries newer than its hard state adopts their term, with no vote", "[election]") {
  using raftkit::testing::configuration_entry;
  std::vector<Entry> log = {configuration_entry({1, 2, 3}), Entry{2, 3, EntryKind::kNormal, "x"}};
  TestCluster c({{log, HardState{3, 0, 0}}, {log, HardState{2, 1, 0}}, {log, HardState{3, 0, 0}}});
  CHECK(c.raft(2).term() == 3);
  CHECK(c.raft(2).voted_for() == kNoNode);
}

TEST_CASE("a restarted node keeps its term and vote", "[election][figure2]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  const Term term = c.raft(2).term();
  c.restart(2);
  CHECK(c.raft(2).term() == term);
  CHECK(c.raft(2).voted_for() == 1);
  // It cannot vote for someone else in the same term.
  REQUIRE(c.raft(2).step(vote_request(3, 2, term, 100, term)).is_ok());
  auto rd = c.raft(2).ready();
  CHECK(find(rd.messages_after_persist, MessageType::kVoteResponse, 3)->reject);
}

}  // namespace
