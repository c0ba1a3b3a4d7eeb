// Fuzz target: the files recovery reads after a crash or from a leader, as a damaged disk or a hostile peer may leave
// them: a RocksDB write-ahead log and an SQLite WAL (the engines' own checks, run before the engine replays them),
// a snapshot file (opened, restored, verified, read in ranges), and a snapshot arriving in chunks. Whatever the
// bytes, each must answer OK or a Status, never crash, throw or hang; a snapshot that arrives whole and verifies
// must read back as the bytes that were sent.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "adapters/rocksdb/wal_check.h"
#include "adapters/snapshot/snapshot_store.h"
#include "adapters/sqlite/wal_check.h"

using namespace raftkit;
namespace fs = std::filesystem;

namespace {

// A directory of this process's own, in memory where there is one (the snapshot store syncs what it writes).
const fs::path& work_dir() {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("raftkit-fuzz-storage-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d / "rocksdb");
    return d;
  }();
  return dir;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Reads a snapshot file every way the runtime does; its metadata if its header is good.
std::optional<SnapshotMeta> read_snapshot(const std::string& path) {
  Result<std::unique_ptr<SnapshotReader>> reader = SnapshotReader::open(path);
  if (!reader.is_ok()) return std::nullopt;
  SnapshotReader& r = *reader.value();
  std::string body(4096, '\0');
  while (r.body().read(body.data(), static_cast<std::streamsize>(body.size())) || r.body().gcount() > 0) {
  }
  (void)r.verify();
  (void)r.read_raw(0, 4096);
  (void)r.read_raw(r.file_size() > 7 ? r.file_size() - 7 : 0, 64);
  (void)r.read_raw(~std::uint64_t{0} - 3, 16);
  return r.meta();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const fs::path& dir = work_dir();

  write_file(dir / "rocksdb" / "000007.log", bytes);
  (void)check_rocksdb_wal((dir / "rocksdb").string());
  write_file(dir / "log.db-wal", bytes);
  (void)check_sqlite_wal((dir / "log.db-wal").string());

  write_file(dir / "snapshot", bytes);
  const std::optional<SnapshotMeta> header = read_snapshot((dir / "snapshot").string());

  // The same bytes arriving from a leader in chunks (sizes taken from the first byte), under the metadata their
  // header claims (else made up), then installed if they arrive whole and verify.
  // A store of its own for each input: what an earlier input installed must not stand in for this one's.
  fs::remove_all(dir / "store");
  auto opened = SnapshotStore::open((dir / "store").string());
  if (!opened.is_ok()) std::abort();
  const std::unique_ptr<SnapshotStore> store = std::move(opened).value();
  SnapshotMeta meta{1, 1, {}};
  meta.configuration.voters = {1};
  if (header) meta = *header;
  auto incoming = store->receive(meta, bytes.size());
  if (!incoming.is_ok()) return 0;
  const std::size_t chunk = 1 + (size > 0 ? static_cast<std::uint8_t>(bytes[0]) % 64 : 0) * 37;
  bool refused = false;
  for (std::size_t at = 0; at < bytes.size() && !refused; at += chunk) {
    refused = !incoming.value()->write(at, std::string_view(bytes).substr(at, chunk)).is_ok();
  }
  (void)incoming.value()->write(0, "out of order");  // a chunk at the wrong offset must be refused, not written
  if (refused || !incoming.value()->finish().is_ok()) return 0;
  incoming.value().reset();
  if (!store->install(meta).is_ok()) return 0;
  auto latest = store->open_latest();
  if (!latest.is_ok()) std::abort();  // installed, verified when it finished: it must open
  auto raw = latest.value()->read_raw(0, bytes.size());
  if (!raw.is_ok() || raw.value() != bytes) std::abort();
  return 0;
}
