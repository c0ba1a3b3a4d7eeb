// The interposed C library functions. Each calls the real one (found with dlsym(RTLD_NEXT)) and, when recording and
// the file lies under the traced root, logs what it did. A thread-local guard keeps our own bookkeeping out of
// the trace; a mutex orders records from an engine's background threads.
#include "conformance/iotrace.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "consensus/little_endian.h"

namespace raftkit::iotrace {
namespace {

struct FdInfo {
  std::uint64_t file_id;
  std::string path;
  bool synced;     // O_SYNC / O_DSYNC
  bool append;     // O_APPEND
  bool directory;
};

struct State {
  std::mutex mu;
  std::atomic<bool> recording{false};
  std::string root;
  std::vector<Op> trace;
  std::unordered_map<int, FdInfo> fds;
  int sync_countdown = 0, sync_errno = 0;
  pid_t armed_thread = 0;  // injection counts only calls from the thread that armed it
  int write_countdown = 0, write_errno = 0;
  int injected = 0;
  long armed_writes = 0, armed_syncs = 0;  // calls seen from the armed thread since it was armed
  std::atomic<int> probe_calls{0};
  int stream_fd = -1;  // when streaming (start_streaming): records go to this file, not to `trace`
};

State& state() {
  static State* s = new State();  // never destroyed: engines' threads may call us during exit
  return *s;
}

thread_local bool in_recorder = false;

struct Guard {
  bool was;
  Guard() : was(in_recorder) { in_recorder = true; }
  ~Guard() { in_recorder = was; }
};

template <typename F>
F real(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr) std::abort();
  return reinterpret_cast<F>(p);
}

std::string absolute(int dirfd, const char* path) {
  if (path == nullptr) return "";
  std::string p(path);
  if (!p.empty() && p[0] == '/') return p;
  std::string base;
  if (dirfd == AT_FDCWD) {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == nullptr) return p;
    base = cwd;
  } else {
    auto it = state().fds.find(dirfd);
    if (it != state().fds.end()) {
      base = it->second.path;
    } else {
      char link[64], target[PATH_MAX];
      std::snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
      const ssize_t n = readlink(link, target, sizeof target - 1);
      if (n < 0) return p;
      base.assign(target, static_cast<std::size_t>(n));
    }
  }
  // Normalise "./" prefixes; engines pass clean relative names otherwise.
  while (p.rfind("./", 0) == 0) p = p.substr(2);
  return base + "/" + p;
}

bool traced(const std::string& path) {
  State& s = state();
  return s.recording && !in_recorder && path.compare(0, s.root.size(), s.root) == 0 &&
         (path.size() == s.root.size() || path[s.root.size()] == '/');
}

void write_fully(int fd, const std::string& bytes) {
  static auto real_write = real<ssize_t (*)(int, const void*, size_t)>("write");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = real_write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) std::abort();  // a trace with a hole would let the disk model invent a state: stop instead
    done += static_cast<std::size_t>(n);
  }
}

// Called with state().mu held, so records reach the trace in the order they are made.
void record(Op op) {
  Guard g;
  if (state().stream_fd >= 0) {
    const int saved = errno;
    write_fully(state().stream_fd, encode(op));
    errno = saved;
    return;
  }
  state().trace.push_back(std::move(op));
}

// After a successful open: remember the fd and log a creation or truncation.
void opened(int fd, const std::string& path, int flags, bool existed) {
  if (fd < 0) return;
  Guard g;
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  std::lock_guard<std::mutex> lock(state().mu);
  const bool directory = S_ISDIR(st.st_mode);
  state().fds[fd] = FdInfo{st.st_ino, path, (flags & (O_SYNC | O_DSYNC)) != 0, (flags & O_APPEND) != 0, directory};
  if (!existed) {
    Op op;
    op.type = OpType::kCreate;
    op.file_id = st.st_ino;
    op.path = path;
    record(op);
  } else if ((flags & O_TRUNC) != 0 && !directory) {
    Op op;
    op.type = OpType::kResize;
    op.file_id = st.st_ino;
    op.size = 0;
    record(op);
  }
}

