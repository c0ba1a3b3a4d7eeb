// The in-memory shape of a persistent log: snapshot point plus the term of every entry after it (8 bytes an
// entry), rebuilt on open from verified records. It answers first_index, last_index and term_at without touching
// the engine, and validate_log_write works against it.
#pragma once

#include <deque>

#include <optional>

#include "adapters/common/record_codec.h"
#include "consensus/log_types.h"
#include "consensus/status.h"

namespace raftkit {

class TermIndex {
 public:
  const SnapshotMeta& meta() const { return meta_; }
  Index first_index() const { return meta_.last_index + 1; }
  Index last_index() const { return meta_.last_index + terms_.size(); }
  Result<Term> term_at(Index index) const;
  Status check_range(Index lo, Index hi) const;  // the read() preconditions of the contract

  // Recovery: entries must arrive in order, contiguous from first_index(), terms never decreasing.
  Status recover_entry(Index index, Term term);
  void reset(const SnapshotMeta& meta) {
    meta_ = meta;
    terms_.clear();
  }
  // Mirrors a successful write / compact (already validated).
  void truncate_after(Index index);
  void append(Index index, Term term);
  void compact(const SnapshotMeta& meta);
  // What compact(meta) removes: entries [first_index(), end) with end exclusive.
  Index compaction_end(const SnapshotMeta& meta) const;
  // The anchor a write leaves behind, and the check of a stored one against what recovery found.
  TailAnchor anchor() const { return TailAnchor{last_index(), term_at(last_index()).value()}; }
  Status check_anchor(const std::optional<TailAnchor>& stored) const;
  // The anchor once `batch` (already validated) is applied.
  TailAnchor anchor_after(const struct LogWrite& batch) const;

 private:
  SnapshotMeta meta_;
  std::deque<Term> terms_;
};

}  // namespace raftkit
