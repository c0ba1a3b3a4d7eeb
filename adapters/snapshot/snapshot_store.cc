#include "adapters/snapshot/snapshot_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <streambuf>
#include <vector>

#include "adapters/common/crc32c.h"
#include "adapters/common/log_directory.h"
#include "consensus/little_endian.h"

namespace raftkit {
namespace {

constexpr char kHeaderMagic[] = "RKSNAP01";
constexpr char kFooterMagic[] = "RKSNAPOK";
constexpr std::size_t kMagicBytes = 8;
constexpr std::size_t kFooterBytes = 8 + 4 + kMagicBytes;
constexpr std::size_t kMaxMetaBytes = 1 << 20;

Status io_error(const std::string& what, const std::string& path) {
  return Status(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}


std::string encode_meta(const SnapshotMeta& meta) {
  std::string m;
  put_u64(m, meta.last_index);
  put_u64(m, meta.last_term);
  m += encode_configuration(meta.configuration);
  return m;
}

std::string encode_header(const SnapshotMeta& meta) {
  const std::string m = encode_meta(meta);
  std::string h(kHeaderMagic, kMagicBytes);
  put_u32(h, static_cast<std::uint32_t>(m.size()));
  h += m;
  put_u32(h, crc32c(m));
  return h;
}

std::string file_name(const char* prefix, const SnapshotMeta& meta, const char* suffix) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s-%020llu-%020llu%s", prefix, static_cast<unsigned long long>(meta.last_index),
                static_cast<unsigned long long>(meta.last_term), suffix);
  return buf;
}

// "<prefix>-<index>-<term><suffix>" -> (index, term)
bool parse_name(const std::string& name, const std::string& prefix, const std::string& suffix, Index& index, Term& term) {
  if (name.size() <= prefix.size() + suffix.size() + 3 || name.compare(0, prefix.size() + 1, prefix + "-") != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return false;
  }
  unsigned long long i = 0, t = 0;
  char tail[8] = {};
  const std::string middle = name.substr(prefix.size() + 1, name.size() - prefix.size() - 1 - suffix.size());
  if (std::sscanf(middle.c_str(), "%llu-%llu%7s", &i, &t, tail) != 2) return false;
  index = i;
  term = t;
  return true;
}

// What a store's directory holds: its snapshots by index (term, file name), and temporary files of local snapshots
// that never committed.
struct SnapshotListing {
  std::map<Index, std::pair<Term, std::string>> snapshots;
  std::vector<std::string> leftovers;
};

Status list_snapshots(const std::string& dir, SnapshotListing& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return io_error("cannot list", dir);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    Index index = 0;
    Term term = 0;
    if (parse_name(name, "snapshot", ".snap", index, term)) {
      out.snapshots[index] = {term, name};
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      out.leftovers.push_back(name);
    }
  }
  ::closedir(d);
  return Status::ok();
}

// The newest snapshot of a non-empty listing, its header checked against its name.
Result<SnapshotFile> check_newest(const std::string& dir, const SnapshotListing& listing) {
  auto newest = std::prev(listing.snapshots.end());
  const std::string file = dir + "/" + newest->second.second;
  auto reader = SnapshotReader::open(file);
  if (!reader.is_ok()) return reader.status();
  if (reader.value()->meta().last_index != newest->first || reader.value()->meta().last_term != newest->second.first) {
    return Status(ErrorCode::kCorruption, "snapshot " + newest->second.second + " holds another snapshot's header");
  }
  return SnapshotFile{reader.value()->meta(), file, reader.value()->file_size()};
}

bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

bool pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pwrite(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

// Streams [begin, end) of a file, checksumming what it hands out.
class BodyBuf final : public std::streambuf {
 public:
  BodyBuf(int fd, std::uint64_t begin, std::uint64_t end) : fd_(fd), pos_(begin), end_(end), buf_(1 << 16) {}
  std::uint32_t crc() const { return crc_; }
  bool failed() const { return failed_; }
  // Reads (and checksums) whatever the consumer did not.
  void drain() {
    while (underflow() != traits_type::eof()) setg(eback(), egptr(), egptr());
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (pos_ >= end_ || failed_) return traits_type::eof();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), end_ - pos_));
    if (!pread_all(fd_, buf_.data(), n, pos_)) {
      failed_ = true;
      return traits_type::eof();
    }
    pos_ += n;
    crc_ = crc32c_extend(crc_, buf_.data(), n);
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  int fd_;
  std::uint64_t pos_, end_;
  std::vector<char> buf_;
  std::uint32_t crc_ = 0;
  bool failed_ = false;
};

