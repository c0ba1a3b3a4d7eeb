// The storage engines a peer's durable log can live on, and opening one by name: the one place that knows every
// engine the runtime ships (the peer, kv_server's command line and raftkit-admin use it).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "adapters/common/log_directory.h"
#include "adapters/durable_log.h"

namespace raftkit {

enum class Engine { kRocksDb, kLmdb, kSqlite, kMemory };

// "rocksdb", "lmdb", "sqlite", "memory": the names identity records and command lines use.
const char* engine_name(Engine engine);
std::optional<Engine> engine_by_name(std::string_view name);

// Opens (creating it if absent) the log in options.directory. unsafe_no_sync exists for RocksDB only (benchmarks);
// asking it of another engine is kInvalidArgument. kMemory ignores the directory.
Result<std::unique_ptr<DurableLog>> open_engine_log(Engine engine, const LogOptions& options,
                                                    bool unsafe_no_sync = false);

}  // namespace raftkit
