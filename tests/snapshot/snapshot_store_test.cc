// The snapshot store's contract (adapters/snapshot/snapshot_store.h): durable publication, old snapshots removed only
// after new ones, checksums reported never skipped, resumable incoming files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "adapters/snapshot/snapshot_store.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace raftkit;
namespace fs = std::filesystem;

SnapshotMeta meta(Index index, Term term) { return SnapshotMeta{index, term, Configuration{{1, 2, 3}, {}, {}}}; }

std::string body_of(SnapshotReader& r) {
  std::string s((std::istreambuf_iterator<char>(r.body())), std::istreambuf_iterator<char>());
  return s;
}

void commit(SnapshotStore& store, const SnapshotMeta& m, const std::string& body) {
  auto w = store.create(m);
  REQUIRE(w.is_ok());
  w.value()->stream() << body;
  REQUIRE(w.value()->commit().is_ok());
}

std::vector<std::string> files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("snapshot store: a committed snapshot is the latest and reads back whole", "[snapshot_store]") {
  raftkit::testing::TempDir dir;
  auto store = SnapshotStore::open(dir.path() + "/snaps").value();
  CHECK_FALSE(store->latest());
  const std::string body(300000, 'x');
  commit(*store, meta(10, 2), body);
  REQUIRE(store->latest());
  CHECK(store->latest()->meta == meta(10, 2));
  auto r = store->open_latest().value();
  CHECK(r->meta() == meta(10, 2));
  CHECK(r->body_size() == body.size());
  CHECK(body_of(*r) == body);
  CHECK(r->verify().is_ok());
  // A newer snapshot replaces it; the old file goes only then.
  commit(*store, meta(20, 3), "newer");
  CHECK(files(dir.path() + "/snaps").size() == 1);
  // Reopening finds it again.
  auto again = SnapshotStore::open(dir.path() + "/snaps").value();
  REQUIRE(again->latest());
  CHECK(again->latest()->meta == meta(20, 3));
}

TEST_CASE("snapshot store: an uncommitted snapshot leaves nothing behind", "[snapshot_store]") {
  raftkit::testing::TempDir dir;
  auto store = SnapshotStore::open(dir.path()).value();
  commit(*store, meta(5, 1), "kept");
  {
    auto w = store->create(meta(9, 1)).value();
    w->stream() << "abandoned";
  }
  CHECK(files(dir.path()).size() == 1);
  CHECK(store->latest()->meta == meta(5, 1));
  // A temporary file left by a crash is removed on open.
  std::ofstream(dir.path() + "/snapshot-00000000000000000012-00000000000000000001.snap.tmp") << "half";
  auto reopened = SnapshotStore::open(dir.path()).value();
  CHECK(files(dir.path()).size() == 1);
  CHECK(reopened->latest()->meta == meta(5, 1));
}

TEST_CASE("snapshot store: damage is reported, never skipped", "[snapshot_store]") {
  raftkit::testing::TempDir dir;
  std::string path;
  {
    auto store = SnapshotStore::open(dir.path()).value();
    commit(*store, meta(7, 2), std::string(100000, 'a'));
    path = store->latest()->path;
  }
  SECTION("a flipped body byte fails verification") {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('b');
    f.close();
    auto store = SnapshotStore::open(dir.path()).value();
    auto r = store->open_latest().value();
    (void)body_of(*r);
    CHECK(r->verify().code() == ErrorCode::kCorruption);
  }
  SECTION("a truncated file (no footer) is refused when the store opens") {
    fs::resize_file(path, fs::file_size(path) - 10);
    CHECK(SnapshotStore::open(dir.path()).status().code() == ErrorCode::kCorruption);
  }
  SECTION("a damaged header is refused") {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(14);
    f.put('\x7f');
    f.close();
    CHECK(SnapshotStore::open(dir.path()).status().code() == ErrorCode::kCorruption);
  }
}

TEST_CASE("snapshot store: incoming snapshots resume after a restart and install whole", "[snapshot_store]") {
  raftkit::testing::TempDir leader_dir, follower_dir;
  auto leader = SnapshotStore::open(leader_dir.path()).value();
  commit(*leader, meta(40, 4), std::string(50000, 'q'));
  auto source = leader->open_latest().value();
  const std::uint64_t total = source->file_size();
  {
    auto store = SnapshotStore::open(follower_dir.path()).value();
    auto in = store->receive(meta(40, 4), total).value();
    CHECK(in->received() == 0);
    REQUIRE(in->write(0, source->read_raw(0, 20000).value()).is_ok());
    // Out-of-order bytes are refused.
    CHECK(in->write(30000, source->read_raw(30000, 10).value()).code() == ErrorCode::kInvalidArgument);
  }
  auto store = SnapshotStore::open(follower_dir.path()).value();
  CHECK_FALSE(store->latest());  // a partial file is not a snapshot
  auto in = store->receive(meta(40, 4), total).value();
  CHECK(in->received() == 20000);
  REQUIRE(in->write(20000, source->read_raw(20000, total).value()).is_ok());
  REQUIRE(in->finish().is_ok());
  REQUIRE(store->install(meta(40, 4)).is_ok());
  CHECK(store->latest()->meta == meta(40, 4));
  auto r = store->open_latest().value();
  CHECK(body_of(*r) == std::string(50000, 'q'));
  CHECK(r->verify().is_ok());
}

TEST_CASE("snapshot store: an incoming snapshot that fails verification is discarded", "[snapshot_store]") {
  raftkit::testing::TempDir leader_dir, follower_dir;
  auto leader = SnapshotStore::open(leader_dir.path()).value();
  commit(*leader, meta(40, 4), std::string(5000, 'q'));
  auto source = leader->open_latest().value();
  std::string bytes = source->read_raw(0, source->file_size()).value();
  bytes[1000] ^= 1;
  auto store = SnapshotStore::open(follower_dir.path()).value();
  auto in = store->receive(meta(40, 4), bytes.size()).value();
  REQUIRE(in->write(0, bytes).is_ok());
  CHECK(in->finish().code() == ErrorCode::kCorruption);
  CHECK(files(follower_dir.path()).empty());
  CHECK(store->receive(meta(40, 4), bytes.size()).value()->received() == 0);
}

}  // namespace
