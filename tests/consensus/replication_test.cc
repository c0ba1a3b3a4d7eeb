// Log replication and commitment: Raft paper Figure 2 (AppendEntries), 5.3, 5.4.2 / Figure 8, flow control.
#include <catch2/catch.hpp>

#include "tests/support/test_cluster.h"

namespace {

using namespace raftkit;
using raftkit::testing::configuration_entry;
using raftkit::testing::TestCluster;

Message append(NodeId from, NodeId to, Term term, Index prev_index, Term prev_term, std::vector<Entry> entries,
               Index commit) {
  Message m;
  m.type = MessageType::kAppend;
  m.from = from;
  m.to = to;
  m.term = term;
  m.log_index = prev_index;
  m.log_term = prev_term;
  m.entries = std::move(entries);
  m.commit = commit;
  return m;
}

Entry e(Index index, Term term) { return Entry{index, term, EntryKind::kNormal, "v" + std::to_string(index)}; }

TEST_CASE("proposals replicate, commit and apply in order on every node", "[replication]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 20; ++i) REQUIRE(c.raft(1).propose("cmd" + std::to_string(i)).status.is_ok());
  c.stabilize();
  c.tick(1);  // a heartbeat carries the final commit index to followers
  c.stabilize();
  for (NodeId id : c.ids()) {
    const auto& applied = c.node(id).applied;
    CHECK(c.raft(id).log().committed() == 22);
    REQUIRE(applied.size() == 22);  // configuration, no-op, 20 commands
    for (std::size_t i = 0; i < applied.size(); ++i) CHECK(applied[i].index == i + 1);
    CHECK(applied.back().payload == "cmd19");
  }
}

TEST_CASE("a proposal to a follower is refused with a leader hint", "[replication]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  Proposal p = c.raft(2).propose("x");
  CHECK(p.status.code() == ErrorCode::kNotLeader);
  CHECK(p.leader_hint == 1);
}

TEST_CASE("AppendEntries is rejected when the log lacks prev_index/prev_term", "[replication][figure2]") {
  TestCluster c(3);
  Raft& r = c.raft(2);
  REQUIRE(r.step(append(1, 2, 2, 5, 2, {e(6, 2)}, 0)).is_ok());
  auto rd = r.ready();
  REQUIRE(rd.messages_after_persist.size() == 1);
  const Message& resp = rd.messages_after_persist[0];
  CHECK(resp.type == MessageType::kAppendResponse);
  CHECK(resp.reject);
  CHECK(resp.reject_hint == 1);  // our last index: the leader can jump straight there
  CHECK(r.log().last_index() == 1);
}

TEST_CASE("a conflicting suffix is deleted and replaced, matching entries are kept", "[replication][figure2]") {
  std::vector<Entry> log = {configuration_entry({1, 2, 3}), e(2, 1), e(3, 1), e(4, 1)};
  TestCluster c({{log, HardState{1, 0, 0}}, {log, HardState{1, 0, 0}}, {log, HardState{1, 0, 0}}});
  Raft& r = c.raft(2);
  // Entry 2 matches; entry 3 conflicts (term 2): 3 and 4 go, 3' and 4' arrive.
  REQUIRE(r.step(append(1, 2, 2, 1, 1, {e(2, 1), e(3, 2), e(4, 2)}, 2)).is_ok());
  auto rd = r.ready();
  CHECK(r.log().last_index() == 4);
  CHECK(r.log().term(3) == 2u);
  CHECK(r.log().committed() == 2);
  // The runtime is told to drop the old suffix before writing the new entries.
  REQUIRE(rd.entries.size() == 2);
  CHECK(rd.entries.front().index == 3);
  r.advance(rd);
  // A stale, shorter append afterwards must not truncate what we already hold.
  REQUIRE(r.step(append(1, 2, 2, 1, 1, {e(2, 1)}, 2)).is_ok());
  CHECK(r.log().last_index() == 4);
}

TEST_CASE("the follower commit index is min(leader commit, index of last new entry)", "[replication][figure2]") {
  TestCluster c(3);
  Raft& r = c.raft(2);
  REQUIRE(r.step(append(1, 2, 2, 1, 1, {e(2, 2), e(3, 2)}, 100)).is_ok());
  CHECK(r.log().committed() == 3);
  REQUIRE(r.step(append(1, 2, 2, 1, 1, {e(2, 2)}, 100)).is_ok());
  CHECK(r.log().committed() == 3);  // never backwards
}

TEST_CASE("acknowledgements are held until the entries are persisted", "[replication][durability]") {
  TestCluster c(3);
  Raft& r = c.raft(2);
  REQUIRE(r.step(append(1, 2, 2, 1, 1, {e(2, 2)}, 0)).is_ok());
  auto rd = r.ready();
  CHECK(rd.messages.empty());
  REQUIRE(rd.messages_after_persist.size() == 1);
  CHECK(rd.messages_after_persist[0].log_index == 2);
  REQUIRE(rd.entries.size() == 1);
}

TEST_CASE("the leader sends appends before its own entries are durable (thesis 10.2.1)", "[replication][durability]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.raft(1).propose("x").status.is_ok());
  auto rd = c.raft(1).ready();
  REQUIRE(rd.entries.size() == 1);
  int appends = 0;
  for (const Message& m : rd.messages) appends += m.type == MessageType::kAppend;
  CHECK(appends == 2);
  // Both followers acknowledge: committed by their quorum even before the leader's own write finished.
  c.deliver(rd.messages);
  c.deliver(c.collect());
  CHECK(c.raft(1).log().committed() == 3);
  // But the leader applies only what it has itself made durable.
  CHECK(c.raft(1).log().has_next_committed() == false);
  c.raft(1).advance(rd);
  CHECK(c.raft(1).log().has_next_committed());
}

TEST_CASE("Figure 8: an entry from an earlier term is not committed by counting replicas", "[replication][figure8]") {
  // S1 led term 2 and got entry 2 only onto S2; S5 led term 3 with an entry 2 nobody else has.
  std::vector<Entry> base = {configuration_entry({1, 2, 3, 4, 5})};
  std::vector<Entry> s1 = {base[0], e(2, 2)};
  std::vector<Entry> s5 = {base[0], e(2, 3)};
  TestCluster c({{s1, HardState{3, 0, 1}},
                 {s1, HardState{3, 0, 1}},
                 {base, HardState{3, 0, 1}},
                 {base, HardState{3, 0, 1}},
                 {s5, HardState{3, 0, 1}}});
  c.isolate(5);
  // S1 becomes leader of term 4 (S5's log is more up to date, but S5 is away).
  for (int i = 0; i < 100 && c.raft(1).role() == Role::kFollower; ++i) c.tick(1);
  for (int i = 0; i < 10 && c.raft(1).role() != Role::kLeader; ++i) c.deliver(c.collect());  // pre-vote, vote
  REQUIRE(c.raft(1).role() == Role::kLeader);
  REQUIRE(c.raft(1).term() == 4);
  auto rd = c.raft(1).ready();
  REQUIRE(c.node(1).log.write(LogWrite{rd.entries.front().index - 1, rd.entries, rd.hard_state}).is_ok());
  // Deliver to S2 and S3 only an append that carries entry 2 of term 2 (not the new no-op); let them answer.
  REQUIRE(c.raft(2).step(append(1, 2, 4, 1, 1, {e(2, 2)}, 1)).is_ok());
  REQUIRE(c.raft(3).step(append(1, 3, 4, 1, 1, {e(2, 2)}, 1)).is_ok());
  c.deliver(c.collect());
  // S1, S2, S3 now hold entry 2 of term 2: a majority, yet it must not be committed in term 4.
  CHECK(c.raft(1).log().committed() == 1);
  c.raft(1).advance(rd);
  CHECK(c.raft(1).log().committed() == 1);
  // Once the term-4 no-op reaches a majority, everything up to it commits.
  c.deliver(rd.messages);
  c.stabilize();
  CHECK(c.raft(1).log().committed() == 3);
  CHECK(c.raft(1).log().term(2) == 2u);
}

TEST_CASE("fast backtracking finds the match point in few round trips", "[replication][backtrack]") {
  // The follower holds 50 entries of term 2 the leader never had; the leader holds 50 of term 3 after index 1.
  std::vector<Entry> leader_log = {configuration_entry({1, 2, 3})};
  std::vector<Entry> follower_log = {configuration_entry({1, 2, 3})};
  for (Index i = 2; i <= 51; ++i) {
    leader_log.push_back(e(i, 3));
    follower_log.push_back(e(i, 2));
  }
  TestCluster c({{leader_log, HardState{3, 0, 1}}, {follower_log, HardState{3, 0, 1}}, {leader_log, HardState{3, 0, 1}}});
  c.isolate(2);
  REQUIRE(c.elect(1) == 1);
  c.heal();
  const std::size_t before = c.delivered();
  c.tick(1);
  c.stabilize();
  CHECK(c.raft(2).log().last_index() == 52);
  CHECK(c.raft(2).log().term(51) == 3u);
  CHECK(c.delivered() - before < 12);  // not one round trip per entry
}

TEST_CASE("flow control: in-flight appends to a silent follower are bounded", "[replication][flowcontrol]") {
  TestCluster c(3, [](RaftConfig& cfg) { cfg.max_inflight_messages = 4; });
  REQUIRE(c.elect(1) == 1);
  c.cut(1, 3);
  for (int i = 0; i < 50; ++i) {
    REQUIRE(c.raft(1).propose("p" + std::to_string(i)).status.is_ok());
    c.stabilize();
  }
  const Progress* pr = c.raft(1).progress(3);
  REQUIRE(pr != nullptr);
  CHECK(pr->inflights.count() <= 4);
  CHECK(pr->is_paused());
  // Node 2 keeps the quorum going.
  CHECK(c.raft(1).log().committed() == 52);
  c.heal();
  for (int i = 0; i < 5; ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(c.raft(3).log().last_index() == 52);
}

TEST_CASE("a follower restarted from its durable log catches up", "[replication]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 5; ++i) REQUIRE(c.raft(1).propose("a").status.is_ok());
  c.stabilize();
  c.isolate(3);
  for (int i = 0; i < 5; ++i) REQUIRE(c.raft(1).propose("b").status.is_ok());
  c.stabilize();
  c.restart(3);
  c.heal();
  c.tick(1);
  c.stabilize();
  CHECK(c.raft(3).log().last_index() == c.raft(1).log().last_index());
  c.tick(1);
  c.stabilize();
  CHECK(c.node(3).applied.size() == c.raft(1).log().committed());
}

TEST_CASE("a truncated configuration entry stops being the configuration in effect", "[replication][figure2]") {
  std::vector<Entry> log = {configuration_entry({1, 2, 3}), e(2, 1), configuration_entry({1, 2, 3, 4, 5}, 3, 2), e(4, 2)};
  TestCluster c({{log, HardState{2, 0, 1}}, {log, HardState{2, 0, 1}}, {log, HardState{2, 0, 1}}});
  Raft& r = c.raft(2);
  REQUIRE(r.configuration().voters.size() == 5);
  // A term-3 leader's log differs from index 3 on: the uncommitted configuration entry goes.
  REQUIRE(r.step(append(1, 2, 3, 2, 1, {e(3, 3), e(4, 3), e(5, 3)}, 1)).is_ok());
  CHECK(r.configuration().voters.size() == 3);
}

TEST_CASE("an append response beyond the leader's log is ignored", "[replication][input]") {
  TestCluster c(3);
  REQUIRE(c.elect(1) == 1);
  Message bogus;
  bogus.type = MessageType::kAppendResponse;
  bogus.from = 2;
  bogus.to = 1;
  bogus.term = c.raft(1).term();
  bogus.log_index = 1000;
  REQUIRE(c.raft(1).step(bogus).is_ok());
  CHECK(c.raft(1).progress(2)->match <= c.raft(1).log().last_index());
  CHECK(c.raft(1).log().committed() <= c.raft(1).log().last_index());
}

TEST_CASE("a configuration entry that does not decode is refused", "[replication][input]") {
  TestCluster c(3);
  Entry broken{2, 2, EntryKind::kConfiguration, "not a configuration"};
  CHECK(c.raft(2).step(append(1, 2, 2, 1, 1, {broken}, 0)).code() == ErrorCode::kInvalidArgument);
  CHECK(c.raft(2).log().last_index() == 1);
}

TEST_CASE("malformed messages are refused with an error and change nothing", "[replication][input]") {
  TestCluster c(3);
  Raft& r = c.raft(2);
  Message wrong_to = append(1, 3, 2, 1, 1, {e(2, 2)}, 0);
  CHECK(r.step(wrong_to).code() == ErrorCode::kInvalidArgument);
  Message hole = append(1, 2, 2, 1, 1, {e(2, 2), e(4, 2)}, 0);
  CHECK(r.step(hole).code() == ErrorCode::kInvalidArgument);
  Message future_term = append(1, 2, 2, 1, 1, {e(2, 5)}, 0);
  CHECK(r.step(future_term).code() == ErrorCode::kInvalidArgument);
  Message from_self = append(2, 2, 2, 1, 1, {}, 0);
  CHECK(r.step(from_self).code() == ErrorCode::kInvalidArgument);
  CHECK(r.log().last_index() == 1);
  CHECK(r.term() == 1);
}

}  // namespace
