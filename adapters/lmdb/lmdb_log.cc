#include "adapters/lmdb/lmdb_log.h"

#include <lmdb++.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <string_view>

#include "adapters/common/record_codec.h"

namespace raftkit {
namespace {

const std::string kHardStateKey = "hard_state";
const std::string kSnapshotKey = "snapshot";
const std::string kTailKey = "tail";

std::string_view view(const lmdb::val& v) { return std::string_view(v.data(), v.size()); }

Status from_lmdb(const lmdb::error& e, const std::string& what) {
  const int code = e.code();
  if (code == ENOSPC || code == MDB_MAP_FULL) return Status(ErrorCode::kNoSpace, what + ": " + e.what());
  if (code == MDB_CORRUPTED || code == MDB_PAGE_NOTFOUND || code == MDB_INVALID || code == MDB_VERSION_MISMATCH) {
    return Status(ErrorCode::kCorruption, what + ": " + e.what());
  }
  return Status(ErrorCode::kIo, what + ": " + e.what());
}

}  // namespace

struct LmdbLog::Handles {
  lmdb::env env{nullptr};
  MDB_dbi entries = 0;
  MDB_dbi meta = 0;
};

LmdbLog::LmdbLog() : handles_(std::make_unique<Handles>()) {}

LmdbLog::~LmdbLog() = default;

Result<std::unique_ptr<LmdbLog>> LmdbLog::open(const LmdbLogOptions& options) {
  auto dir = LogDirectory::open(options, "lmdb");
  if (!dir.is_ok()) return dir.status();
  std::unique_ptr<LmdbLog> log(new LmdbLog());
  log->options_ = options;
  log->directory_ = std::move(dir).value();
  const std::string path = log->directory_->path() + "/lmdb";
  // LMDB_READY is written once the environment has been created and made durable. Without it, any files are the
  // remains of a creation that a crash interrupted, before anything was acknowledged: start again.
  const std::string ready = log->directory_->path() + "/LMDB_READY";
  const bool created = std::filesystem::exists(ready);
  if (!created && std::filesystem::exists(path)) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    log->report_.detail = "discarded an environment whose creation had not completed";
  }
  ::mkdir(path.c_str(), 0755);
  try {
    log->handles_->env = lmdb::env::create();
    log->map_bytes_ = options.initial_map_bytes;
    // An existing environment may already be larger than the initial size; LMDB adopts the file's size on open
    // when the configured one is smaller, and mdb_env_info tells us which it chose.
    log->handles_->env.set_mapsize(log->map_bytes_);
    log->handles_->env.set_max_dbs(2);
    log->handles_->env.open(path.c_str(), options.unsafe_no_sync ? MDB_NOSYNC : 0, 0644);
    MDB_envinfo info;
    ::mdb_env_info(log->handles_->env.handle(), &info);
    log->map_bytes_ = info.me_mapsize;
    // Open the databases read-only when they exist: a damaged environment is then reported by the reads that
    // follow, instead of being written to during open.
    auto ro = lmdb::txn::begin(log->handles_->env.handle(), nullptr, MDB_RDONLY);
    MDB_dbi entries = 0, meta = 0;
    const bool exist = ::mdb_dbi_open(ro.handle(), "entries", 0, &entries) == MDB_SUCCESS &&
                       ::mdb_dbi_open(ro.handle(), "meta", 0, &meta) == MDB_SUCCESS;
    if (exist) {
      ro.commit();  // keeps the handles open for the environment
      log->handles_->entries = entries;
      log->handles_->meta = meta;
    } else if (info.me_last_txnid > 0) {
      // Transactions were committed here, yet our databases are gone: a damaged environment, never re-created.
      ro.abort();
      return Status(ErrorCode::kCorruption, "lmdb environment " + path + " has committed transactions but lacks its databases");
    } else {
      ro.abort();
      auto txn = lmdb::txn::begin(log->handles_->env.handle());
      log->handles_->entries = lmdb::dbi::open(txn, "entries", MDB_CREATE).handle();
      log->handles_->meta = lmdb::dbi::open(txn, "meta", MDB_CREATE).handle();
      txn.commit();
    }
  } catch (const lmdb::error& e) {
    return from_lmdb(e, "open lmdb environment " + path);
  }
  // The environment files were just created (or already existed): make their directory entries durable, and the
  // lmdb subdirectory's entry in ours.
  if (Status s = fsync_directory(path); !s.is_ok()) return s;
  if (Status s = log->directory_->sync(); !s.is_ok()) return s;
  if (!created) {
    if (Status s = write_file_durably(log->directory_->path(), "LMDB_READY", "lmdb environment created\n"); !s.is_ok()) {
      return s;
    }
  }
  if (Status s = log->recover(); !s.is_ok()) return s;
  return log;
}

