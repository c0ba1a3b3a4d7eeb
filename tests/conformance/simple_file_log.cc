#include "tests/conformance/simple_file_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "adapters/common/crc32c.h"
#include "adapters/common/record_codec.h"

namespace raftkit::testing {
namespace {

Status errno_status(const std::string& what) {
  return Status(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo, what + ": " + std::strerror(errno));
}

constexpr std::uint32_t kBatchMagic = 0x52414654;  // "RAFT"
constexpr std::size_t kBatchHeader = 12;            // magic, payload length, payload CRC

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

// A batch, and where each entry's record starts within it.
std::string encode_batch(const std::vector<Entry>& entries, std::vector<std::uint64_t>& record_starts,
                         std::vector<std::uint64_t>& record_lengths) {
  std::string payload;
  for (const Entry& e : entries) {
    const std::string record = encode_entry(e);
    put32(payload, static_cast<std::uint32_t>(record.size()));
    record_starts.push_back(kBatchHeader + payload.size());
    record_lengths.push_back(record.size());
    payload += record;
  }
  std::string out;
  put32(out, kBatchMagic);
  put32(out, static_cast<std::uint32_t>(payload.size()));
  put32(out, crc32c(payload));
  return out + payload;
}

// The size of an intact batch at pos, or 0.
std::size_t intact_batch_at(std::string_view bytes, std::size_t pos) {
  if (bytes.size() - pos < kBatchHeader || get32(bytes, pos) != kBatchMagic) return 0;
  const std::size_t len = get32(bytes, pos + 4);
  if (bytes.size() - pos - kBatchHeader < len) return 0;
  return crc32c(bytes.substr(pos + kBatchHeader, len)) == get32(bytes, pos + 8) ? kBatchHeader + len : 0;
}

Status pwrite_all(int fd, const std::string& data, std::uint64_t at) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(at + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("pwrite");
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Result<std::string>(std::string()) : Result<std::string>(errno_status("open " + path));
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (n < 0) return errno_status("read " + path);
  return out;
}

}  // namespace

Result<std::unique_ptr<SimpleFileLog>> SimpleFileLog::open(const std::string& dir, Breakage breakage) {
  LogOptions options;
  options.directory = dir;
  auto d = LogDirectory::open(options, "simplefile");
  if (!d.is_ok()) return d.status();
  std::unique_ptr<SimpleFileLog> log(new SimpleFileLog());
  log->breakage_ = breakage;
  log->directory_ = std::move(d).value();
  if (Status s = log->recover(); !s.is_ok()) {
    if (breakage.corruption_as_io && s.code() == ErrorCode::kCorruption) {
      return Status(ErrorCode::kIo, "broken on purpose: " + s.message());
    }
    return s;
  }
  if (breakage.unlocks_after_open) {
    // Broken on purpose: let go of the directory lock (the descriptor of <dir>/LOCK) once open.
    for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(fd.path(), ec);
      if (!ec && target.parent_path() == log->directory_->path() && target.filename() != "entries.log") {
        ::flock(std::stoi(fd.path().filename().string()), LOCK_UN);
      }
    }
  }
  return log;
}

Result<Term> SimpleFileLog::term_at(Index index) const {
  if (breakage_.forgets_snapshot_term && snapshot_recovered_ && index == index_.meta().last_index && index > 0) {
    return Status(ErrorCode::kCompacted, "broken on purpose: the snapshot point's term is not kept across a reopen");
  }
  return IndexedLog::term_at(index);
}

SimpleFileLog::~SimpleFileLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status SimpleFileLog::sync_fd(int fd) {
  if (breakage_.no_fsync) return Status::ok();
  return ::fdatasync(fd) == 0 ? Status::ok() : errno_status("fdatasync");
}

Status SimpleFileLog::sync_dir() {
  if (breakage_.no_fsync || breakage_.no_dir_sync) return Status::ok();
  return directory_->sync();
}

Status SimpleFileLog::prepare_file(const std::string& name, const std::string& contents, bool sync_data) {
  const std::string path = directory_->path() + "/" + name + ".tmp";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("create " + path);
  Status s = pwrite_all(fd, contents, 0);
  if (s.is_ok() && sync_data) s = sync_fd(fd);
  ::close(fd);
  return s;
}

