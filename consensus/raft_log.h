// The core's view of the replicated log: every entry after the compaction point ("start"), held in memory, with the
// marks that tie it to the durable log and the state machine.
//
//   start.last_index <= applied <= applying <= min(committed, stable) ...            ... <= last_index
//                                                  unstable_from: entries from here on have not been handed out
//
// The start is where the log was last compacted: at or before the newest snapshot (a log may keep trailing entries
// behind its snapshot for slow followers), or exactly at a snapshot installed from the leader.
//
// Invariants (marks checked by check_invariants on every advance, entries by check_entries):
//   - entries are contiguous from start.last_index + 1 and their terms never decrease;
//   - start <= applied <= applying <= committed <= last_index, and applying <= max(stable, start);
//   - committed entries are never truncated (a conflict at or below committed is a safety violation, not an input).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "consensus/log_types.h"

namespace raftkit {

class RaftLog {
 public:
  // Restores the log as recovered from durable storage: everything given is stable, and the state machine holds
  // everything up to applied (its snapshot), which lies in [start.last_index, last_index].
  RaftLog(const SnapshotMeta& start, std::vector<Entry> entries, Index committed, Index applied);

  Index first_index() const { return start_.last_index + 1; }
  Index last_index() const { return entries_.empty() ? start_.last_index : entries_.back().index; }
  Term last_term() const;
  // Term at index, for index in [start.last_index, last_index]; nullopt outside.
  std::optional<Term> term(Index index) const;
  bool match_term(Index index, Term term) const;
  // Raft paper 5.4.1: is a log ending at (last_index, last_term) at least as up to date as this one?
  bool is_up_to_date(Index last_index, Term last_term) const;

  const Entry& at(Index index) const { return entries_[index - first_index()]; }
  // Entries in [lo, hi) up to max_bytes, always at least one when lo < hi. lo must be >= first_index().
  std::vector<Entry> slice(Index lo, Index hi, std::uint64_t max_bytes) const;

  // Leader: appends its own entries (indices assigned by the caller). Returns the new last index.
  Index append(std::vector<Entry> entries);
  // Follower (Raft paper, Figure 2, AppendEntries 2-4): nullopt if the log lacks (prev_index, prev_term);
  // otherwise drops conflicting entries, appends the new ones and returns the index of the last new entry.
  std::optional<Index> maybe_append(Index prev_index, Term prev_term, std::vector<Entry> entries);
  // Fast backtracking: the largest index <= index whose term is <= term (etcd's findConflictByTerm).
  Index find_conflict_by_term(Index index, Term term) const;

  Index committed() const { return committed_; }
  void commit_to(Index index);  // never moves backwards; index must exist in the log
  // Leader rule (Raft paper 5.4.2): commit index only if the entry there is from the leader's current term.
  bool maybe_commit(Index index, Term current_term);

  // Persistence. unstable entries are handed out once by take_unstable(); stable_to() records that the runtime
  // made them durable. A hand-out begins with truncate_after = first index - 1 so the durable log drops any
  // conflicting suffix it still holds.
  bool has_unstable() const { return unstable_from_ <= last_index(); }
  std::vector<Entry> take_unstable();
  void stable_to(Index index, Term term);
  Index stable() const { return stable_; }

  // Applying: committed and stable entries not yet handed to the state machine.
  bool has_next_committed() const { return applying_ < std::min(committed_, stable_); }
  std::vector<Entry> take_next_committed(std::uint64_t max_bytes);
  void applied_to(Index index);
  Index applied() const { return applied_; }

  // Compaction: drops the entries up to index, which the state machine has applied (a snapshot holds them).
  // configuration is the one in effect at index; it becomes the start's.
  void compact_to(Index index, const Configuration& configuration);
  // Installs a snapshot from the leader: every entry goes, and the log restarts empty after it, with everything up
  // to it committed, stable and applied (the runtime restores the state machine before applying anything later).
  void restore(const SnapshotMeta& snapshot);

  // The compaction point: its index, term and the configuration in effect there.
  const SnapshotMeta& start() const { return start_; }
  void check_invariants() const;  // the marks; O(1)
  void check_entries() const;     // every entry too; O(n)

 private:
  SnapshotMeta start_;
  std::deque<Entry> entries_;
  Index committed_ = 0;
  Index stable_ = 0;
  Index unstable_from_ = 0;
  Index applying_ = 0;
  Index applied_ = 0;
};

}  // namespace raftkit
