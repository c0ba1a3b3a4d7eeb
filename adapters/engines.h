// The storage engines raftkit ships, chosen by name at run time: the optional target raftkit::engines, which links
// every one of them. For programs whose operator picks the engine (kv_server --engine) or that open whatever a
// directory holds (raftkit-admin). A service built on one engine links that engine's target alone (raftkit::log_sqlite,
// say) and hands the peer a factory of its own (PeerOptions::open_log); the runtime links no engine.
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

// Opens (creating it if absent) the log in options.directory. unsafe_no_sync exists for RocksDB only and breaks
// durability on purpose (the log acknowledges writes before they are fsynced: for benchmarks, and for the
// Jepsen-style harness to prove its checks catch lost acknowledged writes); asking it of another engine is
// kInvalidArgument. kMemory ignores the directory.
Result<std::unique_ptr<DurableLog>> open_engine_log(Engine engine, const LogOptions& options,
                                                    bool unsafe_no_sync = false);

// The same, as a PeerOptions::open_log.
DurableLogFactory engine_log_factory(Engine engine, bool unsafe_no_sync = false);

}  // namespace raftkit
