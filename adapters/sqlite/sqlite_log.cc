#include "adapters/sqlite/sqlite_log.h"

#include <sqlite3.h>

#include <string_view>

#include "adapters/common/record_codec.h"
#include "adapters/sqlite/wal_check.h"

namespace raftkit {
namespace {

const std::string kHardStateKey = "hard_state";
const std::string kSnapshotKey = "snapshot";
const std::string kTailKey = "tail";

std::string_view column_blob(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  return std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

// Resets a statement on every path out of a scope.
struct StatementReset {
  sqlite3_stmt* stmt;
  ~StatementReset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

}  // namespace

Status SqliteLog::error(const std::string& what) const {
  const int code = sqlite3_extended_errcode(db_);
  const std::string message = what + ": " + sqlite3_errmsg(db_);
  switch (code & 0xff) {
    case SQLITE_FULL: return Status(ErrorCode::kNoSpace, message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status(ErrorCode::kCorruption, message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status(ErrorCode::kLocked, message);
    default: return Status(ErrorCode::kIo, message);
  }
}

Status SqliteLog::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    sqlite3_free(message);
    return error(std::string("exec ") + sql);
  }
  return Status::ok();
}

Result<std::unique_ptr<SqliteLog>> SqliteLog::open(const SqliteLogOptions& options) {
  auto dir = LogDirectory::open(options, "sqlite");
  if (!dir.is_ok()) return dir.status();
  std::unique_ptr<SqliteLog> log(new SqliteLog());
  log->options_ = options;
  log->directory_ = std::move(dir).value();
  const std::string path = log->directory_->path() + "/log.sqlite3";
  // Before SQLite replays its WAL (and would silently stop at a damaged frame), check that only a torn tail is
  // behind any damage.
  if (Status s = check_sqlite_wal(path + "-wal"); !s.is_ok()) return s;
  if (sqlite3_open_v2(path.c_str(), &log->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return log->error("open " + path);
  }
  int persist_wal = 1;
  sqlite3_file_control(log->db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
  if (Status s = log->exec("PRAGMA journal_mode=WAL"); !s.is_ok()) return s;
  if (Status s = log->exec(options.unsafe_synchronous_normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
      !s.is_ok()) {
    return s;
  }
  // Checkpoints are ours (see maybe_checkpoint): TRUNCATE ones, so no frame already copied into the database
  // stays in the WAL. SQLite's automatic PASSIVE checkpoints leave them there, and a damaged WAL could then be
  // replayed over newer pages.
  if (Status s = log->exec("PRAGMA wal_autocheckpoint=0"); !s.is_ok()) return s;
  sqlite3_wal_hook(log->db_, [](void* self, sqlite3*, const char*, int frames) {
    static_cast<SqliteLog*>(self)->wal_frames_ = frames;
    return SQLITE_OK;
  }, log.get());
  // Integrity of SQLite's own pages; our CRCs cover the records inside them.
  if (Status s = log->exec("PRAGMA cell_size_check=ON"); !s.is_ok()) return s;
  if (Status s = log->exec("CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, record BLOB NOT NULL);"
                           "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)");
      !s.is_ok()) {
    return s;
  }
  // The database and WAL files now exist; make their directory entries durable before acknowledging anything.
  if (Status s = log->directory_->sync(); !s.is_ok()) return s;
  if (Status s = log->prepare(); !s.is_ok()) return s;
  if (Status s = log->recover(); !s.is_ok()) return s;
  return log;
}

SqliteLog::~SqliteLog() {
  for (sqlite3_stmt* s : {insert_entry_, delete_range_, select_range_, put_meta_}) sqlite3_finalize(s);
  if (db_ != nullptr && !failed_) (void)exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db_);
}

Status SqliteLog::maybe_checkpoint() {
  // About 4 MiB of WAL at 4 KiB pages. The WAL keeps every frame until the checkpoint succeeds, but a failed one
  // may have failed in fsync of the database file: like any I/O failure, it stops the adapter until reopened.
  if (wal_frames_ < 1000) return Status::ok();
  wal_frames_ = 0;
  if (Status s = exec("PRAGMA wal_checkpoint(TRUNCATE)"); !s.is_ok()) {
    failed_ = true;
    return s;
  }
  return Status::ok();
}

Status SqliteLog::prepare() {
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } statements[] = {
      {&insert_entry_, "INSERT INTO entries (idx, record) VALUES (?1, ?2)"},
      {&delete_range_, "DELETE FROM entries WHERE idx >= ?1 AND idx < ?2"},
      {&select_range_, "SELECT idx, record FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"},
      {&put_meta_, "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2"},
  };
  for (auto& s : statements) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.stmt, nullptr) != SQLITE_OK) {
      return error(std::string("prepare ") + s.sql);
    }
  }
  return Status::ok();
}

Status SqliteLog::recover() {
  SnapshotMeta meta;
  std::optional<TailAnchor> anchor;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT key, value FROM meta", -1, &stmt, nullptr) != SQLITE_OK) return error("read meta");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const unsigned char* key_text = sqlite3_column_text(stmt, 0);
    if (key_text == nullptr) {
      sqlite3_finalize(stmt);
      return Status(ErrorCode::kCorruption, "sqlite meta table holds a row without a key");
    }
    const std::string key(reinterpret_cast<const char*>(key_text));
    if (key == kSnapshotKey) {
      Result<SnapshotMeta> m = decode_snapshot_meta(column_blob(stmt, 1));
      if (!m.is_ok()) {
        sqlite3_finalize(stmt);
        return m.status();
      }
      meta = m.value();
    } else if (key == kTailKey) {
      Result<TailAnchor> t = decode_tail_anchor(column_blob(stmt, 1));
      if (!t.is_ok()) {
        sqlite3_finalize(stmt);
        return t.status();
      }
      anchor = t.value();
    } else if (key == kHardStateKey) {
      Result<HardState> hs = decode_hard_state(column_blob(stmt, 1));
      if (!hs.is_ok()) {
        sqlite3_finalize(stmt);
        return hs.status();
      }
      hard_state_ = hs.value();
    }
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return error("read meta");
  index_.reset(meta);
  if (sqlite3_prepare_v2(db_, "SELECT idx, record FROM entries ORDER BY idx", -1, &stmt, nullptr) != SQLITE_OK) {
    return error("scan entries");
  }
  Status result = Status::ok();
  while (result.is_ok() && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto index = static_cast<Index>(sqlite3_column_int64(stmt, 0));
    Result<Term> term = decode_entry_term(column_blob(stmt, 1), index);
    result = term.is_ok() ? index_.recover_entry(index, term.value()) : term.status();
  }
  sqlite3_finalize(stmt);
  if (!result.is_ok()) return result;
  if (rc != SQLITE_DONE) return error("scan entries");
  if (Status s = index_.check_anchor(anchor); !s.is_ok()) return s;
  return Status::ok();
}

Result<std::vector<Entry>> SqliteLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (Status s = index_.check_range(lo, hi); !s.is_ok()) return s;
  std::vector<Entry> out;
  if (lo == hi) return out;
  StatementReset reset{select_range_};
  sqlite3_bind_int64(select_range_, 1, static_cast<sqlite3_int64>(lo));
  sqlite3_bind_int64(select_range_, 2, static_cast<sqlite3_int64>(hi));
  std::uint64_t bytes = 0;
  Index expect = lo;
  int rc;
  while ((rc = sqlite3_step(select_range_)) == SQLITE_ROW) {
    const auto index = static_cast<Index>(sqlite3_column_int64(select_range_, 0));
    if (index != expect) return Status(ErrorCode::kCorruption, "entry " + std::to_string(expect) + " is missing");
    Result<Entry> e = decode_entry(column_blob(select_range_, 1), index);
    if (!e.is_ok()) return e.status();
    bytes += entry_size(e.value());
    if (!out.empty() && bytes > max_bytes) return out;
    out.push_back(std::move(e).value());
    ++expect;
  }
  if (rc != SQLITE_DONE) return error("read entries");
  if (expect < hi) return Status(ErrorCode::kCorruption, "entry " + std::to_string(expect) + " is missing");
  return out;
}

