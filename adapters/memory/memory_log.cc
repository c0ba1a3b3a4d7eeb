#include "adapters/memory/memory_log.h"

#include <algorithm>
#include <string>

namespace raftkit {

Result<Term> MemoryLog::term_at(Index index) const {
  if (index < visible_.meta.last_index) {
    return Status(ErrorCode::kCompacted, "index " + std::to_string(index) + " is compacted");
  }
  if (index == visible_.meta.last_index) return visible_.meta.last_term;
  if (index > visible_.last_index()) {
    return Status(ErrorCode::kUnavailable, "index " + std::to_string(index) + " is past the last index " +
                                               std::to_string(visible_.last_index()));
  }
  return visible_.entries[index - first_index()].term;
}

Result<std::vector<Entry>> MemoryLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (lo > hi) return Status(ErrorCode::kInvalidArgument, "read range is reversed");
  if (lo < first_index()) return Status(ErrorCode::kCompacted, "index " + std::to_string(lo) + " is compacted");
  if (hi > last_index() + 1) {
    return Status(ErrorCode::kUnavailable, "read up to " + std::to_string(hi) + " past the last index " +
                                               std::to_string(last_index()));
  }
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = visible_.entries[i - first_index()];
    bytes += entry_size(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Status MemoryLog::check_usable() {
  if (failed_) return Status(ErrorCode::kFailed, "memory log failed after an injected I/O error; reopen it");
  if (fail_next_) {
    fail_next_ = false;
    failed_ = true;
    return Status(ErrorCode::kIo, "injected I/O failure");
  }
  return Status::ok();
}

void MemoryLog::apply(Image& image, const LogWrite& batch) {
  if (batch.truncate_after) {
    while (!image.entries.empty() && image.entries.back().index > *batch.truncate_after) image.entries.pop_back();
  }
  image.entries.insert(image.entries.end(), batch.entries.begin(), batch.entries.end());
  if (batch.hard_state) image.hard_state = *batch.hard_state;
}

void MemoryLog::apply(Image& image, const SnapshotMeta& meta) {
  const bool holds_matching =
      meta.last_index <= image.last_index() && meta.last_index > image.meta.last_index &&
      image.entries[meta.last_index - image.meta.last_index - 1].term == meta.last_term;
  if (holds_matching) {
    image.entries.erase(image.entries.begin(),
                        image.entries.begin() + static_cast<std::ptrdiff_t>(meta.last_index - image.meta.last_index));
  } else if (meta.last_index != image.meta.last_index) {
    image.entries.clear();
  }
  image.meta = meta;
}

Status MemoryLog::write_unsynced(const LogWrite& batch) {
  if (Status s = check_usable(); !s.is_ok()) return s;
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) return s;
  apply(visible_, batch);
  pending_.emplace_back(batch);
  return Status::ok();
}

Status MemoryLog::compact_unsynced(const SnapshotMeta& meta) {
  if (Status s = check_usable(); !s.is_ok()) return s;
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  apply(visible_, meta);
  pending_.emplace_back(meta);
  return Status::ok();
}

void MemoryLog::sync() {
  for (const Operation& op : pending_) std::visit([this](const auto& o) { apply(durable_, o); }, op);
  pending_.clear();
}

Status MemoryLog::write(const LogWrite& batch) {
  Status s = write_unsynced(batch);
  if (s.is_ok()) sync();
  return s;
}

Status MemoryLog::compact(const SnapshotMeta& meta) {
  Status s = compact_unsynced(meta);
  if (s.is_ok()) sync();
  return s;
}

void MemoryLog::crash(std::size_t keep_operations, std::size_t keep_entries) {
  report_ = RecoveryReport{};
  keep_operations = std::min(keep_operations, pending_.size());
  for (std::size_t i = 0; i < keep_operations; ++i) std::visit([this](const auto& o) { apply(durable_, o); }, pending_[i]);
  if (keep_operations < pending_.size()) {
    if (const auto* torn = std::get_if<LogWrite>(&pending_[keep_operations])) {
      LogWrite prefix;
      prefix.truncate_after = torn->truncate_after;
      prefix.entries.assign(torn->entries.begin(),
                            torn->entries.begin() + static_cast<std::ptrdiff_t>(std::min(keep_entries, torn->entries.size())));
      apply(durable_, prefix);
      if (prefix.entries.size() < torn->entries.size()) {
        report_.trimmed_from = torn->entries[prefix.entries.size()].index;
        report_.trimmed_entries = torn->entries.size() - prefix.entries.size();
        report_.detail = "crash kept a torn tail; " + std::to_string(report_.trimmed_entries) +
                         " unsynced entries from index " + std::to_string(report_.trimmed_from) + " are gone";
      }
    }
  }
  pending_.clear();
  visible_ = durable_;
  failed_ = false;
  fail_next_ = false;
}

}  // namespace raftkit