bool exists(const std::string& path) {
  Guard g;
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

int do_open(int dirfd, const char* path, int flags, mode_t mode) {
  static auto real_openat = real<int (*)(int, const char*, int, ...)>("openat");
  const std::string abs = (state().recording && !in_recorder) ? absolute(dirfd, path) : std::string();
  const bool trace = !abs.empty() && traced(abs);
  const bool existed = trace ? exists(abs) : true;
  const int fd = real_openat(dirfd, path, flags, mode);
  if (trace) opened(fd, abs, flags, existed);
  return fd;
}

mode_t mode_arg(int flags, va_list ap) {
  return (flags & (O_CREAT | O_TMPFILE)) != 0 ? static_cast<mode_t>(va_arg(ap, int)) : 0;
}

// Looks up a traced fd; returns false if the fd is not ours to record.
bool lookup(int fd, FdInfo& info) {
  if (!state().recording || in_recorder) return false;
  std::lock_guard<std::mutex> lock(state().mu);
  auto it = state().fds.find(fd);
  if (it == state().fds.end()) return false;
  info = it->second;
  return true;
}

bool inject_write_failure() {
  std::lock_guard<std::mutex> lock(state().mu);
  State& s = state();
  if (s.armed_thread != gettid()) return false;
  ++s.armed_writes;
  if (s.write_countdown > 0 && --s.write_countdown == 0) {
    ++s.injected;
    errno = s.write_errno;
    return true;
  }
  return false;
}

bool inject_sync_failure() {
  std::lock_guard<std::mutex> lock(state().mu);
  State& s = state();
  if (s.armed_thread != gettid()) return false;
  ++s.armed_syncs;
  if (s.sync_countdown > 0 && --s.sync_countdown == 0) {
    ++s.injected;
    errno = s.sync_errno;
    return true;
  }
  return false;
}

void wrote(const FdInfo& info, std::uint64_t offset, const char* data, std::size_t n) {
  Op op;
  op.type = OpType::kWrite;
  op.file_id = info.file_id;
  op.path = info.path;
  op.offset = offset;
  op.data.assign(data, n);
  op.synced = info.synced;
  std::lock_guard<std::mutex> lock(state().mu);
  record(std::move(op));
}

std::uint64_t current_offset(int fd, const FdInfo& info) {
  Guard g;
  if (info.append) {
    struct stat st;
    return fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }
  const off_t pos = lseek(fd, 0, SEEK_CUR);
  return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
}

void synced(const FdInfo& info) {
  Op op;
  op.type = info.directory ? OpType::kDirSync : OpType::kSync;
  op.file_id = info.file_id;
  op.path = info.path;
  std::lock_guard<std::mutex> lock(state().mu);
  record(std::move(op));
}

void path_op(OpType type, const std::string& a, const std::string& b = "") {
  Op op;
  op.type = type;
  op.path = a;
  op.path2 = b;
  std::lock_guard<std::mutex> lock(state().mu);
  record(std::move(op));
}

std::string gather(const struct iovec* iov, int iovcnt, std::size_t limit) {
  std::string out;
  for (int i = 0; i < iovcnt && out.size() < limit; ++i) {
    const std::size_t take = std::min(limit - out.size(), iov[i].iov_len);
    out.append(static_cast<const char*>(iov[i].iov_base), take);
  }
  return out;
}

void put_bytes(std::string& out, const std::string& b) {
  put_u64(out, b.size());
  out += b;
}

bool get_bytes(const std::string& in, std::size_t& pos, std::string& b) {
  std::uint64_t n;
  if (!get_u64(in, pos, n) || in.size() - pos < n) return false;
  b.assign(in, pos, n);
  pos += n;
  return true;
}

// Streaming from the environment, for a whole process run under LD_PRELOAD (the Jepsen harness's power-loss
// nemesis): RAFTKIT_IOTRACE_ROOT names the traced directory, RAFTKIT_IOTRACE_FILE the trace file appended to.
__attribute__((constructor)) void start_from_environment() {
  const char* root = std::getenv("RAFTKIT_IOTRACE_ROOT");
  const char* file = std::getenv("RAFTKIT_IOTRACE_FILE");
  if (root != nullptr && file != nullptr && root[0] == '/' && file[0] == '/') start_streaming(root, file);
}

}  // namespace

std::string encode(const Op& op) {
  std::string body;
  body.push_back(static_cast<char>(op.type));
  body.push_back(op.synced ? 1 : 0);
  put_u64(body, op.file_id);
  put_u64(body, op.offset);
  put_u64(body, op.size);
  put_u64(body, static_cast<std::uint64_t>(op.mark));
  put_bytes(body, op.path);
  put_bytes(body, op.path2);
  put_bytes(body, op.data);
  std::string out;
  put_u64(out, body.size());
  return out + body;
}

