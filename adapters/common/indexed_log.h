// The common half of a persistent engine: the in-memory shape of the log (TermIndex), the hard state and what
// recovery did, answering the contract's cheap queries from memory. Engines add read, write, compact and recovery.
#pragma once

#include <string>

#include "adapters/common/term_index.h"
#include "adapters/durable_log.h"

namespace raftkit {

class IndexedLog : public DurableLog {
 public:
  Index first_index() const override { return index_.first_index(); }
  Index last_index() const override { return index_.last_index(); }
  Result<Term> term_at(Index index) const override { return index_.term_at(index); }
  HardState hard_state() const override { return hard_state_; }
  SnapshotMeta snapshot_meta() const override { return index_.meta(); }
  RecoveryReport recovery_report() const override { return report_; }

 protected:
  // What every mutating call returns once an I/O error has failed the adapter.
  static Status failed_status(const std::string& engine) {
    return Status(ErrorCode::kFailed, engine + " log failed after an I/O error; reopen it");
  }

  TermIndex index_;
  HardState hard_state_;
  RecoveryReport report_;
  bool failed_ = false;  // set by any I/O failure in a mutating call; cleared only by reopening
};

}  // namespace raftkit