// Renames need no space: after prepare_file, only an I/O error can stop this.
Status SimpleFileLog::commit_file(const std::string& name, bool sync_dir_after) {
  const std::string path = directory_->path() + "/" + name;
  if (::rename((path + ".tmp").c_str(), path.c_str()) != 0) return errno_status("rename " + path);
  return sync_dir_after ? sync_dir() : Status::ok();
}

Status SimpleFileLog::replace_file(const std::string& name, const std::string& contents, bool sync_data) {
  if (Status s = prepare_file(name, contents, sync_data); !s.is_ok()) return s;
  return commit_file(name, sync_data);
}

Status SimpleFileLog::reopen_entries_file() {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = directory_->path() + "/entries.log";
  const bool existed = std::filesystem::exists(path);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_status("open " + path);
  if (!existed) return sync_dir();
  return Status::ok();
}

Status SimpleFileLog::recover() {
  Result<std::string> snap = read_file(directory_->path() + "/snapshot");
  if (!snap.is_ok()) return snap.status();
  SnapshotMeta meta;
  if (std::filesystem::exists(directory_->path() + "/snapshot")) {
    // A file that exists but is empty or short lost its write: that is damage, not "no snapshot".
    auto m = decode_snapshot_meta(snap.value());
    if (!m.is_ok()) return m.status();
    meta = m.value();
    snapshot_recovered_ = true;
  }
  std::uint64_t sealed = 0;
  if (std::filesystem::exists(directory_->path() + "/state")) {
    Result<std::string> state = read_file(directory_->path() + "/state");
    if (!state.is_ok()) return state.status();
    const std::string& st = state.value();
    if (st.size() != 28 + 12 || crc32c(std::string_view(st).substr(0, 36)) != get32(st, 36)) {
      return Status(ErrorCode::kCorruption, "state file is damaged");
    }
    auto h = decode_hard_state(std::string_view(st).substr(0, 28));
    if (!h.is_ok()) return h.status();
    hard_state_ = h.value();
    sealed = static_cast<std::uint64_t>(get32(st, 28)) | (static_cast<std::uint64_t>(get32(st, 32)) << 32);
  }
  index_.reset(meta);
  if (Status s = reopen_entries_file(); !s.is_ok()) return s;
  Result<std::string> data = read_file(directory_->path() + "/entries.log");
  if (!data.is_ok()) return data.status();
  const std::string_view bytes = data.value();
  if (breakage_.trims_corruption) sealed = 0;  // broken on purpose: forget what was acknowledged
  if (bytes.size() < sealed) {
    return Status(ErrorCode::kCorruption, "entries.log is " + std::to_string(bytes.size()) + " bytes, shorter than the " +
                                              std::to_string(sealed) + " acknowledged");
  }
  std::uint64_t pos = 0;
  bool discard_rest = false;  // the snapshot point's entry had another term: the log after it is void
  bool stale = false;         // the file still holds entries a compaction removed
  while (pos < bytes.size()) {
    if (breakage_.caps_recovery && offsets_.size() >= 2048) break;  // broken on purpose: "enough" recovered
    const std::size_t size = intact_batch_at(bytes, pos);
    if (size == 0) {
      if (pos < sealed) return Status(ErrorCode::kCorruption, "entries.log: damaged batch at offset " + std::to_string(pos) + " below the acknowledged length");
      if (!breakage_.trims_corruption) {
        // Only the one write in flight can be torn: an intact batch behind the damage means it is corruption.
        for (std::size_t scan = pos + 1; scan < bytes.size(); ++scan) {
          if (intact_batch_at(bytes, scan) != 0) {
            return Status(ErrorCode::kCorruption, "entries.log: damaged batch at offset " + std::to_string(pos) +
                                                      " with an intact one at " + std::to_string(scan) + " behind it");
          }
        }
      }
      break;  // a torn tail
    }
    for (std::size_t at = pos + kBatchHeader; at < pos + size;) {
      const std::uint32_t len = get32(bytes, at);
      const std::string_view record = bytes.substr(at + 4, len);
      Index idx = 0;
      for (int i = 0; i < 8; ++i) idx |= static_cast<Index>(static_cast<unsigned char>(record[i])) << (8 * i);
      Result<Term> term = decode_entry_term(record, idx);
      if (!term.is_ok()) return Status(ErrorCode::kCorruption, "entries.log: " + term.status().message());
      if (idx <= meta.last_index || discard_rest) {
        // Left over from before a compaction whose rewrite had not happened yet.
        if (idx == meta.last_index && term.value() != meta.last_term) discard_rest = true;
        stale = true;
      } else {
        offsets_.push_back(at + 4);
        lengths_.push_back(len);
        if (Status s = index_.recover_entry(idx, term.value()); !s.is_ok()) return s;
      }
      at += 4 + len;
    }
    pos += size;
  }
  if (pos < bytes.size()) {
    report_.detail = "trimmed " + std::to_string(bytes.size() - pos) + " bytes of a torn tail";
    if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0) return errno_status("ftruncate");
    if (Status s = sync_fd(fd_); !s.is_ok()) return s;
  }
  end_ = pos;
  // Finish an interrupted compaction: rewrite the file with only the live entries.
  if (stale) {
    auto live = read(index_.first_index(), index_.last_index() + 1, UINT64_MAX);
    if (!live.is_ok()) return live.status();
    return rewrite_entries(std::move(live).value(), hard_state_);
  }
  return Status::ok();
}