class FileSnapshotReader final : public SnapshotReader {
 public:
  ~FileSnapshotReader() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status load(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return io_error("cannot open snapshot", path);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return io_error("cannot stat snapshot", path);
    size_ = static_cast<std::uint64_t>(st.st_size);
    auto corrupt = [&](const std::string& what) {
      return Status(ErrorCode::kCorruption, "snapshot " + path + ": " + what);
    };
    char head[kMagicBytes + 4];
    if (size_ < sizeof head + 4 + kFooterBytes || !pread_all(fd_, head, sizeof head, 0) ||
        std::memcmp(head, kHeaderMagic, kMagicBytes) != 0) {
      return corrupt("not a snapshot file or truncated header");
    }
    const std::uint64_t meta_len = get_fixed(head + kMagicBytes, 4);
    if (meta_len > kMaxMetaBytes || sizeof head + meta_len + 4 + kFooterBytes > size_) return corrupt("bad header length");
    std::string meta(meta_len + 4, '\0');
    if (!pread_all(fd_, meta.data(), meta.size(), sizeof head)) return corrupt("truncated header");
    if (crc32c(std::string_view(meta).substr(0, meta_len)) != get_fixed(meta.data() + meta_len, 4)) {
      return corrupt("header fails its checksum");
    }
    if (meta_len < 16) return corrupt("header too short");
    meta_.last_index = get_fixed(meta.data(), 8);
    meta_.last_term = get_fixed(meta.data() + 8, 8);
    Result<Configuration> c = decode_configuration(meta.substr(16, meta_len - 16));
    if (!c.is_ok()) return corrupt("configuration: " + c.status().message());
    meta_.configuration = c.value();
    body_begin_ = sizeof head + meta_len + 4;
    char foot[kFooterBytes];
    if (!pread_all(fd_, foot, sizeof foot, size_ - kFooterBytes) ||
        std::memcmp(foot + 12, kFooterMagic, kMagicBytes) != 0) {
      return corrupt("missing footer (an incomplete file)");
    }
    body_size_ = get_fixed(foot, 8);
    body_crc_ = static_cast<std::uint32_t>(get_fixed(foot + 8, 4));
    if (body_begin_ + body_size_ + kFooterBytes != size_) return corrupt("body length disagrees with the file size");
    buf_ = std::make_unique<BodyBuf>(fd_, body_begin_, body_begin_ + body_size_);
    stream_ = std::make_unique<std::istream>(buf_.get());
    return Status::ok();
  }

  const SnapshotMeta& meta() const override { return meta_; }
  std::uint64_t file_size() const override { return size_; }
  std::uint64_t body_size() const override { return body_size_; }
  std::istream& body() override { return *stream_; }
  Status verify() override {
    buf_->drain();
    if (buf_->failed()) return io_error("cannot read snapshot", path_);
    if (buf_->crc() != body_crc_) {
      return Status(ErrorCode::kCorruption, "snapshot " + path_ + ": body fails its checksum");
    }
    return Status::ok();
  }
  Result<std::string> read_raw(std::uint64_t offset, std::size_t n) const override {
    if (offset > size_) return Status(ErrorCode::kInvalidArgument, "read past the end of the snapshot");
    std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - offset)), '\0');
    if (!pread_all(fd_, out.data(), out.size(), offset)) return io_error("cannot read snapshot", path_);
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0, body_begin_ = 0, body_size_ = 0;
  std::uint32_t body_crc_ = 0;
  SnapshotMeta meta_;
  std::unique_ptr<BodyBuf> buf_;
  std::unique_ptr<std::istream> stream_;
};

// ---------------------------------------------------------------------------------------------------------------
// Writing

class FileStore;