bool decode(const std::string& bytes, std::size_t& pos, Op& op) {
  std::size_t p = pos;
  std::uint64_t length, mark;
  if (!get_u64(bytes, p, length) || bytes.size() - p < length || length < 2) return false;
  const std::size_t end = p + length;
  const auto type = static_cast<unsigned char>(bytes[p]);
  if (type > static_cast<unsigned char>(OpType::kUncovered)) return false;
  op.type = static_cast<OpType>(type);
  op.synced = bytes[p + 1] != 0;
  p += 2;
  if (!get_u64(bytes, p, op.file_id) || !get_u64(bytes, p, op.offset) || !get_u64(bytes, p, op.size) ||
      !get_u64(bytes, p, mark) || !get_bytes(bytes, p, op.path) || !get_bytes(bytes, p, op.path2) ||
      !get_bytes(bytes, p, op.data) || p != end) {
    return false;
  }
  op.mark = static_cast<std::int64_t>(mark);
  pos = end;
  return true;
}

void start_streaming(const std::string& root, const std::string& trace_file) {
  static auto real_openat = real<int (*)(int, const char*, int, ...)>("openat");
  Guard g;
  const int fd = real_openat(AT_FDCWD, trace_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();  // asked to trace and cannot: running untraced would make a power loss meaningless
  start(root);
  std::lock_guard<std::mutex> lock(state().mu);
  state().stream_fd = fd;
}

void start(const std::string& root) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.root = root;
  while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
  s.trace.clear();
  s.fds.clear();
  s.injected = 0;
  s.recording = true;
}

std::vector<Op> stop() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.recording = false;
  s.sync_countdown = s.write_countdown = 0;
  std::vector<Op> out;
  out.swap(s.trace);
  return out;
}

void mark(std::int64_t value) {
  Op op;
  op.type = OpType::kMark;
  op.mark = value;
  std::lock_guard<std::mutex> lock(state().mu);
  if (state().recording) record(std::move(op));
}

bool active() { return state().recording; }

void fail_nth_sync(int n, int err) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().sync_countdown = n;
  state().sync_errno = err;
  state().armed_thread = gettid();
  state().armed_writes = state().armed_syncs = 0;
}

void fail_nth_write(int n, int err) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().write_countdown = n;
  state().write_errno = err;
  state().armed_thread = gettid();
  state().armed_writes = state().armed_syncs = 0;
}

CallCounts armed_calls() {
  std::lock_guard<std::mutex> lock(state().mu);
  return CallCounts{state().armed_writes, state().armed_syncs};
}

int injected_failures() {
  std::lock_guard<std::mutex> lock(state().mu);
  return state().injected;
}

bool interposition_works() {
  const int before = state().probe_calls.load();
  // Calls fdatasync through the PLT of this library's caller path: if our definition is the one bound, the probe
  // counter moves.
  static auto fdatasync_ptr = reinterpret_cast<int (*)(int)>(dlsym(RTLD_DEFAULT, "fdatasync"));
  fdatasync_ptr(-1);
  return state().probe_calls.load() != before;
}

}  // namespace raftkit::iotrace

using raftkit::iotrace::FdInfo;
using namespace raftkit::iotrace;

extern "C" {

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return do_open(AT_FDCWD, path, flags, mode);
}
int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return do_open(AT_FDCWD, path, flags, mode);
}
int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return do_open(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return do_open(dirfd, path, flags, mode);
}
int __open_2(const char* path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __open64_2(const char* path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char* path, int flags) { return do_open(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char* path, int flags) { return do_open(dirfd, path, flags, 0); }
int creat(const char* path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char* path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

int close(int fd) {
  static auto real_close = real<int (*)(int)>("close");
  if (state().recording && !in_recorder) {
    std::lock_guard<std::mutex> lock(state().mu);
    state().fds.erase(fd);
  }
  return real_close(fd);
}

ssize_t write(int fd, const void* buf, size_t n) {
  static auto real_write = real<ssize_t (*)(int, const void*, size_t)>("write");
  FdInfo info;
  if (!lookup(fd, info)) return real_write(fd, buf, n);
  if (inject_write_failure()) return -1;
  const std::uint64_t offset = current_offset(fd, info);
  const ssize_t r = real_write(fd, buf, n);
  if (r > 0) wrote(info, offset, static_cast<const char*>(buf), static_cast<std::size_t>(r));
  return r;
}

static ssize_t traced_pwrite(int fd, const void* buf, size_t n, off_t offset, const char* name) {
  using Fn = ssize_t (*)(int, const void*, size_t, off_t);
  static auto real_pwrite = real<Fn>("pwrite");
  (void)name;
  FdInfo info;
  if (!lookup(fd, info)) return real_pwrite(fd, buf, n, offset);
  if (inject_write_failure()) return -1;
  const ssize_t r = real_pwrite(fd, buf, n, offset);
  if (r > 0) wrote(info, static_cast<std::uint64_t>(offset), static_cast<const char*>(buf), static_cast<std::size_t>(r));
  return r;
}
ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) { return traced_pwrite(fd, buf, n, offset, "pwrite"); }
ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) { return traced_pwrite(fd, buf, n, offset, "pwrite64"); }

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  static auto real_writev = real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  FdInfo info;
  if (!lookup(fd, info)) return real_writev(fd, iov, iovcnt);
  if (inject_write_failure()) return -1;
  const std::uint64_t offset = current_offset(fd, info);
  const ssize_t r = real_writev(fd, iov, iovcnt);
  if (r > 0) {
    const std::string data = gather(iov, iovcnt, static_cast<std::size_t>(r));
    wrote(info, offset, data.data(), data.size());
  }
  return r;
}

