// The persistent engines as test fixtures: each opens on a directory, with default or explicit identity.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "adapters/lmdb/lmdb_log.h"
#include "adapters/rocksdb/rocksdb_log.h"
#include "adapters/sqlite/sqlite_log.h"

namespace raftkit::testing {

// Damage a stored log behind the adapter's back (the log must be closed): flip one byte inside the record of entry
// `index`, or delete that record entirely (a hole, as a lost write leaves).
void corrupt_entry(const std::string& engine, const std::string& dir, Index index, bool remove);

// Opens a persistent engine of type Log (with its Options) as a test fixture.
template <typename Log, typename Options, typename Name>
struct PersistentEngine {
  static constexpr const char* kName = Name::kValue;
  static constexpr bool kPersistent = true;
  static Result<std::unique_ptr<DurableLog>> try_open(const LogOptions& o) {
    Options options;
    static_cast<LogOptions&>(options) = o;
    Name::tune(options);
    auto r = Log::open(options);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  }
  static std::unique_ptr<DurableLog> open(const std::string& dir) {
    auto r = try_open(LogOptions{dir, "default", kNoNode});
    if (!r.is_ok()) FAIL("open failed: " << r.status().to_string());
    return std::move(r).value();
  }
};

struct RocksDbName {
  static constexpr const char* kValue = "rocksdb";
  static void tune(RocksDbLogOptions&) {}
};
struct LmdbName {
  static constexpr const char* kValue = "lmdb";
  static void tune(LmdbLogOptions& o) { o.initial_map_bytes = 1 << 20; }  // small, so tests exercise map growth
};
struct SqliteName {
  static constexpr const char* kValue = "sqlite";
  static void tune(SqliteLogOptions&) {}
};

using RocksDbEngine = PersistentEngine<RocksDbLog, RocksDbLogOptions, RocksDbName>;
using LmdbEngine = PersistentEngine<LmdbLog, LmdbLogOptions, LmdbName>;
using SqliteEngine = PersistentEngine<SqliteLog, SqliteLogOptions, SqliteName>;

}  // namespace raftkit::testing