Status SqliteLog::put_meta(const std::string& key, const std::string& value) {
  StatementReset reset{put_meta_};
  sqlite3_bind_text(put_meta_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_blob(put_meta_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  return sqlite3_step(put_meta_) == SQLITE_DONE ? Status::ok() : error("write " + key);
}

Status SqliteLog::delete_range(Index lo, Index hi) {
  StatementReset reset{delete_range_};
  sqlite3_bind_int64(delete_range_, 1, static_cast<sqlite3_int64>(lo));
  sqlite3_bind_int64(delete_range_, 2, static_cast<sqlite3_int64>(hi));
  return sqlite3_step(delete_range_) == SQLITE_DONE ? Status::ok() : error("delete entries");
}

Status SqliteLog::commit_or_fail(Status body, const char* what) {
  if (body.is_ok() && exec("COMMIT").is_ok()) return Status::ok();
  const Status s = body.is_ok() ? error(std::string("commit ") + what) : body;
  (void)exec("ROLLBACK");
  // A failed COMMIT may have failed in fsync: the WAL's state on disk is unknown until reopened.
  failed_ = true;
  return s;
}

Status SqliteLog::write(const LogWrite& batch) {
  if (failed_) return failed_status("sqlite");
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) return s;
  if (batch.empty()) return Status::ok();
  // Checkpoint before, not after, a transaction: if it fails, this call changed nothing.
  if (Status s = maybe_checkpoint(); !s.is_ok()) return s;
  if (Status s = exec("BEGIN IMMEDIATE"); !s.is_ok()) return s;
  Status body = Status::ok();
  if (batch.truncate_after && *batch.truncate_after < index_.last_index()) {
    body = delete_range(*batch.truncate_after + 1, index_.last_index() + 1);
  }
  for (std::size_t i = 0; body.is_ok() && i < batch.entries.size(); ++i) {
    const Entry& e = batch.entries[i];
    const std::string record = encode_entry(e);
    StatementReset reset{insert_entry_};
    sqlite3_bind_int64(insert_entry_, 1, static_cast<sqlite3_int64>(e.index));
    sqlite3_bind_blob(insert_entry_, 2, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_entry_) != SQLITE_DONE) body = error("insert entry " + std::to_string(e.index));
  }
  if (body.is_ok() && batch.hard_state) body = put_meta(kHardStateKey, encode_hard_state(*batch.hard_state));
  if (body.is_ok() && (batch.truncate_after || !batch.entries.empty())) {
    body = put_meta(kTailKey, encode_tail_anchor(index_.anchor_after(batch)));
  }
  if (Status s = commit_or_fail(body, "write"); !s.is_ok()) return s;
  if (batch.truncate_after) index_.truncate_after(*batch.truncate_after);
  for (const Entry& e : batch.entries) index_.append(e.index, e.term);
  if (batch.hard_state) hard_state_ = *batch.hard_state;
  return Status::ok();
}

Status SqliteLog::compact(const SnapshotMeta& meta) {
  if (failed_) return failed_status("sqlite");
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  if (Status s = maybe_checkpoint(); !s.is_ok()) return s;
  if (Status s = exec("BEGIN IMMEDIATE"); !s.is_ok()) return s;
  Status body = Status::ok();
  if (meta.last_index != index_.meta().last_index) body = delete_range(index_.first_index(), index_.compaction_end(meta));
  if (body.is_ok()) body = put_meta(kSnapshotKey, encode_snapshot_meta(meta));
  if (body.is_ok()) {
    TermIndex after = index_;
    after.compact(meta);
    body = put_meta(kTailKey, encode_tail_anchor(after.anchor()));
  }
  if (Status s = commit_or_fail(body, "compact"); !s.is_ok()) return s;
  index_.compact(meta);
  return Status::ok();
}

}  // namespace raftkit
