// The SQLite durable log.
//
// Durability (docs/engines/sqlite.md): journal_mode=WAL with synchronous=FULL, so COMMIT returns only after the
// WAL is fsynced; each write() and compact() is one transaction (BEGIN IMMEDIATE ... COMMIT) using prepared
// statements. Checkpoints are TRUNCATE ones, taken by the adapter every ~4 MiB of WAL and on close. The WAL file is
// kept across closes (SQLITE_FCNTL_PERSIST_WAL) and its directory entry fsynced once,
// so a new WAL never appears after an acknowledgement without its directory entry being durable.
#pragma once

#include <memory>

#include "adapters/common/log_directory.h"
#include "adapters/common/indexed_log.h"
#include "adapters/durable_log.h"

struct sqlite3;
struct sqlite3_stmt;

namespace raftkit {

struct SqliteLogOptions : LogOptions {
  // UNSAFE, for benchmarks only: synchronous=NORMAL in WAL mode; a power loss loses the last commits.
  bool unsafe_synchronous_normal = false;
};

class SqliteLog final : public IndexedLog {
 public:
  static Result<std::unique_ptr<SqliteLog>> open(const SqliteLogOptions& options);
  ~SqliteLog() override;

  Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Status write(const LogWrite& batch) override;
  Status compact(const SnapshotMeta& meta) override;

 private:
  SqliteLog() = default;
  Status prepare();
  Status recover();
  Status exec(const char* sql);
  Status error(const std::string& what) const;
  Status put_meta(const std::string& key, const std::string& value);
  Status delete_range(Index lo, Index hi);  // entries [lo, hi)
  Status commit_or_fail(Status body, const char* what);
  Status maybe_checkpoint();

  SqliteLogOptions options_;
  std::unique_ptr<LogDirectory> directory_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_entry_ = nullptr;
  sqlite3_stmt* delete_range_ = nullptr;
  sqlite3_stmt* select_range_ = nullptr;
  sqlite3_stmt* put_meta_ = nullptr;
  int wal_frames_ = 0;  // frames in the WAL, as reported by the WAL hook after each commit
};

}  // namespace raftkit