Status LmdbLog::recover() {
  try {
    auto txn = lmdb::txn::begin(handles_->env.handle(), nullptr, MDB_RDONLY);
    lmdb::dbi meta_dbi(handles_->meta);
    lmdb::val key(kSnapshotKey), value;
    SnapshotMeta meta;
    if (meta_dbi.get(txn, key, value)) {
      Result<SnapshotMeta> m = decode_snapshot_meta(view(value));
      if (!m.is_ok()) return m.status();
      meta = m.value();
    }
    lmdb::val hs_key(kHardStateKey), hs_value;
    if (meta_dbi.get(txn, hs_key, hs_value)) {
      Result<HardState> hs = decode_hard_state(view(hs_value));
      if (!hs.is_ok()) return hs.status();
      hard_state_ = hs.value();
    }
    std::optional<TailAnchor> anchor;
    lmdb::val tail_key(kTailKey), tail_value;
    if (meta_dbi.get(txn, tail_key, tail_value)) {
      Result<TailAnchor> t = decode_tail_anchor(view(tail_value));
      if (!t.is_ok()) return t.status();
      anchor = t.value();
    }
    index_.reset(meta);
    auto cursor = lmdb::cursor::open(txn, handles_->entries);
    lmdb::val k, v;
    bool more = cursor.get(k, v, MDB_FIRST);
    while (more) {
      Result<Index> index = index_from_key(view(k));
      if (!index.is_ok()) return index.status();
      Result<Term> term = decode_entry_term(view(v), index.value());
      if (!term.is_ok()) return term.status();
      if (Status s = index_.recover_entry(index.value(), term.value()); !s.is_ok()) return s;
      more = cursor.get(k, v, MDB_NEXT);
    }
    cursor.close();
    txn.abort();
    if (Status s = index_.check_anchor(anchor); !s.is_ok()) return s;
  } catch (const lmdb::error& e) {
    return from_lmdb(e, "recover lmdb log");
  }
  return Status::ok();
}

Result<std::vector<Entry>> LmdbLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (Status s = index_.check_range(lo, hi); !s.is_ok()) return s;
  std::vector<Entry> out;
  if (lo == hi) return out;
  try {
    auto txn = lmdb::txn::begin(handles_->env.handle(), nullptr, MDB_RDONLY);
    auto cursor = lmdb::cursor::open(txn, handles_->entries);
    const std::string start = entry_key(lo);
    lmdb::val k(start), v;
    bool more = cursor.get(k, v, MDB_SET_KEY);
    std::uint64_t bytes = 0;
    Index expect = lo;
    for (; more && expect < hi; ++expect) {
      Result<Entry> e = decode_entry(view(v), expect);
      if (!e.is_ok()) return e.status();
      bytes += entry_size(e.value());
      if (!out.empty() && bytes > max_bytes) return out;
      out.push_back(std::move(e).value());
      more = cursor.get(k, v, MDB_NEXT);
    }
    if (expect < hi) return Status(ErrorCode::kCorruption, "entry " + std::to_string(expect) + " is missing");
  } catch (const lmdb::error& e) {
    return from_lmdb(e, "read entries");
  }
  return out;
}

void LmdbLog::put_anchor(MDB_txn* txn, const TailAnchor& anchor) {
  const std::string value = encode_tail_anchor(anchor);
  lmdb::val k(kTailKey), v(value);
  lmdb::dbi_put(txn, handles_->meta, k, v, 0);
}