class BodyWriteBuf final : public std::streambuf {
 public:
  BodyWriteBuf(int fd, std::uint64_t offset) : fd_(fd), pos_(offset), started_(offset), buf_(1 << 16) {
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  bool flush_all() {
    const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    if (n == 0) return !failed_;
    crc_ = crc32c_extend(crc_, pbase(), n);
    if (!pwrite_all(fd_, pbase(), n, pos_)) failed_ = true;
    pos_ += n;
    bytes_ += n;
    // Start writeback every few MiB (without waiting for it), so the final fsync does not flush a large snapshot
    // at once and stall the log's own fsyncs behind it (RocksDB's bytes_per_sync does the same).
    if (pos_ - started_ >= kWritebackBytes) {
      ::sync_file_range(fd_, static_cast<off_t>(started_), static_cast<off_t>(pos_ - started_), SYNC_FILE_RANGE_WRITE);
      started_ = pos_;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return !failed_;
  }
  std::uint32_t crc() const { return crc_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t end() const { return pos_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_all()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return flush_all() ? 0 : -1; }

 private:
  static constexpr std::uint64_t kWritebackBytes = 4 << 20;
  int fd_;
  std::uint64_t pos_;
  std::uint64_t started_;  // writeback requested up to here
  std::vector<char> buf_;
  std::uint32_t crc_ = 0;
  std::uint64_t bytes_ = 0;
  bool failed_ = false;
};

class FileStore final : public SnapshotStore {
 public:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}

  Status scan();
  std::optional<SnapshotFile> latest() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return latest_;
  }
  Result<std::unique_ptr<SnapshotReader>> open_latest() const override {
    // Opened under the lock, so a concurrent publish cannot delete the file between choosing and opening it.
    std::lock_guard<std::mutex> lock(mu_);
    if (!latest_) return Status(ErrorCode::kUnavailable, "no snapshot in " + dir_);
    return SnapshotReader::open(latest_->path);
  }
  Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) override;
  Result<std::unique_ptr<IncomingSnapshot>> receive(const SnapshotMeta& meta, std::uint64_t total_size) override;
  Status install(const SnapshotMeta& meta) override;

  // Publishes a durable file under its final name, then removes older snapshots.
  Status publish(const std::string& from, const SnapshotMeta& meta);
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  mutable std::mutex mu_;  // the runtime's Raft thread receives and installs while a background thread commits
  std::optional<SnapshotFile> latest_;
};

class FileSnapshotWriter final : public SnapshotWriter {
 public:
  FileSnapshotWriter(FileStore* store, SnapshotMeta meta, std::string tmp, int fd, std::uint64_t header_bytes)
      : store_(store), meta_(std::move(meta)), tmp_(std::move(tmp)), fd_(fd), buf_(fd, header_bytes), stream_(&buf_) {}
  ~FileSnapshotWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  std::ostream& stream() override { return stream_; }
  Status commit() override {
    if (committed_ || fd_ < 0) return Status(ErrorCode::kInvalidArgument, "snapshot already committed or failed");
    stream_.flush();
    if (!buf_.flush_all() || !stream_) return io_error("cannot write snapshot", tmp_);
    std::string footer;
    put_u64(footer, buf_.bytes());
    put_u32(footer, buf_.crc());
    footer.append(kFooterMagic, kMagicBytes);
    if (!pwrite_all(fd_, footer.data(), footer.size(), buf_.end())) return io_error("cannot write snapshot", tmp_);
    if (::fsync(fd_) != 0) return io_error("cannot fsync snapshot", tmp_);
    ::close(fd_);
    fd_ = -1;
    if (Status s = store_->publish(tmp_, meta_); !s.is_ok()) return s;
    committed_ = true;
    return Status::ok();
  }

 private:
  FileStore* store_;
  SnapshotMeta meta_;
  std::string tmp_;
  int fd_;
  BodyWriteBuf buf_;  // checksums exactly the body: the header is written beside it
  std::ostream stream_;
  bool committed_ = false;
};

