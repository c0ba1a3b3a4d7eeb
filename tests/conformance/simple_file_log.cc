#include "tests/conformance/simple_file_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "adapters/common/record_codec.h"

namespace raftkit::testing {
namespace {

Status errno_status(const std::string& what) {
  return Status(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo, what + ": " + std::strerror(errno));
}

std::string frame(const Entry& e) {
  const std::string record = encode_entry(e);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((record.size() >> (8 * i)) & 0xff);
  return out + record;
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
  if (Status s = log->recover(); !s.is_ok()) return s;
  return log;
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

Status SimpleFileLog::replace_file(const std::string& name, const std::string& contents, bool sync_data) {
  const std::string path = directory_->path() + "/" + name;
  const int fd = ::open((path + ".tmp").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("create " + path);
  Status s = pwrite_all(fd, contents, 0);
  if (s.is_ok() && sync_data) s = sync_fd(fd);
  ::close(fd);
  if (!s.is_ok()) return s;
  if (::rename((path + ".tmp").c_str(), path.c_str()) != 0) return errno_status("rename " + path);
  return sync_data ? sync_dir() : Status::ok();
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
  if (!snap.value().empty()) {
    auto m = decode_snapshot_meta(snap.value());
    if (!m.is_ok()) return m.status();
    meta = m.value();
  }
  Result<std::string> hs = read_file(directory_->path() + "/hardstate");
  if (!hs.is_ok()) return hs.status();
  if (!hs.value().empty()) {
    auto h = decode_hard_state(hs.value());
    if (!h.is_ok()) return h.status();
    hard_state_ = h.value();
  }
  index_.reset(meta);
  if (Status s = reopen_entries_file(); !s.is_ok()) return s;
  Result<std::string> data = read_file(directory_->path() + "/entries.log");
  if (!data.is_ok()) return data.status();
  const std::string& bytes = data.value();
  std::uint64_t pos = 0;
  bool discard_rest = false;  // the snapshot point's entry had another term: the log after it is void
  bool stale = false;         // the file still holds entries a compaction removed
  while (pos < bytes.size()) {
    std::uint32_t len = 0;
    if (bytes.size() - pos < 4) break;  // torn tail: the last write never finished
    for (int i = 0; i < 4; ++i) len |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
    if (len < 21 || bytes.size() - pos - 4 < len) break;  // torn tail
    const std::string_view record = std::string_view(bytes).substr(pos + 4, len);
    Index idx = 0;
    for (int i = 0; i < 8; ++i) idx |= static_cast<Index>(static_cast<unsigned char>(record[i])) << (8 * i);
    Result<Term> term = decode_entry_term(record, idx);
    if (!term.is_ok()) {
      // The tail of the last write may be torn; a bad record anywhere before it is corruption.
      if (pos + 4 + len >= bytes.size() || breakage_.trims_corruption) break;
      return Status(ErrorCode::kCorruption, "entries.log: " + term.status().message() + " at offset " + std::to_string(pos));
    }
    if (idx <= meta.last_index || discard_rest) {
      // Left over from before a compaction whose rewrite had not happened yet.
      if (idx == meta.last_index && term.value() != meta.last_term) discard_rest = true;
      stale = true;
    } else {
      offsets_.push_back(pos);
      if (Status s = index_.recover_entry(idx, term.value()); !s.is_ok()) return s;
    }
    pos += 4 + len;
  }
  if (pos < bytes.size()) {
    report_.detail = "trimmed " + std::to_string(bytes.size() - pos) + " bytes of a torn tail";
    if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0) return errno_status("ftruncate");
    if (Status s = sync_fd(fd_); !s.is_ok()) return s;
  }
  end_ = pos;
  // Finish an interrupted compaction: rewrite the file with only the live entries.
  if (stale) return rewrite_entries(index_.first_index());
  return Status::ok();
}

Status SimpleFileLog::rewrite_entries(Index from) {
  std::vector<Entry> keep;
  if (from <= index_.last_index()) {
    auto rest = read(from, index_.last_index() + 1, UINT64_MAX);
    if (!rest.is_ok()) return rest.status();
    keep = std::move(rest).value();
  }
  const std::string tmp = directory_->path() + "/entries.log.tmp";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("create " + tmp);
  std::string data;
  offsets_.clear();
  for (const Entry& e : keep) {
    offsets_.push_back(data.size());
    data += frame(e);
  }
  Status s = pwrite_all(fd, data, 0);
  if (s.is_ok()) s = sync_fd(fd);
  ::close(fd);
  if (s.is_ok() && ::rename(tmp.c_str(), (directory_->path() + "/entries.log").c_str()) != 0) s = errno_status("rename");
  if (s.is_ok()) s = sync_dir();
  if (s.is_ok()) s = reopen_entries_file();
  end_ = data.size();
  return s;
}

Result<std::vector<Entry>> SimpleFileLog::read(Index lo, Index hi, std::uint64_t max_bytes) const {
  if (Status s = index_.check_range(lo, hi); !s.is_ok()) return s;
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const std::uint64_t at = offsets_[i - index_.first_index()];
    const std::uint64_t next = i + 1 <= index_.last_index() ? offsets_[i + 1 - index_.first_index()] : end_;
    std::string buf(next - at, '\0');
    if (::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(buf.size())) {
      return errno_status("pread");
    }
    Result<Entry> e = decode_entry(std::string_view(buf).substr(4), i);
    if (!e.is_ok()) return e.status();
    bytes += entry_size(e.value());
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(std::move(e).value());
  }
  return out;
}

Status SimpleFileLog::append_frames(const std::vector<Entry>& entries, std::uint64_t at) {
  std::string data;
  for (const Entry& e : entries) {
    offsets_.push_back(at + data.size());
    data += frame(e);
  }
  if (Status s = pwrite_all(fd_, data, at); !s.is_ok()) return s;
  end_ = at + data.size();
  return Status::ok();
}

Status SimpleFileLog::write(const LogWrite& batch) {
  if (failed_) return Status(ErrorCode::kFailed, "simple file log failed; reopen it");
  if (Status s = validate_log_write(*this, batch); !s.is_ok()) return s;
  ++writes_;
  Status s = Status::ok();
  std::uint64_t at = end_;
  if (batch.truncate_after && *batch.truncate_after < index_.last_index()) {
    at = offsets_[*batch.truncate_after + 1 - index_.first_index()];
    offsets_.resize(*batch.truncate_after + 1 - index_.first_index());
    index_.truncate_after(*batch.truncate_after);
    if (!breakage_.non_atomic_truncation) {
      // Cut first and make the cut durable: a crash then shows the old log shortened, never old and new mixed.
      if (::ftruncate(fd_, static_cast<off_t>(at)) != 0) s = errno_status("ftruncate");
      if (s.is_ok()) s = sync_fd(fd_);
    }
  }
  const std::uint64_t old_end = end_;
  if (s.is_ok() && !batch.entries.empty()) s = append_frames(batch.entries, at);
  if (s.is_ok() && batch.entries.empty()) end_ = at;
  if (s.is_ok() && breakage_.non_atomic_truncation && old_end > end_) {
    s = sync_fd(fd_);  // the new entries are durable over the old ones' place...
    if (s.is_ok() && ::ftruncate(fd_, static_cast<off_t>(end_)) != 0) s = errno_status("ftruncate");  // ...then cut
  }
  const bool skip_sync = breakage_.ack_before_sync_every_nth > 0 && writes_ % breakage_.ack_before_sync_every_nth == 0;
  if (s.is_ok() && !skip_sync) s = sync_fd(fd_);
  if (s.is_ok() && batch.hard_state) {
    s = replace_file("hardstate", encode_hard_state(*batch.hard_state), !breakage_.vote_not_synced);
  }
  if (!s.is_ok()) {
    failed_ = true;
    return s;
  }
  for (const Entry& e : batch.entries) index_.append(e.index, e.term);
  if (batch.hard_state) hard_state_ = *batch.hard_state;
  return Status::ok();
}

Status SimpleFileLog::compact(const SnapshotMeta& meta) {
  if (failed_) return Status(ErrorCode::kFailed, "simple file log failed; reopen it");
  if (Status s = validate_compaction(*this, meta); !s.is_ok()) return s;
  const Index end = index_.compaction_end(meta);
  const bool moves = meta.last_index != index_.meta().last_index;
  // 1. The snapshot point, atomically: from here on, recovery ignores entries at or below it.
  if (Status s = replace_file("snapshot", encode_snapshot_meta(meta), true); !s.is_ok()) {
    failed_ = true;
    return s;
  }
  // 2. Rewrite the entries file without the compacted (or discarded) entries. A crash before this finishes
  //    leaves stale entries that recovery skips (they lie at or below the snapshot point) and rewrites.
  Status s = moves ? rewrite_entries(end) : Status::ok();
  if (!s.is_ok()) {
    failed_ = true;
    return s;
  }
  index_.compact(meta);
  return Status::ok();
}

}  // namespace raftkit::testing
