// The RocksDB durable log: raftkit's default engine.
//
// Durability (docs/engines/rocksdb.md): every write() and compact() is one WriteBatch committed with
// WriteOptions::sync = true, so it is in the fsynced WAL when the call returns, and atomic by RocksDB's WAL replay.
// paranoid_checks makes RocksDB refuse to open over corruption it detects; our own CRC-32C on every record catches
// what it does not (a bit flip inside a value that passes the block checksum, a misdirected write).
#pragma once

#include <memory>

#include "adapters/common/log_directory.h"
#include "adapters/common/indexed_log.h"
#include "adapters/durable_log.h"

namespace rocksdb {
class DB;
}

namespace raftkit {

struct RocksDbLogOptions : LogOptions {
  // UNSAFE, for benchmarks of the engine's ceiling only: acknowledge writes before they are fsynced. A power loss
  // then loses acknowledged entries and votes, which breaks Raft. Never enable in a deployment.
  bool unsafe_no_sync = false;
};

class RocksDbLog final : public IndexedLog {
 public:
  static Result<std::unique_ptr<RocksDbLog>> open(const RocksDbLogOptions& options);
  ~RocksDbLog() override;

  Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max_bytes) const override;
  Status write(const LogWrite& batch) override;
  Status compact(const SnapshotMeta& meta) override;

 private:
  RocksDbLog() = default;
  Status recover();

  RocksDbLogOptions options_;
  std::unique_ptr<LogDirectory> directory_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace raftkit
