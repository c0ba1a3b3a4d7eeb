// Raft's safety properties (Raft paper, Figure 3), checked against the live cores after every simulated event:
//   Election Safety      at most one leader per term;
//   Leader Append-Only   a leader never overwrites or deletes entries in its own log;
//   Log Matching         two logs with an entry of the same index and term are identical up to it;
//   Leader Completeness  a leader's log holds every entry committed in an earlier term (a leader elected late,
//                        say after a long pause, need not hold entries committed in its own term or later);
//   State Machine Safety no two nodes apply different entries at one index, and no two nodes hold different states
//                        after applying (or restoring a snapshot) up to one index;
// plus durability across restarts: term and commit index never go backwards, and no acknowledged write is lost.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "consensus/raft.h"

namespace raftkit::sim {

class InvariantChecker {
 public:
  // Checks one running node; returns an empty string or a description of the first violation.
  std::string check_node(const Raft& raft);
  // Called for every entry a node hands to its state machine.
  std::string check_applied(NodeId node, const Entry& entry);
  // Called with a digest of a node's state machine once it holds everything up to index (applied or restored).
  std::string check_state(NodeId node, Index index, std::uint64_t digest);
  // Called when a node restarts from its durable log: durable term and commit must not have gone backwards.
  std::string check_restart(NodeId node, Term durable_term, Index durable_commit, const Raft& raft);
  // The node crashed: its in-memory monotonic watermarks restart from what it recovers.
  void forget_volatile(NodeId node);
  // Records that a write was acknowledged to a client at (index, term); it must stay committed forever.
  std::string check_acknowledged(Index index, Term term, const std::string& payload);
  // Full Log Matching sweep over every node's log (the per-event check looks at log tails only).
  std::string full_log_matching(const std::vector<const Raft*>& nodes);

  std::uint64_t checks() const { return checks_; }
  const std::map<Index, std::pair<Term, std::uint64_t>>& committed() const { return committed_; }

 private:
  struct NodeMirror {
    std::vector<std::pair<Term, std::uint64_t>> chain;  // per index (from 1): term and hash of the log up to it
    Term term = 0;
    Index commit = 0;
    Term leader_term = 0;  // term in which we last saw it lead
    Index leader_last = 0;
    Term leader_last_term = 0;
  };

  std::string extend_chain(NodeMirror& mirror, const Raft& raft);

  std::map<Term, NodeId> leaders_;
  std::unordered_map<NodeId, NodeMirror> mirrors_;
  std::map<std::pair<Index, Term>, std::uint64_t> chains_;       // Log Matching registry
  std::map<Index, std::pair<Term, std::uint64_t>> committed_;    // index -> (term, entry hash), from applied entries
  // index -> the highest term any node had reached when the entry was first applied: the entry was committed in
  // that term or earlier, so every leader of a later term must hold it (Leader Completeness).
  std::map<Index, Term> committed_by_term_;
  std::unordered_map<Index, std::uint64_t> states_;  // index -> digest of the state machine holding 1..index
  Term max_term_ = 0;
  std::uint64_t checks_ = 0;
};

std::uint64_t entry_hash(const Entry& e);

}  // namespace raftkit::sim
