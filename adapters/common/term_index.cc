#include "adapters/common/term_index.h"

#include <string>

#include "adapters/durable_log.h"

namespace raftkit {

Result<Term> TermIndex::term_at(Index index) const {
  if (index < meta_.last_index) return Status(ErrorCode::kCompacted, "index " + std::to_string(index) + " is compacted");
  if (index == meta_.last_index) return meta_.last_term;
  if (index > last_index()) {
    return Status(ErrorCode::kUnavailable, "index " + std::to_string(index) + " is past the last index " +
                                               std::to_string(last_index()));
  }
  return terms_[index - first_index()];
}

Status TermIndex::check_range(Index lo, Index hi) const {
  if (lo > hi) return Status(ErrorCode::kInvalidArgument, "read range is reversed");
  if (lo < first_index()) return Status(ErrorCode::kCompacted, "index " + std::to_string(lo) + " is compacted");
  if (hi > last_index() + 1) {
    return Status(ErrorCode::kUnavailable, "read up to " + std::to_string(hi) + " past the last index " +
                                               std::to_string(last_index()));
  }
  return Status::ok();
}

Status TermIndex::recover_entry(Index index, Term term) {
  if (index <= meta_.last_index) {
    return Status(ErrorCode::kCorruption, "entry " + std::to_string(index) + " survives at or below the snapshot point " +
                                              std::to_string(meta_.last_index));
  }
  if (index != last_index() + 1) {
    return Status(ErrorCode::kCorruption, "hole in the log: entry " + std::to_string(index) + " follows " +
                                              std::to_string(last_index()));
  }
  const Term prev = terms_.empty() ? meta_.last_term : terms_.back();
  if (term < prev) {
    return Status(ErrorCode::kCorruption, "term goes backwards at entry " + std::to_string(index));
  }
  terms_.push_back(term);
  return Status::ok();
}

Status TermIndex::check_anchor(const std::optional<TailAnchor>& stored) const {
  const TailAnchor found = anchor();
  if (!stored) {
    if (last_index() == meta_.last_index && meta_.last_index == 0) return Status::ok();  // a fresh log
    return Status(ErrorCode::kCorruption, "the log's tail anchor is missing (lost pages?)");
  }
  if (stored->last_index != found.last_index || stored->last_term != found.last_term) {
    return Status(ErrorCode::kCorruption, "the log ends at " + std::to_string(found.last_index) + "/" +
                                              std::to_string(found.last_term) + " but its tail anchor says " +
                                              std::to_string(stored->last_index) + "/" +
                                              std::to_string(stored->last_term) + " (lost or stale pages)");
  }
  return Status::ok();
}

TailAnchor TermIndex::anchor_after(const LogWrite& batch) const {
  if (!batch.entries.empty()) return TailAnchor{batch.entries.back().index, batch.entries.back().term};
  if (batch.truncate_after && *batch.truncate_after < last_index()) {
    return TailAnchor{*batch.truncate_after, term_at(*batch.truncate_after).value()};
  }
  return anchor();
}

void TermIndex::truncate_after(Index index) {
  while (last_index() > index && !terms_.empty()) terms_.pop_back();
}

void TermIndex::append(Index, Term term) { terms_.push_back(term); }

Index TermIndex::compaction_end(const SnapshotMeta& meta) const {
  const bool holds_matching = meta.last_index <= last_index() && meta.last_index > meta_.last_index &&
                              terms_[meta.last_index - first_index()] == meta.last_term;
  return holds_matching ? meta.last_index + 1 : last_index() + 1;
}

void TermIndex::compact(const SnapshotMeta& meta) {
  const Index end = compaction_end(meta);
  if (meta.last_index == meta_.last_index) {
    meta_ = meta;
    return;
  }
  const std::size_t drop = end - first_index();
  terms_.erase(terms_.begin(), terms_.begin() + static_cast<std::ptrdiff_t>(drop));
  meta_ = meta;
}

}  // namespace raftkit
