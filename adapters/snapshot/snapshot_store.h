// Durable snapshot files: the state machine's state at some log index, beside the durable log.
//
// A snapshot is one file, `snapshot-<index>-<term>.snap`:
//
//   header := "RKSNAP01" | meta length u32 | meta (index u64, term u64, configuration str) | crc32c(meta) u32
//   body   := the runtime's bytes (its own section, then the user's state machine's)
//   footer := body length u64 | crc32c(body) u32 | "RKSNAPOK"
//
// CONTRACT
//   * A snapshot becomes visible only whole and durable: it is written under a temporary name, fsynced, renamed,
//     and the directory fsynced; only then does commit() (or install()) return OK. latest() never names a file
//     that a crash could take back.
//   * An older snapshot is deleted only after a newer one is durable, so a crash at any moment leaves the newest
//     durable snapshot in place. The runtime compacts the durable log only after commit()/install() returned, so
//     the log's compaction point never passes the newest snapshot.
//   * Every byte is checksummed. A damaged newest snapshot is reported (kCorruption) when opened or read, never
//     skipped in favour of an older one: the log may already be compacted past the older one.
//   * Incoming snapshots (streamed from a leader) are written to `incoming-<index>-<term>.part` at increasing
//     offsets and survive restarts, so a transfer resumes where it stopped; finish() fsyncs and verifies the whole
//     file before the runtime lets Raft act on it, and a partial file that fails verification is discarded.
//   * One process at a time: the directory lives inside the peer's data directory, which its log locks. Within
//     the process the store is thread-safe: a background thread may commit while the Raft thread receives.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "consensus/log_types.h"
#include "consensus/status.h"

namespace raftkit {

struct SnapshotFile {
  SnapshotMeta meta;
  std::string path;
  std::uint64_t size = 0;  // bytes in the file, header and footer included
};

// Reads one snapshot file: its body as a stream for restoring, or raw byte ranges for streaming it to a follower.
// The file stays readable while it is open, even if the store deletes it meanwhile.
class SnapshotReader {
 public:
  static Result<std::unique_ptr<SnapshotReader>> open(const std::string& path);
  virtual ~SnapshotReader() = default;
  virtual const SnapshotMeta& meta() const = 0;
  virtual std::uint64_t file_size() const = 0;
  virtual std::uint64_t body_size() const = 0;
  // The body, read once from the start. After the consumer is done, verify() reads whatever it left and checks
  // the body's checksum: a restore is good only if verify() is OK.
  virtual std::istream& body() = 0;
  virtual Status verify() = 0;
  // Raw bytes of the whole file in [offset, offset + n), for streaming.
  virtual Result<std::string> read_raw(std::uint64_t offset, std::size_t n) const = 0;
};

// A snapshot being written locally. The body goes to stream(); commit() makes it the newest snapshot (or drops it,
// returning OK, if a newer one became durable meanwhile).
// Destroying an uncommitted writer removes its temporary file.
class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  virtual std::ostream& stream() = 0;
  virtual Status commit() = 0;
};

// A snapshot arriving from a leader, one chunk at a time, in order.
class IncomingSnapshot {
 public:
  virtual ~IncomingSnapshot() = default;
  virtual const SnapshotMeta& meta() const = 0;
  virtual std::uint64_t total_size() const = 0;
  // Bytes held so far (possibly from before a restart): the offset the next chunk must start at.
  virtual std::uint64_t received() const = 0;
  virtual Status write(std::uint64_t offset, std::string_view bytes) = 0;
  // All bytes are in: fsync and verify the whole file. On failure the partial file is removed (start again).
  virtual Status finish() = 0;
};

// The newest snapshot in a store's directory (its header checked), found without changing anything: for tools that
// inspect a stopped peer. Empty if there is none, or no directory.
Result<std::optional<SnapshotFile>> find_latest_snapshot(const std::string& directory);

class SnapshotStore {
 public:
  // Opens (creating it durably) the directory. Temporary files of local snapshots that never committed are
  // removed; incoming partial files are kept for resuming; snapshots older than the newest are removed.
  static Result<std::unique_ptr<SnapshotStore>> open(const std::string& directory);
  virtual ~SnapshotStore() = default;

  virtual std::optional<SnapshotFile> latest() const = 0;
  virtual Result<std::unique_ptr<SnapshotReader>> open_latest() const = 0;
  virtual Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) = 0;
  // Starts or resumes receiving. Partial files of other snapshots are removed.
  virtual Result<std::unique_ptr<IncomingSnapshot>> receive(const SnapshotMeta& meta, std::uint64_t total_size) = 0;
  // Makes a finished incoming snapshot the newest snapshot (rename, directory fsync), then removes older ones.
  virtual Status install(const SnapshotMeta& meta) = 0;
};

}  // namespace raftkit
