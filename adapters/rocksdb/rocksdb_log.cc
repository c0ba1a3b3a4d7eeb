#include "adapters/rocksdb/rocksdb_log.h"

#include <cstdarg>
#include <cstdio>
#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "adapters/common/record_codec.h"
#include "adapters/rocksdb/wal_check.h"

namespace raftkit {
namespace {

// Keys: 'e' + big-endian index for entries (so they sort by index), 'h' hard state, 's' snapshot metadata.
const std::string kHardStateKey = "h";
const std::string kSnapshotKey = "s";
std::string ekey(Index index) { return "e" + entry_key(index); }

Status from_rocksdb(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::ok();
  if (s.IsNoSpace()) return Status(ErrorCode::kNoSpace, what + ": " + s.ToString());
  if (s.IsCorruption()) return Status(ErrorCode::kCorruption, what + ": " + s.ToString());
  return Status(ErrorCode::kIo, what + ": " + s.ToString());
}

}  // namespace

namespace {

// RocksDB's informational log goes to standard error (warnings and worse), not to a LOG file beside the data: on a
// full disk, RocksDB's own error report to a LOG file whose last append failed trips an assertion in Debian's
// build and aborts the process, where the contract asks for kNoSpace and a failed adapter.
class StderrLogger : public rocksdb::Logger {
 public:
  StderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

}  // namespace

Result<std::unique_ptr<RocksDbLog>> RocksDbLog::open(const RocksDbLogOptions& options) {
  auto dir = LogDirectory::open(options, "rocksdb");
  if (!dir.is_ok()) return dir.status();
  std::unique_ptr<RocksDbLog> log(new RocksDbLog());
  log->options_ = options;
  log->directory_ = std::move(dir).value();
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  // Recovery stops at the first bad WAL record (a torn tail). check_rocksdb_wal() has already refused to open if
  // anything intact lay behind it, so what RocksDB drops here was never acknowledged.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_background_jobs = 2;
  // A failed write fails this adapter until it is reopened (the contract's kFailed). RocksDB must not try to
  // resume by itself behind it: its automatic recovery from a full disk syncs a WAL writer that already failed,
  // which Debian's build (assertions on) aborts the process for.
  db_options.max_bgerror_resume_count = 0;
  db_options.info_log = std::make_shared<StderrLogger>();
  if (Status s = check_rocksdb_wal(log->directory_->path() + "/rocksdb"); !s.is_ok()) return s;
  rocksdb::DB* db = nullptr;
  if (Status s = from_rocksdb(rocksdb::DB::Open(db_options, log->directory_->path() + "/rocksdb", &db), "open rocksdb");
      !s.is_ok()) {
    return s;
  }
  log->db_.reset(db);
  // RocksDB creates its directory; make that entry durable in ours.
  if (Status s = log->directory_->sync(); !s.is_ok()) return s;
  if (Status s = log->recover(); !s.is_ok()) return s;
  return log;
}

RocksDbLog::~RocksDbLog() {
  if (db_) (void)db_->Close();
}

Status RocksDbLog::recover() {
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::string value;
  SnapshotMeta meta;
  rocksdb::Status s = db_->Get(ro, kSnapshotKey, &value);
  if (s.ok()) {
    Result<SnapshotMeta> m = decode_snapshot_meta(value);
    if (!m.is_ok()) return m.status();
    meta = m.value();
  } else if (!s.IsNotFound()) {
    return from_rocksdb(s, "read snapshot metadata");
  }
  s = db_->Get(ro, kHardStateKey, &value);
  if (s.ok()) {
    Result<HardState> hs = decode_hard_state(value);
    if (!hs.is_ok()) return hs.status();
    hard_state_ = hs.value();
  } else if (!s.IsNotFound()) {
    return from_rocksdb(s, "read hard state");
  }
  index_.reset(meta);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek("e"); it->Valid() && it->key().starts_with("e"); it->Next()) {
    Result<Index> index = index_from_key(std::string_view(it->key().data() + 1, it->key().size() - 1));
    if (!index.is_ok()) return index.status();
    Result<Term> term = decode_entry_term(std::string_view(it->value().data(), it->value().size()), index.value());
    if (!term.is_ok()) return term.status();
    if (Status r = index_.recover_entry(index.value(), term.value()); !r.is_ok()) return r;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "scan entries");
  return Status::ok();
}

Result<std::vector<Entry>> RocksDbLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (Status s = index_.check_range(lo, hi); !s.is_ok()) return s;
  std::vector<Entry> out;
  if (lo == hi) return out;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  const std::string upper = ekey(hi);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::uint64_t bytes = 0;
  Index expect = lo;
  for (it->Seek(ekey(lo)); it->Valid() && expect < hi; it->Next(), ++expect) {
    Result<Entry> e = decode_entry(std::string_view(it->value().data(), it->value().size()), expect);
    if (!e.is_ok()) return e.status();
    bytes += entry_size(e.value());
    if (!out.empty() && bytes > max_bytes) return out;
    out.push_back(std::move(e).value());
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "read entries");
  // The index says these entries exist; the engine not having them is a lost write, not an empty answer.
  if (expect < hi) return Status(ErrorCode::kCorruption, "entry " + std::to_string(expect) + " is missing");
  return out;
}

Status RocksDbLog::write(const LogWrite& batch) {
  if (failed_) return failed_status("rocksdb");
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) return s;
  if (batch.empty()) return Status::ok();
  rocksdb::WriteBatch wb;
  if (batch.truncate_after && *batch.truncate_after < index_.last_index()) {
    wb.DeleteRange(ekey(*batch.truncate_after + 1), ekey(index_.last_index() + 1));
  }
  for (const Entry& e : batch.entries) wb.Put(ekey(e.index), encode_entry(e));
  if (batch.hard_state) wb.Put(kHardStateKey, encode_hard_state(*batch.hard_state));
  rocksdb::WriteOptions wo;
  wo.sync = !options_.unsafe_no_sync;
  if (Status s = from_rocksdb(db_->Write(wo, &wb), "write batch"); !s.is_ok()) {
    // After a failed sync the engine's state on disk is unknown: stop until reopened (and recovered).
    failed_ = true;
    return s;
  }
  if (batch.truncate_after) index_.truncate_after(*batch.truncate_after);
  for (const Entry& e : batch.entries) index_.append(e.index, e.term);
  if (batch.hard_state) hard_state_ = *batch.hard_state;
  return Status::ok();
}

Status RocksDbLog::compact(const SnapshotMeta& meta) {
  if (failed_) return failed_status("rocksdb");
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  rocksdb::WriteBatch wb;
  const Index end = index_.compaction_end(meta);
  if (meta.last_index != index_.meta().last_index && end > index_.first_index()) {
    wb.DeleteRange(ekey(index_.first_index()), ekey(end));
  }
  wb.Put(kSnapshotKey, encode_snapshot_meta(meta));
  rocksdb::WriteOptions wo;
  wo.sync = !options_.unsafe_no_sync;
  if (Status s = from_rocksdb(db_->Write(wo, &wb), "compact"); !s.is_ok()) {
    failed_ = true;
    return s;
  }
  index_.compact(meta);
  return Status::ok();
}

}  // namespace raftkit
