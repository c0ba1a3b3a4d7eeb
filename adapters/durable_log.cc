#include "adapters/durable_log.h"

#include <algorithm>
#include <string>

namespace raftkit {
namespace {

Status invalid(const std::string& what) { return Status(ErrorCode::kInvalidArgument, what); }

}  // namespace

Status validate_log_write(const DurableLog& log, const LogWrite& batch) {
  const Index snapshot_index = log.snapshot_meta().last_index;
  Index last = log.last_index();
  if (batch.truncate_after) {
    if (*batch.truncate_after < snapshot_index) {
      return Status(ErrorCode::kCompacted, "truncate_after " + std::to_string(*batch.truncate_after) +
                                               " lies below the snapshot point " + std::to_string(snapshot_index));
    }
    last = std::min(last, *batch.truncate_after);
  }
  if (!batch.entries.empty()) {
    if (batch.entries.front().index != last + 1) {
      return invalid("append is not contiguous: first index " + std::to_string(batch.entries.front().index) +
                     " after last index " + std::to_string(last));
    }
    Result<Term> prev = log.term_at(last);
    Term prev_term = prev.is_ok() ? prev.value() : 0;
    for (std::size_t i = 0; i < batch.entries.size(); ++i) {
      const Entry& e = batch.entries[i];
      if (e.index != last + 1 + i) return invalid("append has a hole at index " + std::to_string(last + 1 + i));
      if (e.term == 0) return invalid("entry " + std::to_string(e.index) + " has term 0");
      if (e.term < prev_term) {
        return invalid("term goes backwards at index " + std::to_string(e.index) + ": " + std::to_string(e.term) +
                       " after " + std::to_string(prev_term));
      }
      if (e.kind != EntryKind::kNormal && e.kind != EntryKind::kConfiguration && e.kind != EntryKind::kNoop) {
        return invalid("entry " + std::to_string(e.index) + " has an unknown kind");
      }
      prev_term = e.term;
    }
  }
  if (batch.hard_state) {
    const HardState& now = log.hard_state();
    const HardState& next = *batch.hard_state;
    if (next.term < now.term) {
      return invalid("hard state term goes backwards: " + std::to_string(next.term) + " < " + std::to_string(now.term));
    }
    if (next.term == now.term && now.voted_for != kNoNode && next.voted_for != now.voted_for) {
      return invalid("vote changed within term " + std::to_string(now.term));
    }
    if (next.commit < now.commit) {
      return invalid("commit goes backwards: " + std::to_string(next.commit) + " < " + std::to_string(now.commit));
    }
  }
  return Status::ok();
}

Status validate_compaction(const DurableLog& log, const SnapshotMeta& meta) {
  const SnapshotMeta current = log.snapshot_meta();
  if (meta.last_index < current.last_index) {
    return invalid("compaction to " + std::to_string(meta.last_index) + " lies below the snapshot point " +
                   std::to_string(current.last_index));
  }
  if (meta.last_index == current.last_index && meta.last_term != current.last_term) {
    return invalid("compaction to index " + std::to_string(meta.last_index) + " with term " +
                   std::to_string(meta.last_term) + " contradicts the current snapshot's term " +
                   std::to_string(current.last_term));
  }
  if (meta.last_index > 0 && meta.last_term == 0) return invalid("snapshot metadata has term 0");
  if (meta.last_term < current.last_term) return invalid("snapshot term goes backwards");
  return Status::ok();
}

}  // namespace raftkit
