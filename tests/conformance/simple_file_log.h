// A small file-based durable log:
//   entries.log  batches, one per write: magic | payload length | CRC-32C of the payload | payload, where the
//                payload is the batch's entries, each a length-prefixed record with its own CRC;
//   state        the hard state and the "sealed" length of entries.log: every byte below it was synced and
//                acknowledged, so damage there is corruption, never a torn tail;
//   snapshot     the snapshot metadata;
// the last two each replaced atomically (temporary name, fsync, rename, fsync of the directory) on every write.
// Recovery: every batch below the sealed length must be intact; beyond it, one bad batch at the very end is a
// torn tail and is trimmed, while a bad batch with an intact one behind it is corruption.
//
// It serves twice: correct, it is the example of an adapter built outside raftkit's build and checked with the
// `raftkit-conformance` runner through the C entry point; with one of its Breakage flags set, it is a deliberately
// broken adapter that the conformance suite must catch.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/common/log_directory.h"
#include "adapters/common/indexed_log.h"
#include "adapters/durable_log.h"

namespace raftkit::testing {

struct Breakage {
  bool no_fsync = false;                 // never fsyncs anything
  bool vote_not_synced = false;          // the hard state file is written and renamed but never synced
  bool non_atomic_truncation = false;    // overwrites in place, then cuts the old tail in a second step
  int ack_before_sync_every_nth = 0;     // every Nth write returns before its fdatasync
  bool trims_corruption = false;         // on open, a bad record in the middle cuts the log there, silently
  bool no_dir_sync = false;              // creates and renames files without fsyncing the directory
  bool stale_read_cache = false;         // reads go through a cache that truncation does not invalidate
  bool forgets_snapshot_term = false;    // after a reopen, term_at(snapshot point) answers kCompacted
  bool volatile_truncation_to_snapshot = false;  // truncating everything after the snapshot point stays in memory
  bool caps_recovery = false;            // recovery stops after 2,048 entries and trims the rest as a torn tail
  bool enospc_as_io = false;             // a full disk is reported as kIo
  bool hard_state_first = false;         // a write's hard state is made durable before its entries
  bool unlocks_after_open = false;       // holds the directory lock only while opening
  bool accepts_second_vote = false;      // a hard state changing the vote within a term is accepted
  bool splits_term_and_vote = false;     // a new term is made durable first, its vote in a second step
  bool compaction_entries_first = false; // compaction rewrites the entries before recording the snapshot point
  bool not_failed_after_eio = false;     // after an I/O error, later writes go ahead
  bool compacts_after_eio = false;       // after an I/O error, writes fail but compaction goes ahead
  bool leaves_partial_batch = false;     // writes a batch in 1 MiB pieces; out of space, the pieces stay
  bool corruption_as_io = false;         // damage found on open is reported as kIo, not kCorruption
  bool applies_refused_in_part = false;  // a write refused for its entries still makes its truncation and hard state durable
};

class SimpleFileLog final : public IndexedLog {
 public:
  static Result<std::unique_ptr<SimpleFileLog>> open(const std::string& dir, Breakage breakage = {});
  ~SimpleFileLog() override;

  Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Result<Term> term_at(Index index) const override;
  Status write(const LogWrite& batch) override;
  Status compact(const SnapshotMeta& meta) override;

 private:
  SimpleFileLog() = default;
  Status recover();
  Status write_unchecked(const LogWrite& batch);
  Status compact_unchecked(const SnapshotMeta& meta);
  Status sync_fd(int fd);
  Status sync_dir();
  Status replace_file(const std::string& name, const std::string& contents, bool sync_data);
  Status append_batch(const std::vector<Entry>& entries, std::uint64_t at);
  Status save_state(const HardState& hs, std::uint64_t sealed);
  Status reopen_entries_file();
  // entries.log holding exactly `keep`, and the state with hs, replaced atomically: prepared (all the writes that
  // need space), then committed (renames).
  struct Rewrite {
    std::vector<std::uint64_t> offsets, lengths;
    std::uint64_t size = 0;
  };
  Status prepare_rewrite(const std::vector<Entry>& keep, const HardState& hs, Rewrite& out);
  Status commit_rewrite(Rewrite prepared);
  Status rewrite_entries(std::vector<Entry> keep, const HardState& hs);
  Status prepare_file(const std::string& name, const std::string& contents, bool sync_data);
  Status commit_file(const std::string& name, bool sync_dir_after);

  Breakage breakage_;
  std::unique_ptr<LogDirectory> directory_;
  int fd_ = -1;
  std::uint64_t end_ = 0;                // valid end of entries.log
  std::vector<std::uint64_t> lengths_;   // record length of each entry (its bytes start at offsets_[i])
  std::vector<std::uint64_t> offsets_;  // file offset of each entry after the snapshot point
  int writes_ = 0;
  bool snapshot_recovered_ = false;                   // for forgets_snapshot_term
  mutable std::map<Index, Entry> read_cache_;          // for stale_read_cache
};

}  // namespace raftkit::testing
