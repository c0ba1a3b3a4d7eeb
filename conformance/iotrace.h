// A recorder of file operations, interposed on the C library's calls in this process, so the conformance suite
// can rebuild what a disk would hold after a power loss at any moment.
//
// While recording, every call on a path under the traced root is logged with its bytes: open and create (with
// O_SYNC/O_DSYNC noted), write, pwrite, writev, pwritev, ftruncate, fallocate, fsync, fdatasync (of files and of
// directories), sync_file_range, msync, rename, unlink, mkdir, rmdir. Shared writable mmaps of traced files are
// flagged: stores through them are invisible here, and the suite's self-check then reports "I/O path not covered".
//
// Interposition works by symbol precedence: this library (libraftkit_iotrace.so) must be loaded before libc, which
// linking it into the test executable achieves. Failure injection makes the Nth sync or write on a traced file
// fail with a chosen errno, for the error-handling level.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace raftkit::iotrace {

enum class OpType {
  kCreate,     // path came into existence (file_id is its inode)
  kWrite,      // data at offset into file_id; `synced` when written through O_SYNC/O_DSYNC
  kResize,     // file_id's size set to `size` (ftruncate, O_TRUNC, fallocate that extends)
  kSync,       // fsync/fdatasync of file_id: its data and size are durable
  kDirSync,    // fsync of the directory `path`: its entries are durable
  kRename,     // path -> path2
  kUnlink,     // path
  kMkdir,      // path
  kRmdir,      // path
  kMark,       // an acknowledgement point of the workload (`mark`)
  kUncovered,  // an I/O path this recorder cannot see (`path` says which)
};

struct Op {
  OpType type = OpType::kMark;
  std::uint64_t file_id = 0;
  std::string path;
  std::string path2;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string data;
  bool synced = false;
  std::int64_t mark = 0;
};

// Starts recording operations under root (an absolute, existing directory). Clears any previous trace.
void start(const std::string& root);
// Starts recording operations under root, appending each to trace_file as it happens (encoded as below) instead
// of keeping them: what a process killed at any moment had done is in the file. A library loaded with LD_PRELOAD
// starts this by itself when RAFTKIT_IOTRACE_ROOT and RAFTKIT_IOTRACE_FILE (absolute paths) are set.
void start_streaming(const std::string& root, const std::string& trace_file);
// One operation as a length-prefixed record, and back. decode returns false (pos unchanged) on a truncated or
// malformed record: the last record of a killed process's trace may be cut short.
std::string encode(const Op& op);
bool decode(const std::string& bytes, std::size_t& pos, Op& op);
// Stops recording and returns the trace.
std::vector<Op> stop();
// Records an acknowledgement point (e.g. "operation k returned OK").
void mark(std::int64_t value);
bool active();

// Injection counts only calls made by the thread that arms it (an engine's background threads are left alone).
// The nth (1-based) fsync/fdatasync on a traced file from now fails with err without syncing; 0 disables.
void fail_nth_sync(int n, int err);
// The nth (1-based) write call on a traced file from now fails with err without writing; 0 disables.
void fail_nth_write(int n, int err);
int injected_failures();
// Write and sync calls on traced files made by the armed thread since it last armed (fail_nth_write(0, 0) arms
// without failing anything): where an operation's calls lie, to aim an injection into the middle of one.
struct CallCounts {
  long writes = 0;
  long syncs = 0;
};
CallCounts armed_calls();

// True when this process's calls really go through the recorder (it was loaded before libc).
bool interposition_works();

}  // namespace raftkit::iotrace