std::string encode_state(const HardState& hs, std::uint64_t sealed) {
  std::string st = encode_hard_state(hs);
  put32(st, static_cast<std::uint32_t>(sealed & 0xffffffffu));
  put32(st, static_cast<std::uint32_t>(sealed >> 32));
  put32(st, crc32c(st));
  return st;
}

Status SimpleFileLog::save_state(const HardState& hs, std::uint64_t sealed) {
  if (Status s = prepare_file("state", encode_state(hs, sealed), !breakage_.vote_not_synced); !s.is_ok()) return s;
  return commit_file("state", !breakage_.vote_not_synced);
}

Status SimpleFileLog::prepare_rewrite(const std::vector<Entry>& keep, const HardState& hs, Rewrite& out) {
  // (a) Unseal: until the new file is in place, no length of entries.log counts as acknowledged.
  if (Status s = save_state(hard_state_, 0); !s.is_ok()) return s;
  // (b) The new entries file and (c) the new state, both complete and synced under temporary names. Running
  //     out of space can only happen here, before anything visible changed.
  const std::string data = keep.empty() ? std::string() : encode_batch(keep, out.offsets, out.lengths);
  out.size = data.size();
  if (Status s = prepare_file("entries.log", data, true); !s.is_ok()) return s;
  return prepare_file("state", encode_state(hs, data.size()), !breakage_.vote_not_synced);
}

Status SimpleFileLog::commit_rewrite(Rewrite prepared) {
  // (d, e, f) Renames: entries first, then the state, then the directory.
  if (Status s = commit_file("entries.log", false); !s.is_ok()) return s;
  if (Status s = commit_file("state", true); !s.is_ok()) return s;
  offsets_ = std::move(prepared.offsets);
  lengths_ = std::move(prepared.lengths);
  end_ = prepared.size;
  return reopen_entries_file();
}

Status SimpleFileLog::rewrite_entries(std::vector<Entry> keep, const HardState& hs) {
  Rewrite prepared;
  if (Status s = prepare_rewrite(keep, hs, prepared); !s.is_ok()) return s;
  return commit_rewrite(std::move(prepared));
}

Result<std::vector<Entry>> SimpleFileLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (Status s = index_.check_range(lo, hi); !s.is_ok()) return s;
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    if (breakage_.stale_read_cache) {
      auto cached = read_cache_.find(i);
      if (cached != read_cache_.end()) {
        bytes += entry_size(cached->second);
        if (!out.empty() && bytes > max_bytes) break;
        out.push_back(cached->second);
        continue;
      }
    }
    const std::size_t k = i - index_.first_index();
    std::string buf(lengths_[k], '\0');
    if (::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offsets_[k])) != static_cast<ssize_t>(buf.size())) {
      return errno_status("pread");
    }
    Result<Entry> e = decode_entry(buf, i);
    if (!e.is_ok()) return e.status();
    bytes += entry_size(e.value());
    if (!out.empty() && bytes > max_bytes) break;
    if (breakage_.stale_read_cache) read_cache_[i] = e.value();
    out.push_back(std::move(e).value());
  }
  return out;
}

