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

struct RocksDbEngine {
  static constexpr const char* kName = "rocksdb";
  static constexpr bool kPersistent = true;
  static Result<std::unique_ptr<DurableLog>> try_open(const LogOptions& o) {
    RocksDbLogOptions options;
    static_cast<LogOptions&>(options) = o;
    auto r = RocksDbLog::open(options);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  }
  static std::unique_ptr<DurableLog> open(const std::string& dir) {
    auto r = try_open(LogOptions{dir, "default", kNoNode});
    if (!r.is_ok()) FAIL("open failed: " << r.status().to_string());
    return std::move(r).value();
  }
};

struct LmdbEngine {
  static constexpr const char* kName = "lmdb";
  static constexpr bool kPersistent = true;
  static Result<std::unique_ptr<DurableLog>> try_open(const LogOptions& o) {
    LmdbLogOptions options;
    static_cast<LogOptions&>(options) = o;
    options.initial_map_bytes = 1 << 20;  // small, so tests exercise map growth
    auto r = LmdbLog::open(options);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  }
  static std::unique_ptr<DurableLog> open(const std::string& dir) {
    auto r = try_open(LogOptions{dir, "default", kNoNode});
    if (!r.is_ok()) FAIL("open failed: " << r.status().to_string());
    return std::move(r).value();
  }
};

struct SqliteEngine {
  static constexpr const char* kName = "sqlite";
  static constexpr bool kPersistent = true;
  static Result<std::unique_ptr<DurableLog>> try_open(const LogOptions& o) {
    SqliteLogOptions options;
    static_cast<LogOptions&>(options) = o;
    auto r = SqliteLog::open(options);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  }
  static std::unique_ptr<DurableLog> open(const std::string& dir) {
    auto r = try_open(LogOptions{dir, "default", kNoNode});
    if (!r.is_ok()) FAIL("open failed: " << r.status().to_string());
    return std::move(r).value();
  }
};

}  // namespace raftkit::testing