static ssize_t traced_pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  static auto real_pwritev = real<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  FdInfo info;
  if (!lookup(fd, info)) return real_pwritev(fd, iov, iovcnt, offset);
  if (inject_write_failure()) return -1;
  const ssize_t r = real_pwritev(fd, iov, iovcnt, offset);
  if (r > 0) {
    const std::string data = gather(iov, iovcnt, static_cast<std::size_t>(r));
    wrote(info, static_cast<std::uint64_t>(offset), data.data(), data.size());
  }
  return r;
}
ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) { return traced_pwritev(fd, iov, iovcnt, offset); }
ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off_t offset) { return traced_pwritev(fd, iov, iovcnt, offset); }
ssize_t pwritev2(int fd, const struct iovec* iov, int iovcnt, off_t offset, int flags) {
  FdInfo info;
  if (lookup(fd, info) && (flags & (RWF_DSYNC | RWF_SYNC)) == 0 && offset >= 0) return traced_pwritev(fd, iov, iovcnt, offset);
  static auto real_pwritev2 = real<ssize_t (*)(int, const struct iovec*, int, off_t, int)>("pwritev2");
  if (lookup(fd, info)) path_op(OpType::kUncovered, info.path, "pwritev2 with flags");
  return real_pwritev2(fd, iov, iovcnt, offset, flags);
}

static int traced_sync(int fd, const char* name) {
  using Fn = int (*)(int);
  static auto real_fsync = real<Fn>("fsync");
  static auto real_fdatasync = real<Fn>("fdatasync");
  const bool data_only = std::strcmp(name, "fdatasync") == 0;
  if (fd == -1 && data_only) {
    state().probe_calls.fetch_add(1);
    errno = EBADF;
    return -1;
  }
  FdInfo info;
  if (!lookup(fd, info)) return data_only ? real_fdatasync(fd) : real_fsync(fd);
  if (inject_sync_failure()) return -1;
  const int r = data_only ? real_fdatasync(fd) : real_fsync(fd);
  if (r == 0) synced(info);
  return r;
}
int fsync(int fd) { return traced_sync(fd, "fsync"); }
int fdatasync(int fd) { return traced_sync(fd, "fdatasync"); }

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  static auto real_sfr = real<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  // sync_file_range makes nothing durable (no metadata, no disk cache flush): recorded as nothing at all.
  return real_sfr(fd, offset, nbytes, flags);
}

int msync(void* addr, size_t length, int flags) {
  static auto real_msync = real<int (*)(void*, size_t, int)>("msync");
  return real_msync(addr, length, flags);
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  static auto real_mmap = real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap");
  FdInfo info;
  if ((prot & PROT_WRITE) != 0 && (flags & MAP_SHARED) != 0 && lookup(fd, info)) {
    path_op(OpType::kUncovered, info.path, "shared writable mmap");
  }
  return real_mmap(addr, length, prot, flags, fd, offset);
}
void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return mmap(addr, length, prot, flags, fd, offset);
}

static int traced_ftruncate(int fd, off_t length) {
  static auto real_ftruncate = real<int (*)(int, off_t)>("ftruncate");
  FdInfo info;
  const bool trace = lookup(fd, info);
  const int r = real_ftruncate(fd, length);
  if (trace && r == 0) {
    Op op;
    op.type = OpType::kResize;
    op.file_id = info.file_id;
    op.path = info.path;
    op.size = static_cast<std::uint64_t>(length);
    std::lock_guard<std::mutex> lock(state().mu);
    record(std::move(op));
  }
  return r;
}
int ftruncate(int fd, off_t length) { return traced_ftruncate(fd, length); }
int ftruncate64(int fd, off_t length) { return traced_ftruncate(fd, length); }

