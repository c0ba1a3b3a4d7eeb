#include "consensus/raft_log.h"

#include <algorithm>

#include "consensus/assert.h"

namespace raftkit {

RaftLog::RaftLog(const SnapshotMeta& start, std::vector<Entry> entries, Index committed, Index applied)
    : start_(start), entries_(entries.begin(), entries.end()) {
  RAFTKIT_INVARIANT(applied >= start_.last_index && applied <= last_index(), "applied %llu outside the log",
                    static_cast<unsigned long long>(applied));
  // A snapshot holds only committed entries, so a commit hint older than it (the hard state is written after the
  // snapshot is installed) is raised to it.
  committed_ = std::clamp(committed, applied, last_index());
  stable_ = last_index();
  unstable_from_ = last_index() + 1;
  applying_ = applied_ = applied;
  check_entries();
}

Term RaftLog::last_term() const { return entries_.empty() ? start_.last_term : entries_.back().term; }

std::optional<Term> RaftLog::term(Index index) const {
  if (index == start_.last_index) return start_.last_term;
  if (index < start_.last_index || index > last_index()) return std::nullopt;
  return at(index).term;
}

bool RaftLog::match_term(Index index, Term t) const {
  std::optional<Term> mine = term(index);
  return mine && *mine == t;
}

bool RaftLog::is_up_to_date(Index index, Term t) const {
  return t > last_term() || (t == last_term() && index >= last_index());
}

std::vector<Entry> RaftLog::slice(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFTKIT_INVARIANT(lo >= first_index() && hi <= last_index() + 1, "slice [%llu,%llu) outside the log",
                    static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = at(i);
    bytes += entry_size(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Index RaftLog::append(std::vector<Entry> entries) {
  for (Entry& e : entries) {
    RAFTKIT_INVARIANT(e.index == last_index() + 1 && e.term >= last_term(), "leader append out of order");
    entries_.push_back(std::move(e));
  }
  return last_index();
}

std::optional<Index> RaftLog::maybe_append(Index prev_index, Term prev_term, std::vector<Entry> entries) {
  if (!match_term(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + entries.size();
  // Skip entries we already hold (same index and term means same entry, by Log Matching); the first mismatch
  // is where our suffix conflicts with the leader's and must go.
  std::size_t skip = 0;
  while (skip < entries.size() && entries[skip].index <= last_index() && match_term(entries[skip].index, entries[skip].term)) {
    ++skip;
  }
  if (skip == entries.size()) return last_new;
  const Index conflict = entries[skip].index;
  RAFTKIT_INVARIANT(conflict > committed_, "conflict at %llu would overwrite committed entries (commit %llu)",
                    static_cast<unsigned long long>(conflict), static_cast<unsigned long long>(committed_));
  if (conflict <= last_index()) {
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(conflict - first_index()), entries_.end());
    stable_ = std::min(stable_, conflict - 1);
    unstable_from_ = std::min(unstable_from_, conflict);
  }
  for (std::size_t i = skip; i < entries.size(); ++i) entries_.push_back(std::move(entries[i]));
  return last_new;
}

Index RaftLog::find_conflict_by_term(Index index, Term t) const {
  index = std::min(index, last_index());
  while (index > start_.last_index) {
    if (at(index).term <= t) return index;
    --index;
  }
  return index;
}

void RaftLog::commit_to(Index index) {
  if (index <= committed_) return;
  RAFTKIT_INVARIANT(index <= last_index(), "commit %llu beyond last index %llu", static_cast<unsigned long long>(index),
                    static_cast<unsigned long long>(last_index()));
  committed_ = index;
}

bool RaftLog::maybe_commit(Index index, Term current_term) {
  if (index > committed_ && term(index) == current_term) {
    commit_to(index);
    return true;
  }
  return false;
}

std::vector<Entry> RaftLog::take_unstable() {
  std::vector<Entry> out;
  for (Index i = unstable_from_; i <= last_index(); ++i) out.push_back(at(i));
  unstable_from_ = last_index() + 1;
  return out;
}

void RaftLog::stable_to(Index index, Term t) {
  // The entry may have been replaced since it was handed out; only the same (index, term) is the same entry.
  if (index > stable_ && match_term(index, t)) stable_ = index;
}

std::vector<Entry> RaftLog::take_next_committed(std::uint64_t max_bytes) {
  const Index hi = std::min(committed_, stable_);
  if (applying_ >= hi) return {};
  std::vector<Entry> out = slice(applying_ + 1, hi + 1, max_bytes);
  applying_ += out.size();
  return out;
}

void RaftLog::applied_to(Index index) {
  RAFTKIT_INVARIANT(index <= applying_, "applied %llu beyond what was handed out (%llu)",
                    static_cast<unsigned long long>(index), static_cast<unsigned long long>(applying_));
  applied_ = std::max(applied_, index);
}

void RaftLog::compact_to(Index index, const Configuration& configuration) {
  if (index <= start_.last_index) return;
  RAFTKIT_INVARIANT(index <= applied_, "compacting to %llu beyond applied %llu", static_cast<unsigned long long>(index),
                    static_cast<unsigned long long>(applied_));
  const Term t = at(index).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(index - first_index() + 1));
  start_ = SnapshotMeta{index, t, configuration};
}

void RaftLog::restore(const SnapshotMeta& snapshot) {
  RAFTKIT_INVARIANT(snapshot.last_index > committed_, "restoring snapshot %llu at or below commit %llu",
                    static_cast<unsigned long long>(snapshot.last_index), static_cast<unsigned long long>(committed_));
  entries_.clear();
  start_ = snapshot;
  committed_ = stable_ = applying_ = applied_ = snapshot.last_index;
  unstable_from_ = snapshot.last_index + 1;
}

void RaftLog::check_invariants() const {
  // Constant-time marks check, on every advance(). The per-entry shape is guaranteed by append()/maybe_append()
  // (each asserts contiguity as it inserts) and swept whole by check_entries().
  RAFTKIT_INVARIANT(start_.last_index <= applied_ && applied_ <= applying_ && applying_ <= committed_ &&
                        committed_ <= last_index() && applying_ <= std::max(stable_, start_.last_index),
                    "log marks out of order");
}

void RaftLog::check_entries() const {
  Index expect = first_index();
  Term prev = start_.last_term;
  for (const Entry& e : entries_) {
    RAFTKIT_INVARIANT(e.index == expect && e.term >= prev, "log not contiguous or terms decreasing at %llu",
                      static_cast<unsigned long long>(e.index));
    ++expect;
    prev = e.term;
  }
  check_invariants();
}

}  // namespace raftkit