template <typename Fn>
Status LmdbLog::in_write_txn(const char* what, Fn&& fn) {
  if (failed_) return failed_status("lmdb");
  for (;;) {
    // The raw C API for begin/commit: when mdb_txn_commit() fails, LMDB has already freed the transaction, and
    // lmdb++'s txn wrapper would abort it again in its destructor (a double free the conformance suite's EIO
    // injection found).
    MDB_txn* txn = nullptr;
    if (int rc = ::mdb_txn_begin(handles_->env.handle(), nullptr, 0, &txn); rc != MDB_SUCCESS) {
      failed_ = true;
      return Status(rc == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo, std::string(what) + ": " + ::mdb_strerror(rc));
    }
    int rc = MDB_SUCCESS;
    try {
      fn(txn);
    } catch (const lmdb::error& e) {
      ::mdb_txn_abort(txn);
      rc = e.code();
      if (rc != MDB_MAP_FULL) {
        failed_ = true;
        return from_lmdb(e, what);
      }
    }
    if (rc == MDB_SUCCESS) {
      rc = ::mdb_txn_commit(txn);  // frees txn whatever the outcome
      if (rc == MDB_SUCCESS) return Status::ok();
      if (rc != MDB_MAP_FULL) {
        // A failed commit may have failed in fdatasync: what is on disk is unknown until reopened.
        failed_ = true;
        return Status(rc == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo, std::string(what) + ": " + ::mdb_strerror(rc));
      }
    }
    // The map is full: the transaction is gone as a whole; grow the map and run it again. Growing needs no open
    // transactions in this process, which holds here: the runtime serialises calls.
    try {
      map_bytes_ *= 2;
      handles_->env.set_mapsize(map_bytes_);
    } catch (const lmdb::error& e) {
      failed_ = true;
      return from_lmdb(e, "grow the lmdb map");
    }
  }
}

Status LmdbLog::write(const LogWrite& batch) {
  if (failed_) return failed_status("lmdb");  // before anything else: an empty write must not pass either
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) return s;
  if (batch.empty()) return Status::ok();
  const Index last = index_.last_index();
  Status s = in_write_txn("write batch", [&](MDB_txn* txn) {
    if (batch.truncate_after && *batch.truncate_after < last) {
      for (Index i = *batch.truncate_after + 1; i <= last; ++i) {
        const std::string key = entry_key(i);
        lmdb::dbi_del(txn, handles_->entries, lmdb::val(key));
      }
    }
    for (const Entry& e : batch.entries) {
      // MDB_RESERVE: LMDB hands us the space in its page and we encode straight into it (one payload copy fewer).
      const std::string key = entry_key(e.index);
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{encoded_entry_size(e), nullptr};
      lmdb::dbi_put(txn, handles_->entries, &k, &v, MDB_APPEND | MDB_RESERVE);
      encode_entry_into(e, static_cast<char*>(v.mv_data));
    }
    if (batch.hard_state) {
      const std::string value = encode_hard_state(*batch.hard_state);
      lmdb::val k(kHardStateKey), v(value);
      lmdb::dbi_put(txn, handles_->meta, k, v, 0);
    }
    if (batch.truncate_after || !batch.entries.empty()) put_anchor(txn, index_.anchor_after(batch));
  });
  if (!s.is_ok()) return s;
  if (batch.truncate_after) index_.truncate_after(*batch.truncate_after);
  for (const Entry& e : batch.entries) index_.append(e.index, e.term);
  if (batch.hard_state) hard_state_ = *batch.hard_state;
  return Status::ok();
}

Status LmdbLog::compact(const SnapshotMeta& meta) {
  if (failed_) return failed_status("lmdb");
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  const Index end = index_.compaction_end(meta);
  const Index first = index_.first_index();
  const bool changes_point = meta.last_index != index_.meta().last_index;
  Status s = in_write_txn("compact", [&](MDB_txn* txn) {
    if (changes_point) {
      for (Index i = first; i < end; ++i) {
        const std::string key = entry_key(i);
        lmdb::dbi_del(txn, handles_->entries, lmdb::val(key));
      }
    }
    const std::string value = encode_snapshot_meta(meta);
    lmdb::val k(kSnapshotKey), v(value);
    lmdb::dbi_put(txn, handles_->meta, k, v, 0);
    TermIndex after = index_;
    after.compact(meta);
    put_anchor(txn, after.anchor());
  });
  if (!s.is_ok()) return s;
  index_.compact(meta);
  return Status::ok();
}

}  // namespace raftkit
