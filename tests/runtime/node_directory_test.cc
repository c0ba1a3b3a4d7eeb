// raftkit-admin's view of a stopped peer's data directory (admin/node_directory.h) on every persistent engine:
// what it shows, what it refuses, and the quorum-loss repair (the same over real processes: tests/kv_server/
// operations_test.py).
#include "admin/node_directory.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "adapters/snapshot/snapshot_store.h"
#include "runtime/command_codec.h"
#include "adapters/engines.h"
#include "runtime/membership.h"
#include "tests/support/temp_dir.h"

namespace raftkit {
namespace {

Configuration three_members() {
  Configuration c;
  c.voters = {1, 2, 3};
  std::vector<MemberRecord> book;
  for (NodeId id : c.voters) {
    book.push_back(MemberRecord{PeerAddress{id, "n" + std::to_string(id), "10.0.0." + std::to_string(id), 7000},
                                "http://10.0.0." + std::to_string(id) + ":8000", false});
  }
  c.metadata = encode_members(book);
  return c;
}

// A data directory as member `self` of a three-member cluster leaves it: a bootstrap configuration, ten commands in
// terms 1 and 3, voted for member 1 in term 3, commit at 8.
void write_node(const std::string& data_dir, Engine engine, NodeId self) {
  std::filesystem::create_directories(data_dir);
  std::ofstream(data_dir + "/member") << self << "\n";
  auto log = open_engine_log(engine, LogOptions{data_dir + "/log", "c", self});
  REQUIRE(log.is_ok());
  LogWrite w;
  w.entries.push_back(Entry{1, 1, EntryKind::kConfiguration, encode_configuration(three_members())});
  for (Index i = 2; i <= 11; ++i) {
    w.entries.push_back(Entry{i, i < 6 ? 1u : 3u, EntryKind::kNormal, encode_command("cmd" + std::to_string(i), 9, i)});
  }
  w.hard_state = HardState{3, 1, 8};
  REQUIRE(log.value()->write(w).is_ok());
}

}  // namespace

TEST_CASE("admin: a stopped peer's directory is shown, verified and forced into a one-member cluster", "[admin]") {
  for (Engine engine : {Engine::kRocksDb, Engine::kLmdb, Engine::kSqlite}) {
    DYNAMIC_SECTION(engine_name(engine)) {
      testing::TempDir dir;
      const std::string data = dir.path() + "/node";
      write_node(data, engine, 2);
      {
        auto d = NodeDirectory::open(data);
        REQUIRE(d.is_ok());
        CHECK(d.value()->identity().engine == engine_name(engine));
        CHECK(d.value()->identity().cluster_id == "c");
        CHECK(d.value()->member_id() == 2);
        CHECK(d.value()->log().last_index() == 11);
        auto c = d.value()->configuration();
        REQUIRE(c.is_ok());
        CHECK(c.value().configuration == three_members());
        CHECK(c.value().index == 1);
        CHECK_FALSE(c.value().from_snapshot);
        auto v = d.value()->verify();
        REQUIRE(v.is_ok());
        CHECK(v.value().entries == 11);
        CHECK(v.value().snapshot_bytes == 0);

        // A second opener (the peer itself, started meanwhile) is refused.
        auto second = NodeDirectory::open(data);
        REQUIRE_FALSE(second.is_ok());
        CHECK(second.status().code() == ErrorCode::kLocked);

        auto index = d.value()->force_new_cluster();
        REQUIRE(index.is_ok());
        CHECK(index.value() == 12);
      }
      auto d = NodeDirectory::open(data);
      REQUIRE(d.is_ok());
      const DurableLog& log = d.value()->log();
      CHECK(log.last_index() == 12);
      CHECK(log.hard_state() == HardState{3, 1, 12});  // same term, same vote, everything committed
      auto entries = log.read(1, 13, UINT64_MAX);
      REQUIRE(entries.is_ok());
      for (Index i = 2; i <= 11; ++i) CHECK(decode_command(entries.value()[i - 1].payload).text == "cmd" + std::to_string(i));
      CHECK(entries.value()[11].term == 3);
      auto c = d.value()->configuration();
      REQUIRE(c.is_ok());
      CHECK(c.value().index == 12);
      CHECK(c.value().configuration.voters == std::vector<NodeId>{2});
      CHECK(c.value().configuration.learners.empty());
      const std::vector<MemberRecord> book = members_of(c.value().configuration);
      REQUIRE(book.size() == 1);
      CHECK(book[0] == members_of(three_members())[1]);  // its address and info kept
    }
  }
}

TEST_CASE("admin: the configuration in effect may come from the log's compaction point", "[admin]") {
  testing::TempDir dir;
  const std::string data = dir.path() + "/node";
  write_node(data, Engine::kRocksDb, 3);
  {
    auto log = open_engine_log(Engine::kRocksDb, LogOptions{data + "/log", "c", 3});
    REQUIRE(log.is_ok());
    REQUIRE(log.value()->compact(SnapshotMeta{6, 3, three_members()}).is_ok());
  }
  auto d = NodeDirectory::open(data);
  REQUIRE(d.is_ok());
  auto c = d.value()->configuration();
  REQUIRE(c.is_ok());
  CHECK(c.value().from_snapshot);
  CHECK(c.value().index == 6);
  CHECK(c.value().configuration == three_members());
  REQUIRE(d.value()->force_new_cluster().is_ok());
  CHECK(d.value()->configuration().value().configuration.voters == std::vector<NodeId>{3});
}

TEST_CASE("admin: refusals change nothing", "[admin]") {
  testing::TempDir dir;
  SECTION("not a data directory") {
    auto d = NodeDirectory::open(dir.path());
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.status().code() == ErrorCode::kInvalidArgument);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/log"));
  }
  SECTION("a member the address book does not know") {
    const std::string data = dir.path() + "/node";
    write_node(data, Engine::kLmdb, 4);
    auto d = NodeDirectory::open(data);
    REQUIRE(d.is_ok());
    auto index = d.value()->force_new_cluster();
    REQUIRE_FALSE(index.is_ok());
    CHECK(index.status().code() == ErrorCode::kInvalidArgument);
    CHECK(d.value()->log().last_index() == 11);
    CHECK(d.value()->log().hard_state() == HardState{3, 1, 8});
  }
  SECTION("a snapshot from the leader not yet installed in the log") {
    const std::string data = dir.path() + "/node";
    write_node(data, Engine::kRocksDb, 2);
    {
      auto store = SnapshotStore::open(data + "/snapshots");
      REQUIRE(store.is_ok());
      // At an index the log holds, with another term (and, below, beyond the log): the peer would finish the install.
      for (const SnapshotMeta& meta : {SnapshotMeta{9, 2, three_members()}, SnapshotMeta{15, 4, three_members()}}) {
        auto writer = store.value()->create(meta);
        REQUIRE(writer.is_ok());
        writer.value()->stream() << "state";
        REQUIRE(writer.value()->commit().is_ok());
        auto d = NodeDirectory::open(data);
        REQUIRE(d.is_ok());
        REQUIRE(d.value()->newest_snapshot());
        CHECK(d.value()->newest_snapshot()->meta.last_index == meta.last_index);
        auto index = d.value()->force_new_cluster();
        REQUIRE_FALSE(index.is_ok());
        CHECK(index.status().code() == ErrorCode::kInvalidArgument);
        CHECK(d.value()->log().last_index() == 11);
      }
    }
  }
  SECTION("a damaged identity record") {
    const std::string data = dir.path() + "/node";
    write_node(data, Engine::kSqlite, 2);
    std::ifstream in(data + "/log/RAFTKIT_LOG");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("cluster=c"), 9, "cluster=d");
    std::ofstream(data + "/log/RAFTKIT_LOG", std::ios::trunc) << text;
    auto d = NodeDirectory::open(data);
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.status().code() == ErrorCode::kCorruption);
  }
}

}  // namespace raftkit