static int traced_fallocate(int fd, int mode, off_t offset, off_t len) {
  static auto real_fallocate = real<int (*)(int, int, off_t, off_t)>("fallocate");
  FdInfo info;
  const bool trace = lookup(fd, info);
  struct stat before {};
  if (trace) {
    Guard g;
    fstat(fd, &before);
  }
  const int r = real_fallocate(fd, mode, offset, len);
  if (trace && r == 0 && (mode & FALLOC_FL_KEEP_SIZE) == 0 && offset + len > before.st_size) {
    Op op;
    op.type = OpType::kResize;
    op.file_id = info.file_id;
    op.path = info.path;
    op.size = static_cast<std::uint64_t>(offset + len);
    std::lock_guard<std::mutex> lock(state().mu);
    record(std::move(op));
  }
  return r;
}
int fallocate(int fd, int mode, off_t offset, off_t len) { return traced_fallocate(fd, mode, offset, len); }
int fallocate64(int fd, int mode, off_t offset, off_t len) { return traced_fallocate(fd, mode, offset, len); }

int rename(const char* from, const char* to) {
  static auto real_rename = real<int (*)(const char*, const char*)>("rename");
  const std::string a = absolute(AT_FDCWD, from), b = absolute(AT_FDCWD, to);
  const int r = real_rename(from, to);
  if (r == 0 && (traced(a) || traced(b))) path_op(OpType::kRename, a, b);
  return r;
}
int renameat(int fromfd, const char* from, int tofd, const char* to) {
  static auto real_renameat = real<int (*)(int, const char*, int, const char*)>("renameat");
  const std::string a = absolute(fromfd, from), b = absolute(tofd, to);
  const int r = real_renameat(fromfd, from, tofd, to);
  if (r == 0 && (traced(a) || traced(b))) path_op(OpType::kRename, a, b);
  return r;
}
int renameat2(int fromfd, const char* from, int tofd, const char* to, unsigned int flags) {
  static auto real_renameat2 = real<int (*)(int, const char*, int, const char*, unsigned int)>("renameat2");
  const std::string a = absolute(fromfd, from), b = absolute(tofd, to);
  const int r = real_renameat2(fromfd, from, tofd, to, flags);
  if (r == 0 && (traced(a) || traced(b))) path_op(flags == 0 ? OpType::kRename : OpType::kUncovered, a, b);
  return r;
}

int unlink(const char* path) {
  static auto real_unlink = real<int (*)(const char*)>("unlink");
  const std::string a = absolute(AT_FDCWD, path);
  const int r = real_unlink(path);
  if (r == 0 && traced(a)) path_op(OpType::kUnlink, a);
  return r;
}
int unlinkat(int dirfd, const char* path, int flags) {
  static auto real_unlinkat = real<int (*)(int, const char*, int)>("unlinkat");
  const std::string a = absolute(dirfd, path);
  const int r = real_unlinkat(dirfd, path, flags);
  if (r == 0 && traced(a)) path_op((flags & AT_REMOVEDIR) ? OpType::kRmdir : OpType::kUnlink, a);
  return r;
}
int mkdir(const char* path, mode_t mode) {
  static auto real_mkdir = real<int (*)(const char*, mode_t)>("mkdir");
  const std::string a = absolute(AT_FDCWD, path);
  const int r = real_mkdir(path, mode);
  if (r == 0 && traced(a)) path_op(OpType::kMkdir, a);
  return r;
}
int mkdirat(int dirfd, const char* path, mode_t mode) {
  static auto real_mkdirat = real<int (*)(int, const char*, mode_t)>("mkdirat");
  const std::string a = absolute(dirfd, path);
  const int r = real_mkdirat(dirfd, path, mode);
  if (r == 0 && traced(a)) path_op(OpType::kMkdir, a);
  return r;
}
int rmdir(const char* path) {
  static auto real_rmdir = real<int (*)(const char*)>("rmdir");
  const std::string a = absolute(AT_FDCWD, path);
  const int r = real_rmdir(path);
  if (r == 0 && traced(a)) path_op(OpType::kRmdir, a);
  return r;
}

}  // extern "C"