Status SimpleFileLog::append_batch(const std::vector<Entry>& entries, std::uint64_t at) {
  std::vector<std::uint64_t> starts;
  const std::string data = encode_batch(entries, starts, lengths_);
  for (std::uint64_t start : starts) offsets_.push_back(at + start);
  if (breakage_.leaves_partial_batch) {
    // Broken on purpose: piece by piece, and a failed piece leaves the earlier ones in place as if written.
    for (std::size_t done = 0; done < data.size(); done += 1u << 20) {
      if (Status s = pwrite_all(fd_, data.substr(done, 1u << 20), at + done); !s.is_ok()) {
        end_ = at + done;
        return s;
      }
    }
  } else if (Status s = pwrite_all(fd_, data, at); !s.is_ok()) {
    return s;
  }
  end_ = at + data.size();
  return Status::ok();
}

Status SimpleFileLog::write(const LogWrite& batch) {
  if (failed_ && !breakage_.not_failed_after_eio) return failed_status("simple file");
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) {
    if (breakage_.applies_refused_in_part) {
      // Broken on purpose: the parts that are valid alone are written before the refusal is returned.
      LogWrite part = batch;
      part.entries.clear();
      if (validate_log_write(*this, part).is_ok()) (void)write_unchecked(part);
      return s;
    }
    // Broken on purpose (accepts_second_vote): the same checks without the hard state's.
    LogWrite without_state = batch;
    without_state.hard_state.reset();
    if (!breakage_.accepts_second_vote || !batch.hard_state || !validate_log_write(*this, without_state).is_ok()) {
      return s;
    }
  }
  ++writes_;
  if (breakage_.splits_term_and_vote && batch.hard_state && batch.hard_state->term > hard_state_.term &&
      batch.hard_state->voted_for != kNoNode) {
    // Broken on purpose: the new term, durable without its vote, before the rest.
    HardState term_only = *batch.hard_state;
    term_only.voted_for = kNoNode;
    term_only.commit = hard_state_.commit;
    if (Status s = save_state(term_only, end_); !s.is_ok()) return s;
  }
  if (breakage_.volatile_truncation_to_snapshot && batch.truncate_after && batch.entries.empty() && !batch.hard_state &&
      *batch.truncate_after == index_.meta().last_index) {
    // Broken on purpose: the log looks empty, but nothing on disk says so.
    index_.truncate_after(*batch.truncate_after);
    offsets_.clear();
    lengths_.clear();
    return Status::ok();
  }
  if (breakage_.hard_state_first && batch.hard_state && !batch.entries.empty()) {
    // Broken on purpose: the new hard state is durable (over the old sealed length) before the entries are written.
    if (Status s = save_state(*batch.hard_state, end_); !s.is_ok()) return s;
  }
  Status s = write_unchecked(batch);
  if (breakage_.enospc_as_io && s.code() == ErrorCode::kNoSpace) return Status(ErrorCode::kIo, s.message());
  return s;
}

