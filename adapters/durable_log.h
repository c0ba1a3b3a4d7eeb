// The durable-log contract: the one interface between the Raft core's runtime and a storage engine.
//
// This header is the single source of truth for adapter authors. Every engine raftkit ships (memory, RocksDB, LMDB,
// SQLite) implements it, and the conformance suite checks exactly what is written here. If an adapter and this text
// disagree, the adapter is wrong.
//
// ---------------------------------------------------------------------------------------------------------------
// WHAT IS STORED (types in consensus/log_types.h)
//   * Entries: (index, term, kind, payload). Indices are contiguous: the log holds first_index()..last_index() with
//     no hole. Terms never decrease along the log.
//   * Hard state: (term, voted_for, commit). term and voted_for are one atomic unit: recovery returns both old or
//     both new, never a mix (a term without its vote lets a node vote twice in one term).
//   * Snapshot metadata: (last_index, last_term, configuration) of the point the log was compacted to: the entries
//     up to it live in a snapshot (adapters/snapshot/snapshot_store.h), which may reach further.
//     The log's first index is always snapshot_meta().last_index + 1. A fresh log has last_index = 0.
//
// DURABILITY: "durable" means it survives power loss, not just a process crash. When a mutating call returns OK,
//   everything it wrote is durable (fsync/fdatasync or the engine's synced commit has completed). An adapter never
//   acknowledges first and syncs later; the runtime sends votes and append acknowledgements the moment a call
//   returns, and Raft's safety rests on them being true.
//
// ATOMICITY AND ORDER: write() takes one LogWrite (truncate, then append, then hard state). Its effects become
//   durable in that order, and a crash during the call leaves one of:
//     - nothing of it;
//     - the truncation, plus a prefix (possibly empty) of the appended entries;
//     - all of it except the hard state;
//     - all of it.
//   Never the hard state without the entries before it, never later entries without earlier ones, never a truncation
//   undone after entries past it became visible. The hard state itself is atomic. compact() is all-or-nothing: after
//   a crash the log is either entirely before or entirely after the compaction, metadata included.
//
// ERRORS: every call returns a Status or Result; adapters never abort or throw across this interface. Precondition
//   violations (a non-contiguous append, a term going backwards, a range outside the log) give kInvalidArgument,
//   kCompacted or kUnavailable and change nothing. After any I/O failure during a mutating call (a failed fsync
//   above all: the kernel may have dropped the dirty pages, so retrying can "succeed" on lost data) the adapter is
//   failed: that call and every later one return kIo or kFailed until it is closed and reopened, where recovery
//   decides what is really on disk. A full disk gives kNoSpace and leaves the log exactly as before the call.
//
// RECOVERY (on open):
//   * Every entry, the hard state and the snapshot metadata carry a checksum, verified when opened and when read.
//   * A torn tail — the trailing part of the last write that had not returned OK when the process or machine died —
//     may be trimmed. The adapter reports what it trimmed in recovery_report().
//   * Everything else is reported, never repaired: a checksum failure before the tail, a hole in the indices, terms
//     going backwards, metadata or hard state that fails its checksum, entries that contradict the snapshot point.
//     open fails with kCorruption naming what and where. A silently shorter log is the one outcome never allowed:
//     it would un-acknowledge entries a leader counted towards commitment.
//   * A directory created by another engine, or for another node or cluster, is refused with kWrongOwner. A second
//     process opening the same directory gets kLocked.
//
// THREADING: an adapter is used by one thread at a time; the runtime serialises calls. Reads may be served from
//   a cache, but must return exactly what was written.
//
// The bugs this contract rules out, each reported against other Raft libraries: acknowledging entries before they
// were fsynced; term and vote written in two non-atomic steps; a gap between the snapshot point and the first entry
// after restoring a snapshot; corruption "fixed" by truncating acknowledged entries.
// ---------------------------------------------------------------------------------------------------------------
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/log_types.h"
#include "consensus/status.h"

