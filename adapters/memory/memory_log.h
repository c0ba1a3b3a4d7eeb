// An in-memory durable log. Nothing survives the process, so it is for tests, benchmarks and simulation.
//
// In crash mode it also models a disk with a volatile cache, which is what deterministic simulation runs on:
// write_unsynced() changes what reads see but not what survives; sync() makes everything written so far durable;
// crash() returns the log to its durable image, optionally keeping a torn tail (a prefix of the unsynced writes,
// the last one possibly cut inside its entries) exactly as the contract allows. write() and compact() remain the
// contract's synchronous forms: they return only when durable.
#pragma once

#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "adapters/durable_log.h"

namespace raftkit {

class MemoryLog final : public DurableLog {
 public:
  MemoryLog() = default;

  Index first_index() const override { return visible_.meta.last_index + 1; }
  Index last_index() const override { return visible_.last_index(); }
  Result<Term> term_at(Index index) const override;
  Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const override;
  HardState hard_state() const override { return visible_.hard_state; }
  SnapshotMeta snapshot_meta() const override { return visible_.meta; }
  RecoveryReport recovery_report() const override { return report_; }

  Status write(const LogWrite& batch) override;
  Status compact(const SnapshotMeta& meta) override;

  // --- Crash mode ---
  Status write_unsynced(const LogWrite& batch);
  Status compact_unsynced(const SnapshotMeta& meta);
  void sync();
  std::size_t unsynced_operations() const { return pending_.size(); }
  // Forgets every unsynced operation except the first keep_operations; of the one after those, keeps
  // keep_entries of its appended entries (its truncation included, its hard state not). Compactions are kept
  // whole or not at all.
  void crash(std::size_t keep_operations = 0, std::size_t keep_entries = 0);

  // Makes the next mutating call fail with kIo, after which the log is failed, as a real adapter would be.
  void inject_io_failure() { fail_next_ = true; }

 private:
  struct Image {
    SnapshotMeta meta;
    HardState hard_state;
    std::deque<Entry> entries;  // entries[0].index == meta.last_index + 1
    Index last_index() const { return entries.empty() ? meta.last_index : entries.back().index; }
  };
  using Operation = std::variant<LogWrite, SnapshotMeta>;

  static void apply(Image& image, const LogWrite& batch);
  static void apply(Image& image, const SnapshotMeta& meta);
  Status check_usable();

  Image durable_;
  Image visible_;
  std::vector<Operation> pending_;
  RecoveryReport report_;
  bool fail_next_ = false;
  bool failed_ = false;
};

}  // namespace raftkit
