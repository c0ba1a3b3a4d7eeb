// The LMDB durable log (through lmdb++).
//
// Durability (docs/engines/lmdb.md): the environment is opened in LMDB's default durable mode (no MDB_NOSYNC, no
// MDB_NOMETASYNC, no MDB_WRITEMAP), so mdb_txn_commit() returns only after the data pages and then the meta page
// are fdatasync'ed. Each write() and compact() is one write transaction: atomic, durable on return. The map grows
// (doubling) when it fills; only a real lack of disk space ends that, as kNoSpace.
#pragma once

#include <memory>

#include "adapters/common/log_directory.h"
#include "adapters/common/indexed_log.h"
#include "adapters/durable_log.h"

struct MDB_txn;

namespace raftkit {

struct LmdbLogOptions : LogOptions {
  // Virtual address space, not disk: without MDB_WRITEMAP the file grows only as pages are written. Large enough
  // that growth (which reruns the failed transaction) is rare; it still doubles whenever the map fills.
  std::size_t initial_map_bytes = 1ull << 30;
  // UNSAFE, for benchmarks only: MDB_NOSYNC acknowledges commits before any fsync; a power loss loses them.
  bool unsafe_no_sync = false;
};

class LmdbLog final : public IndexedLog {
 public:
  static Result<std::unique_ptr<LmdbLog>> open(const LmdbLogOptions& options);
  ~LmdbLog() override;

  Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Status write(const LogWrite& batch) override;
  Status compact(const SnapshotMeta& meta) override;

  std::size_t map_bytes() const { return map_bytes_; }

 private:
  struct Handles;
  LmdbLog();
  Status recover();
  void put_anchor(MDB_txn* txn, const TailAnchor& anchor);
  // Runs fn in one write transaction, growing the map and retrying when it fills.
  template <typename Fn>
  Status in_write_txn(const char* what, Fn&& fn);

  LmdbLogOptions options_;
  std::unique_ptr<LogDirectory> directory_;
  std::unique_ptr<Handles> handles_;
  std::size_t map_bytes_ = 0;
};

}  // namespace raftkit