namespace raftkit {

// One atomic, ordered unit of work for write(); see ATOMICITY AND ORDER above.
struct LogWrite {
  // If set, entries with index > truncate_after are removed first. Must be >= snapshot_meta().last_index, and
  // may be >= last_index() (then nothing is removed).
  std::optional<Index> truncate_after;
  // Appended after the truncation. The first must have index == (last index after truncation) + 1, the rest
  // follow contiguously, and terms never decrease, also relative to the entry before them.
  std::vector<Entry> entries;
  // If set, replaces the hard state. Its term must not be lower than the stored term, and within one term the
  // vote, once cast, must not change. commit must not go backwards.
  std::optional<HardState> hard_state;

  bool empty() const { return !truncate_after && entries.empty() && !hard_state; }
};

// What open() found and did; adapters fill it in, the runtime logs it.
struct RecoveryReport {
  Index trimmed_from = 0;        // first index of a trimmed torn tail, 0 if none was trimmed
  std::uint64_t trimmed_entries = 0;
  std::string detail;            // human-readable: "trimmed 3 entries from index 812 with a torn checksum"
};

class DurableLog {
 public:
  virtual ~DurableLog() = default;

  // --- Reads. Never change state; never return data that was not written. ---

  // first_index() = snapshot_meta().last_index + 1, also when the log is empty.
  virtual Index first_index() const = 0;
  // The index of the last entry, or snapshot_meta().last_index when there is none.
  virtual Index last_index() const = 0;
  // Term of the entry at index. For index == snapshot_meta().last_index it returns last_term (Raft needs it to
  // check consistency of the first entry after the snapshot). kCompacted below that, kUnavailable past the end.
  virtual Result<Term> term_at(Index index) const = 0;
  // Entries in [lo, hi), as many as fit in max_bytes by entry_size() but always at least one when lo < hi (so a
  // single huge entry still makes progress). kCompacted if lo < first_index(), kUnavailable if hi > last_index()+1,
  // kInvalidArgument if lo > hi. Every entry returned has passed its checksum; a failure is kCorruption.
  virtual Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const = 0;
  virtual HardState hard_state() const = 0;
  virtual SnapshotMeta snapshot_meta() const = 0;
  virtual RecoveryReport recovery_report() const = 0;

  // --- Writes. Durable when they return OK; see the header comment for atomicity and failure. ---

  // The group-commit primitive: one call, one durable write (one fsync or one synced engine commit), however
  // many entries it carries.
  virtual Status write(const LogWrite& batch) = 0;

  // Records that a snapshot covering everything up to meta.last_index (or further) is durable elsewhere, and
  // removes the entries up to it. The runtime compacts a few entries behind its newest snapshot (trailing entries
  // for slow followers), so meta then names an entry of the log, not the snapshot itself. meta.last_index may lie beyond last_index() (a snapshot installed from the leader): then the
  // whole log is discarded and the log restarts empty after it. If the log holds meta.last_index with a different
  // term than meta.last_term, the log after it is discarded too (it cannot match the snapshot). Compacting to an
  // index below the current snapshot point is kInvalidArgument. All-or-nothing.
  virtual Status compact(const SnapshotMeta& meta) = 0;

  // --- Conveniences, each exactly one write(). ---
  Status append(std::vector<Entry> entries) {
    LogWrite w;
    w.entries = std::move(entries);
    return write(w);
  }
  Status truncate_suffix(Index after) {
    LogWrite w;
    w.truncate_after = after;
    return write(w);
  }
  Status save_hard_state(const HardState& hs) {
    LogWrite w;
    w.hard_state = hs;
    return write(w);
  }
};

// Checks a LogWrite against a log's current shape, as every adapter must before touching storage. Shared so that
// every engine rejects exactly the same inputs with the same messages.
Status validate_log_write(const DurableLog& log, const LogWrite& batch);
Status validate_compaction(const DurableLog& log, const SnapshotMeta& meta);

}  // namespace raftkit