class FileIncoming final : public IncomingSnapshot {
 public:
  FileIncoming(SnapshotMeta meta, std::string path, int fd, std::uint64_t total)
      : meta_(std::move(meta)), path_(std::move(path)), fd_(fd), total_(total) {}
  ~FileIncoming() override {
    if (fd_ >= 0) ::close(fd_);
  }
  // Takes over what a partial file from before a restart holds, re-reading it once to rebuild the checksum.
  Status resume(std::uint64_t have) {
    std::vector<char> buf(1 << 16);
    for (std::uint64_t pos = 0; pos < have;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), have - pos));
      if (!pread_all(fd_, buf.data(), n, pos)) return io_error("cannot read partial snapshot", path_);
      account(pos, std::string_view(buf.data(), n));
      pos += n;
    }
    received_ = have;
    return Status::ok();
  }
  const SnapshotMeta& meta() const override { return meta_; }
  std::uint64_t total_size() const override { return total_; }
  std::uint64_t received() const override { return received_; }
  Status write(std::uint64_t offset, std::string_view bytes) override {
    if (fd_ < 0 || offset != received_ || offset + bytes.size() > total_) {
      return Status(ErrorCode::kInvalidArgument, "chunk at " + std::to_string(offset) + " does not continue the " +
                                                     std::to_string(received_) + " bytes received");
    }
    if (!pwrite_all(fd_, bytes.data(), bytes.size(), offset)) return io_error("cannot write incoming snapshot", path_);
    account(offset, bytes);
    received_ += bytes.size();
    if (received_ - written_back_ >= (4u << 20)) {  // start writeback early, as for local snapshots
      ::sync_file_range(fd_, static_cast<off_t>(written_back_), static_cast<off_t>(received_ - written_back_),
                        SYNC_FILE_RANGE_WRITE);
      written_back_ = received_;
    }
    return Status::ok();
  }
  Status finish() override {
    if (received_ != total_) return Status(ErrorCode::kInvalidArgument, "incoming snapshot is incomplete");
    Status s = ::fsync(fd_) == 0 ? Status::ok() : io_error("cannot fsync incoming snapshot", path_);
    if (s.is_ok()) {
      // The header and footer are read back; the body was checksummed as it arrived, so several GiB are not
      // read a second time here (a restore verifies the file on disk again as it reads it).
      auto reader = SnapshotReader::open(path_);
      s = reader.status();
      if (s.is_ok() && !(reader.value()->meta() == meta_)) {
        s = Status(ErrorCode::kCorruption, "incoming snapshot's header names another snapshot");
      }
      if (s.is_ok() && !body_checksum_matches(*reader.value())) {
        s = Status(ErrorCode::kCorruption, "incoming snapshot's body fails its checksum");
      }
    }
    if (!s.is_ok()) {
      ::unlink(path_.c_str());
      received_ = 0;
      ::close(fd_);
      fd_ = -1;
    }
    return s;
  }

 private:
  // Extends the body checksum with the bytes of [offset, offset + n) that lie in the body. Bytes arrive in order,
  // and the header (which says where the body starts) comes first.
  void account(std::uint64_t offset, std::string_view bytes) {
    header_.append(bytes.substr(0, static_cast<std::size_t>(
                                       std::min<std::uint64_t>(bytes.size(), header_.size() < 12 ? 12 - header_.size() : 0))));
    if (body_begin_ == 0 && header_.size() >= 12) body_begin_ = 12 + get_fixed(header_.data() + 8, 4) + 4;
    if (body_begin_ == 0 || total_ < kFooterBytes) return;
    const std::uint64_t lo = std::max(offset, body_begin_), hi = std::min(offset + bytes.size(), total_ - kFooterBytes);
    if (lo < hi) crc_ = crc32c_extend(crc_, bytes.data() + (lo - offset), static_cast<std::size_t>(hi - lo));
  }
  bool body_checksum_matches(const SnapshotReader& reader) {
    char foot[kFooterBytes];
    return body_begin_ != 0 && pread_all(fd_, foot, sizeof foot, total_ - kFooterBytes) &&
           static_cast<std::uint32_t>(get_fixed(foot + 8, 4)) == crc_ && reader.body_size() + body_begin_ + kFooterBytes == total_;
  }

  SnapshotMeta meta_;
  std::string path_;
  int fd_;
  std::uint64_t total_;
  std::uint64_t received_ = 0;
  std::uint64_t written_back_ = 0;
  std::string header_;            // the first 12 bytes: magic and metadata length
  std::uint64_t body_begin_ = 0;  // 0 until known
  std::uint32_t crc_ = 0;
};

Status FileStore::scan() {
  SnapshotListing listing;
  if (Status s = list_snapshots(dir_, listing); !s.is_ok()) return s;
  for (const std::string& name : listing.leftovers) ::unlink(path(name).c_str());
  if (listing.snapshots.empty()) return Status::ok();
  Result<SnapshotFile> newest = check_newest(dir_, listing);
  if (!newest.is_ok()) return newest.status();
  latest_ = newest.value();
  for (const auto& [index, named] : listing.snapshots) {
    if (index != latest_->meta.last_index) ::unlink(path(named.second).c_str());
  }
  return Status::ok();
}

