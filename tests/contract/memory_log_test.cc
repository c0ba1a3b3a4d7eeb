// The durable-log contract on the in-memory engine, plus its crash mode.
#include <catch2/catch.hpp>

#include "adapters/memory/memory_log.h"

struct MemoryEngine {
  static constexpr const char* kName = "memory";
  static constexpr bool kPersistent = false;
  static std::unique_ptr<raftkit::DurableLog> open(const std::string&) { return std::make_unique<raftkit::MemoryLog>(); }
};
#define RAFTKIT_CONTRACT_ENGINE MemoryEngine
#include "tests/contract/durable_log_contract.inc"

namespace {

using namespace raftkit;

std::vector<Entry> entries(Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) out.push_back(Entry{i, term, EntryKind::kNormal, "e" + std::to_string(i)});
  return out;
}

LogWrite append_write(std::vector<Entry> es) {
  LogWrite w;
  w.entries = std::move(es);
  return w;
}

TEST_CASE("memory crash mode: a crash loses exactly the unsynced writes", "[memory][crash]") {
  MemoryLog log;
  REQUIRE(log.write_unsynced(append_write(entries(1, 5, 1))).is_ok());
  log.sync();
  LogWrite w = append_write(entries(6, 8, 1));
  w.hard_state = HardState{2, 3, 5};
  REQUIRE(log.write_unsynced(w).is_ok());
  REQUIRE(log.compact_unsynced(SnapshotMeta{2, 1, {}}).is_ok());
  CHECK(log.last_index() == 8);      // reads see unsynced writes
  CHECK(log.first_index() == 3);
  CHECK(log.unsynced_operations() == 2);
  log.crash();
  CHECK(log.last_index() == 5);
  CHECK(log.first_index() == 1);
  CHECK(log.hard_state() == HardState{});
  CHECK(log.unsynced_operations() == 0);
}

TEST_CASE("memory crash mode: a torn tail keeps a prefix of the last write but never its hard state", "[memory][crash]") {
  MemoryLog log;
  REQUIRE(log.write(append_write(entries(1, 2, 1))).is_ok());
  LogWrite w;
  w.truncate_after = 1;
  w.entries = entries(2, 6, 2);
  w.hard_state = HardState{2, 1, 0};
  REQUIRE(log.write_unsynced(w).is_ok());
  log.crash(0, 2);
  CHECK(log.last_index() == 3);
  CHECK(log.term_at(2).value() == 2);
  CHECK(log.hard_state() == HardState{});
  CHECK(log.recovery_report().trimmed_from == 4);
  CHECK(log.recovery_report().trimmed_entries == 3);
}

TEST_CASE("memory crash mode: synced writes survive a crash", "[memory][crash]") {
  MemoryLog log;
  REQUIRE(log.write_unsynced(append_write(entries(1, 3, 1))).is_ok());
  REQUIRE(log.write_unsynced(append_write(entries(4, 4, 1))).is_ok());
  log.sync();
  REQUIRE(log.write_unsynced(append_write(entries(5, 9, 1))).is_ok());
  log.crash(1);  // the first unsynced write happened to reach the disk
  CHECK(log.last_index() == 9);
  REQUIRE(log.write_unsynced(append_write(entries(10, 10, 1))).is_ok());
  log.crash();
  CHECK(log.last_index() == 9);
}

TEST_CASE("memory log: an I/O failure fails the log until it is reopened", "[memory]") {
  MemoryLog log;
  REQUIRE(log.append(entries(1, 2, 1)).is_ok());
  log.inject_io_failure();
  CHECK(log.append(entries(3, 3, 1)).code() == ErrorCode::kIo);
  CHECK(log.append(entries(3, 3, 1)).code() == ErrorCode::kFailed);
  CHECK(log.save_hard_state(HardState{1, 1, 0}).code() == ErrorCode::kFailed);
  CHECK(log.last_index() == 2);
  log.crash();  // "reopen"
  CHECK(log.append(entries(3, 3, 1)).is_ok());
}

}  // namespace