Status SimpleFileLog::write_unchecked(const LogWrite& batch) {
  Status s = Status::ok();
  std::uint64_t at = end_;
  const std::uint64_t old_end = end_;
  if (batch.truncate_after && *batch.truncate_after < index_.last_index()) {
    const std::size_t keep = *batch.truncate_after + 1 - index_.first_index();
    if (!breakage_.non_atomic_truncation) {
      // Atomic: a new file with the kept entries and the new ones, renamed over the old one.
      auto kept = read(index_.first_index(), *batch.truncate_after + 1, UINT64_MAX);
      if (!kept.is_ok()) return kept.status();
      std::vector<Entry> all = std::move(kept).value();
      all.insert(all.end(), batch.entries.begin(), batch.entries.end());
      const HardState hs = batch.hard_state ? *batch.hard_state : hard_state_;
      Rewrite rewrite;
      s = prepare_rewrite(all, hs, rewrite);
      if (!s.is_ok()) {
        if (s.code() != ErrorCode::kNoSpace) failed_ = true;  // a full disk: nothing visible changed
        return s;
      }
      index_.truncate_after(*batch.truncate_after);
      for (const Entry& e : batch.entries) index_.append(e.index, e.term);
      s = commit_rewrite(std::move(rewrite));
      if (!s.is_ok()) {
        failed_ = true;
        return s;
      }
      hard_state_ = hs;
      return Status::ok();
    }
    // Broken on purpose: cut in the middle of a batch, then append.
    at = offsets_[keep] - 4;
    offsets_.resize(keep);
    lengths_.resize(keep);
    index_.truncate_after(*batch.truncate_after);
  }
  const std::size_t old_count = offsets_.size();
  if (s.is_ok() && !batch.entries.empty()) s = append_batch(batch.entries, at);
  if (s.is_ok() && batch.entries.empty()) end_ = at;
  if (s.is_ok() && breakage_.non_atomic_truncation && old_end > end_) {
    s = sync_fd(fd_);  // the new entries are durable over the old ones' place...
    if (s.is_ok() && ::ftruncate(fd_, static_cast<off_t>(end_)) != 0) s = errno_status("ftruncate");  // ...then cut
  }
  const bool skip_sync = breakage_.ack_before_sync_every_nth > 0 && writes_ % breakage_.ack_before_sync_every_nth == 0;
  const HardState hs = batch.hard_state ? *batch.hard_state : hard_state_;
  // The new state is prepared (written and synced under a temporary name) before the point of no return, so a
  // full disk stops the call while the log is still exactly as before.
  if (s.is_ok()) s = prepare_file("state", encode_state(hs, end_), !breakage_.vote_not_synced && !skip_sync);
  if (s.is_ok() && !skip_sync) s = sync_fd(fd_);
  if (!s.is_ok()) {
    // Undo the unacknowledged append (shrinking needs no space); an I/O error still stops the adapter.
    if (breakage_.leaves_partial_batch) {
      offsets_.resize(old_count);  // forgotten in memory, but end_ stays past the pieces already written
      lengths_.resize(old_count);
    } else if (!breakage_.non_atomic_truncation && ::ftruncate(fd_, static_cast<off_t>(old_end)) == 0) {
      end_ = old_end;
      offsets_.resize(old_count);
      lengths_.resize(old_count);
    }
    if (s.code() != ErrorCode::kNoSpace) failed_ = true;
    return s;
  }
  // The point of no return: the entries are durable; the state's rename makes them sealed.
  s = commit_file("state", !breakage_.vote_not_synced && !skip_sync);
  if (!s.is_ok()) {
    failed_ = true;
    return s;
  }
  for (const Entry& e : batch.entries) index_.append(e.index, e.term);
  hard_state_ = hs;
  return Status::ok();
}

Status SimpleFileLog::compact(const SnapshotMeta& meta) {
  Status s = compact_unchecked(meta);
  if (breakage_.enospc_as_io && s.code() == ErrorCode::kNoSpace) return Status(ErrorCode::kIo, s.message());
  return s;
}

Status SimpleFileLog::compact_unchecked(const SnapshotMeta& meta) {
  if (failed_ && !breakage_.not_failed_after_eio && !breakage_.compacts_after_eio) return failed_status("simple file");
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  snapshot_recovered_ = false;
  const Index end = index_.compaction_end(meta);
  const bool moves = meta.last_index != index_.meta().last_index;
  // Everything that needs space is written first, under temporary names: a full disk stops the call here, with
  // the log exactly as before.
  Status s = prepare_file("snapshot", encode_snapshot_meta(meta), true);
  Rewrite rewrite;
  if (s.is_ok() && moves) {
    std::vector<Entry> keep;
    if (end <= index_.last_index()) {
      auto rest = read(end, index_.last_index() + 1, UINT64_MAX);
      if (!rest.is_ok()) return rest.status();
      keep = std::move(rest).value();
    }
    s = prepare_rewrite(keep, hard_state_, rewrite);
  }
  if (!s.is_ok()) {
    if (s.code() != ErrorCode::kNoSpace) failed_ = true;
    return s;
  }
  if (breakage_.compaction_entries_first) {
    // Broken on purpose: the entries go before the snapshot point that accounts for them is recorded.
    if (moves) s = commit_rewrite(std::move(rewrite));
    if (s.is_ok()) s = commit_file("snapshot", true);
  } else {
    // 1. The snapshot point, atomically: from here on, recovery ignores entries at or below it.
    s = commit_file("snapshot", true);
    // 2. The entries file without the compacted (or discarded) entries. A crash before this finishes leaves stale
    //    entries that recovery skips (they lie at or below the snapshot point) and rewrites.
    if (s.is_ok() && moves) s = commit_rewrite(std::move(rewrite));
  }
  if (!s.is_ok()) {
    failed_ = true;
    return s;
  }
  index_.compact(meta);
  return Status::ok();
}

}  // namespace raftkit::testing