Result<std::unique_ptr<SnapshotWriter>> FileStore::create(const SnapshotMeta& meta) {
  const std::string tmp = path(file_name("snapshot", meta, ".snap.tmp"));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp);
  const std::string header = encode_header(meta);
  if (!pwrite_all(fd, header.data(), header.size(), 0)) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("cannot write", tmp);
  }
  return std::unique_ptr<SnapshotWriter>(std::make_unique<FileSnapshotWriter>(this, meta, tmp, fd, header.size()));
}

Result<std::unique_ptr<IncomingSnapshot>> FileStore::receive(const SnapshotMeta& meta, std::uint64_t total_size) {
  const std::string name = file_name("incoming", meta, ".part");
  std::lock_guard<std::mutex> lock(mu_);
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return io_error("cannot list", dir_);
  while (dirent* e = ::readdir(d)) {
    const std::string other = e->d_name;
    if (other != name && other.rfind("incoming-", 0) == 0) ::unlink(path(other).c_str());
  }
  ::closedir(d);
  const std::string p = path(name);
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", p);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return io_error("cannot stat", p);
  }
  std::uint64_t have = static_cast<std::uint64_t>(st.st_size);
  if (have > total_size) {
    // Another transfer of the same snapshot name with a different size: start over.
    if (::ftruncate(fd, 0) != 0) {
      ::close(fd);
      return io_error("cannot truncate", p);
    }
    have = 0;
  }
  auto incoming = std::make_unique<FileIncoming>(meta, p, fd, total_size);
  if (Status s = incoming->resume(have); !s.is_ok()) return s;
  return std::unique_ptr<IncomingSnapshot>(std::move(incoming));
}

Status FileStore::install(const SnapshotMeta& meta) {
  return publish(path(file_name("incoming", meta, ".part")), meta);
}

Status FileStore::publish(const std::string& from, const SnapshotMeta& meta) {
  const std::string name = file_name("snapshot", meta, ".snap");
  std::lock_guard<std::mutex> lock(mu_);
  if (latest_ && latest_->meta.last_index > meta.last_index) {
    // A newer snapshot became durable meanwhile (installed from the leader while this one was being written).
    ::unlink(from.c_str());
    return Status::ok();
  }
  if (::rename(from.c_str(), path(name).c_str()) != 0) return io_error("cannot rename snapshot to", path(name));
  if (Status s = fsync_directory(dir_); !s.is_ok()) return s;
  struct stat st;
  if (::stat(path(name).c_str(), &st) != 0) return io_error("cannot stat", path(name));
  const std::optional<SnapshotFile> previous = latest_;
  latest_ = SnapshotFile{meta, path(name), static_cast<std::uint64_t>(st.st_size)};
  // Only now, with the new one durable, may the old one go. (A reader that has it open keeps reading it.)
  if (previous && previous->path != latest_->path) ::unlink(previous->path.c_str());
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::open(const std::string& path) {
  auto r = std::make_unique<FileSnapshotReader>();
  if (Status s = r->load(path); !s.is_ok()) return s;
  return std::unique_ptr<SnapshotReader>(std::move(r));
}

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(const std::string& directory) {
  if (::mkdir(directory.c_str(), 0755) != 0) {
    if (errno != EEXIST) return io_error("cannot create", directory);
  } else {
    const std::string parent = directory.substr(0, directory.find_last_of('/'));
    if (Status s = fsync_directory(parent.empty() || parent == directory ? "." : parent); !s.is_ok()) return s;
  }
  auto store = std::make_unique<FileStore>(directory);
  if (Status s = store->scan(); !s.is_ok()) return s;
  return std::unique_ptr<SnapshotStore>(std::move(store));
}

Result<std::optional<SnapshotFile>> find_latest_snapshot(const std::string& directory) {
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0 && errno == ENOENT) return std::optional<SnapshotFile>();
  SnapshotListing listing;
  if (Status s = list_snapshots(directory, listing); !s.is_ok()) return s;
  if (listing.snapshots.empty()) return std::optional<SnapshotFile>();
  Result<SnapshotFile> newest = check_newest(directory, listing);
  if (!newest.is_ok()) return newest.status();
  return std::optional<SnapshotFile>(newest.value());
}

}  // namespace raftkit
