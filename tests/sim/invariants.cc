#include "tests/sim/invariants.h"

#include <algorithm>
#include <functional>

namespace raftkit::sim {

std::uint64_t entry_hash(const Entry& e) {
  std::uint64_t h = std::hash<std::string>()(e.payload);
  h ^= (e.term + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  h ^= (static_cast<std::uint64_t>(e.kind) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  return h;
}

namespace {
std::string node_tag(NodeId id) { return "node " + std::to_string(id) + ": "; }
}  // namespace

std::string InvariantChecker::extend_chain(NodeMirror& mirror, const Raft& raft) {
  const RaftLog& log = raft.log();
  const Index start = log.start().last_index;  // compacted entries below it are committed and never change
  // Drop the mirror's suffix wherever the log changed (truncated or replaced).
  while (mirror.chain.size() > start &&
         (mirror.chain.size() > log.last_index() || log.term(mirror.chain.size()) != mirror.chain.back().first)) {
    mirror.chain.pop_back();
  }
  // The entry at the start itself may have been replaced by an installed snapshot's (the node held an uncommitted
  // entry there before).
  if (start > 0 && mirror.chain.size() >= start && mirror.chain[start - 1].first != log.start().last_term) {
    mirror.chain.resize(start - 1);
  }
  if (mirror.chain.size() < start) {
    // The node installed a snapshot beyond what we saw of its log: continue from the chain registered for the
    // snapshot's last entry, which some node held in its log (a snapshot holds only logged, committed entries).
    auto it = chains_.find({start, log.start().last_term});
    if (it == chains_.end()) {
      return node_tag(raft.id()) + "installed a snapshot ending at " + std::to_string(start) + "/" +
             std::to_string(log.start().last_term) + ", an entry no node ever held";
    }
    mirror.chain.resize(start - 1, {0, 0});  // entries folded into the snapshot; only the last one matters
    mirror.chain.emplace_back(log.start().last_term, it->second);
  }
  for (Index i = mirror.chain.size() + 1; i <= log.last_index(); ++i) {
    const Entry& e = log.at(i);
    const std::uint64_t prev = mirror.chain.empty() ? 0 : mirror.chain.back().second;
    const std::uint64_t chain = prev * 1000003ull ^ entry_hash(e);
    mirror.chain.emplace_back(e.term, chain);
    auto [it, inserted] = chains_.emplace(std::make_pair(i, e.term), chain);
    ++checks_;
    if (!inserted && it->second != chain) {
      return node_tag(raft.id()) + "Log Matching violated: entry " + std::to_string(i) + " of term " +
             std::to_string(e.term) + " is preceded by a different log than on another node";
    }
  }
  return "";
}

std::string InvariantChecker::check_node(const Raft& raft) {
  NodeMirror& m = mirrors_[raft.id()];
  checks_ += 4;
  max_term_ = std::max(max_term_, raft.term());
  if (raft.term() < m.term) return node_tag(raft.id()) + "term went backwards";
  if (raft.log().committed() < m.commit) return node_tag(raft.id()) + "commit index went backwards";
  m.term = raft.term();
  m.commit = raft.log().committed();
  if (std::string e = extend_chain(m, raft); !e.empty()) return e;
  if (raft.role() != Role::kLeader) return "";

  auto [it, inserted] = leaders_.emplace(raft.term(), raft.id());
  if (!inserted && it->second != raft.id()) {
    return "Election Safety violated: nodes " + std::to_string(it->second) + " and " + std::to_string(raft.id()) +
           " both led term " + std::to_string(raft.term());
  }
  const RaftLog& log = raft.log();
  if (m.leader_term != raft.term()) {
    // Newly elected: Leader Completeness against everything known committed.
    m.leader_term = raft.term();
    for (const auto& [index, what] : committed_) {
      if (committed_by_term_[index] >= raft.term()) continue;  // possibly committed in this term or later
      if (index < log.first_index()) continue;  // folded into the leader's snapshot (checked by check_state)
      ++checks_;
      if (index > log.last_index() || log.term(index) != what.first || entry_hash(log.at(index)) != what.second) {
        return node_tag(raft.id()) + "Leader Completeness violated: leader of term " + std::to_string(raft.term()) +
               " lacks committed entry " + std::to_string(index);
      }
    }
  } else if (log.last_index() < m.leader_last || log.term(m.leader_last) != m.leader_last_term) {
    return node_tag(raft.id()) + "Leader Append-Only violated: entry " + std::to_string(m.leader_last) +
           " changed while leading term " + std::to_string(raft.term());
  }
  m.leader_last = log.last_index();
  m.leader_last_term = log.last_term();
  return "";
}

std::string InvariantChecker::check_applied(NodeId node, const Entry& entry) {
  ++checks_;
  const std::uint64_t h = entry_hash(entry);
  auto [it, inserted] = committed_.emplace(entry.index, std::make_pair(entry.term, h));
  if (inserted) committed_by_term_[entry.index] = max_term_;
  if (!inserted && (it->second.first != entry.term || it->second.second != h)) {
    return node_tag(node) + "State Machine Safety violated: applied a different entry at index " +
           std::to_string(entry.index) + " (term " + std::to_string(entry.term) + " vs " +
           std::to_string(it->second.first) + ")";
  }
  return "";
}

std::string InvariantChecker::check_state(NodeId node, Index index, std::uint64_t digest) {
  ++checks_;
  auto [it, inserted] = states_.emplace(index, digest);
  if (!inserted && it->second != digest) {
    return node_tag(node) + "State Machine Safety violated: its state after index " + std::to_string(index) +
           " differs from another node's";
  }
  return "";
}

std::string InvariantChecker::check_restart(NodeId node, Term durable_term, Index durable_commit, const Raft& raft) {
  checks_ += 2;
  if (raft.term() < durable_term) {
    return node_tag(node) + "term went backwards across a restart: " + std::to_string(raft.term()) + " < " +
           std::to_string(durable_term);
  }
  if (raft.log().committed() < durable_commit) {
    return node_tag(node) + "commit index went backwards across a restart: " + std::to_string(raft.log().committed()) +
           " < " + std::to_string(durable_commit);
  }
  return "";
}

void InvariantChecker::forget_volatile(NodeId node) {
  NodeMirror& m = mirrors_[node];
  m.term = 0;
  m.commit = 0;
  m.leader_term = 0;
}

std::string InvariantChecker::check_acknowledged(Index index, Term term, const std::string& payload) {
  ++checks_;
  auto it = committed_.find(index);
  Entry e{index, term, EntryKind::kNormal, payload};
  if (it == committed_.end() || it->second.first != term || it->second.second != entry_hash(e)) {
    return "acknowledged write at index " + std::to_string(index) + " is not the committed entry there";
  }
  return "";
}

std::string InvariantChecker::full_log_matching(const std::vector<const Raft*>& nodes) {
  for (std::size_t a = 0; a < nodes.size(); ++a) {
    for (std::size_t b = a + 1; b < nodes.size(); ++b) {
      const RaftLog& la = nodes[a]->log();
      const RaftLog& lb = nodes[b]->log();
      const Index n = std::min(la.last_index(), lb.last_index());
      const Index first = std::max(la.first_index(), lb.first_index());
      // Find the highest common (index, term); everything before it (that both still hold) must be identical.
      Index top = 0;
      for (Index i = n; i >= first; --i) {
        if (la.term(i) == lb.term(i)) {
          top = i;
          break;
        }
      }
      for (Index i = first; i <= top; ++i) {
        ++checks_;
        if (!(la.at(i) == lb.at(i))) {
          return "Log Matching violated between nodes " + std::to_string(nodes[a]->id()) + " and " +
                 std::to_string(nodes[b]->id()) + " at index " + std::to_string(i);
        }
      }
    }
  }
  return "";
}

}  // namespace raftkit::sim
