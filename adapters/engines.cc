#include "adapters/engines.h"

#include "adapters/lmdb/lmdb_log.h"
#include "adapters/memory/memory_log.h"
#include "adapters/rocksdb/rocksdb_log.h"
#include "adapters/sqlite/sqlite_log.h"

namespace raftkit {

const char* engine_name(Engine engine) {
  switch (engine) {
    case Engine::kRocksDb: return "rocksdb";
    case Engine::kLmdb: return "lmdb";
    case Engine::kSqlite: return "sqlite";
    case Engine::kMemory: return "memory";
  }
  return "unknown";
}

std::optional<Engine> engine_by_name(std::string_view name) {
  for (Engine e : {Engine::kRocksDb, Engine::kLmdb, Engine::kSqlite, Engine::kMemory}) {
    if (name == engine_name(e)) return e;
  }
  return std::nullopt;
}

Result<std::unique_ptr<DurableLog>> open_engine_log(Engine engine, const LogOptions& options, bool unsafe_no_sync) {
  auto wrap = [](auto r) -> Result<std::unique_ptr<DurableLog>> {
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  };
  if (unsafe_no_sync && engine != Engine::kRocksDb) {
    return Status(ErrorCode::kInvalidArgument, "unsafe_no_sync exists for the RocksDB engine only");
  }
  switch (engine) {
    case Engine::kRocksDb: {
      RocksDbLogOptions x;
      static_cast<LogOptions&>(x) = options;
      x.unsafe_no_sync = unsafe_no_sync;
      return wrap(RocksDbLog::open(x));
    }
    case Engine::kLmdb: {
      LmdbLogOptions x;
      static_cast<LogOptions&>(x) = options;
      return wrap(LmdbLog::open(x));
    }
    case Engine::kSqlite: {
      SqliteLogOptions x;
      static_cast<LogOptions&>(x) = options;
      return wrap(SqliteLog::open(x));
    }
    case Engine::kMemory: return std::unique_ptr<DurableLog>(std::make_unique<MemoryLog>());
  }
  return Status(ErrorCode::kInvalidArgument, "unknown engine");
}

DurableLogFactory engine_log_factory(Engine engine, bool unsafe_no_sync) {
  return [engine, unsafe_no_sync](const LogOptions& options) {
    return open_engine_log(engine, options, unsafe_no_sync);
  };
}

}  // namespace raftkit
