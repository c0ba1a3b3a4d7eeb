// Storage engines compared: append throughput at several payload and batch sizes, reads, truncation, compaction
// and reopen time, for memory, RocksDB, LMDB and SQLite; and in the same run the ceilings: a plain file
// append+fdatasync loop and each engine's own synced write of the same bytes without raftkit's layer, so the
// report can show our cost as a ratio to the raw engine. scripts/bench-engines.sh turns the JSON into
// docs/bench/engines.md.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <lmdb.h>
#include <rocksdb/db.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "adapters/common/record_codec.h"
#include "adapters/lmdb/lmdb_log.h"
#include "adapters/memory/memory_log.h"
#include "adapters/rocksdb/rocksdb_log.h"
#include "adapters/sqlite/sqlite_log.h"

namespace {

using namespace raftkit;
namespace fs = std::filesystem;

std::string scratch_dir() {
  const char* base = std::getenv("RAFTKIT_BENCH_DIR");
  std::string templ = (fs::path(base ? base : fs::temp_directory_path().string()) / "raftkit-bench-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) std::abort();
  return templ;
}

enum class Engine { kMemory, kRocksDb, kLmdb, kSqlite };
const char* engine_name(Engine e) {
  switch (e) {
    case Engine::kMemory: return "memory";
    case Engine::kRocksDb: return "rocksdb";
    case Engine::kLmdb: return "lmdb";
    case Engine::kSqlite: return "sqlite";
  }
  return "?";
}

std::unique_ptr<DurableLog> open_engine(Engine e, const std::string& dir) {
  switch (e) {
    case Engine::kMemory: return std::make_unique<MemoryLog>();
    case Engine::kRocksDb: {
      RocksDbLogOptions o;
      o.directory = dir;
      return std::move(RocksDbLog::open(o)).value();
    }
    case Engine::kLmdb: {
      LmdbLogOptions o;
      o.directory = dir;
      return std::move(LmdbLog::open(o)).value();
    }
    case Engine::kSqlite: {
      SqliteLogOptions o;
      o.directory = dir;
      return std::move(SqliteLog::open(o)).value();
    }
  }
  return nullptr;
}

std::vector<Entry> batch_at(Index first, std::size_t count, std::size_t payload) {
  std::vector<Entry> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(Entry{first + i, 1, EntryKind::kNormal, std::string(payload, 'p')});
  return out;
}

void set_rates(benchmark::State& state, std::size_t entries, std::size_t bytes) {
  state.counters["entries_per_second"] = benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
  state.counters["MB_per_second"] =
      benchmark::Counter(static_cast<double>(bytes) / 1e6, benchmark::Counter::kIsRate);
}

// args: engine, payload bytes, batch size
void BM_Append(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const auto payload = static_cast<std::size_t>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const std::string dir = scratch_dir();
  {
    auto log = open_engine(engine, dir + "/log");
    Index next = 1;
    std::size_t entries = 0;
    for (auto _ : state) {
      state.PauseTiming();
      auto b = batch_at(next, batch, payload);
      state.ResumeTiming();
      if (!log->append(std::move(b)).is_ok()) state.SkipWithError("append failed");
      next += batch;
      entries += batch;
    }
    set_rates(state, entries, entries * payload);
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

// The ceilings. args: kind (0 file, 1 rocksdb, 2 lmdb, 3 sqlite), payload, batch. Same bytes per synced write.
void BM_RawSyncedWrite(benchmark::State& state) {
  const auto kind = state.range(0);
  const auto payload = static_cast<std::size_t>(state.range(1));
  const auto batch = static_cast<std::size_t>(state.range(2));
  const std::string dir = scratch_dir();
  const std::string value(payload + 21, 'p');  // the same record size our layer writes (header + crc)
  std::size_t entries = 0;
  std::uint64_t key = 0;
  if (kind == 0) {
    const int fd = ::open((dir + "/file").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::string buffer;
    for (std::size_t i = 0; i < batch; ++i) buffer += value;
    for (auto _ : state) {
      if (::write(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size()) || ::fdatasync(fd) != 0) {
        state.SkipWithError("write failed");
      }
      entries += batch;
    }
    ::close(fd);
    state.SetLabel("file+fdatasync");
  } else if (kind == 1) {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    (void)rocksdb::DB::Open(o, dir + "/raw", &db);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    for (auto _ : state) {
      rocksdb::WriteBatch wb;
      for (std::size_t i = 0; i < batch; ++i) wb.Put("e" + entry_key(++key), value);
      if (!db->Write(wo, &wb).ok()) state.SkipWithError("write failed");
      entries += batch;
    }
    delete db;
    state.SetLabel("rocksdb raw");
  } else if (kind == 2) {
    MDB_env* env = nullptr;
    mdb_env_create(&env);
    mdb_env_set_mapsize(env, 8ull << 30);
    fs::create_directories(dir + "/raw");
    mdb_env_open(env, (dir + "/raw").c_str(), 0, 0644);
    MDB_dbi dbi;
    MDB_txn* txn = nullptr;
    mdb_txn_begin(env, nullptr, 0, &txn);
    mdb_dbi_open(txn, nullptr, 0, &dbi);
    mdb_txn_commit(txn);
    for (auto _ : state) {
      mdb_txn_begin(env, nullptr, 0, &txn);
      for (std::size_t i = 0; i < batch; ++i) {
        std::string k = entry_key(++key);
        MDB_val mk{k.size(), k.data()}, mv{value.size(), const_cast<char*>(value.data())};
        mdb_put(txn, dbi, &mk, &mv, MDB_APPEND);
      }
      if (mdb_txn_commit(txn) != 0) state.SkipWithError("commit failed");
      entries += batch;
    }
    mdb_env_close(env);
    state.SetLabel("lmdb raw");
  } else {
    sqlite3* db = nullptr;
    sqlite3_open((dir + "/raw.sqlite3").c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE e (idx INTEGER PRIMARY KEY, v BLOB)",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO e VALUES (?1, ?2)", -1, &ins, nullptr);
    for (auto _ : state) {
      sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
      for (std::size_t i = 0; i < batch; ++i) {
        sqlite3_bind_int64(ins, 1, static_cast<sqlite3_int64>(++key));
        sqlite3_bind_blob(ins, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
      }
      if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) state.SkipWithError("commit failed");
      entries += batch;
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    state.SetLabel("sqlite raw");
  }
  set_rates(state, entries, entries * payload);
  fs::remove_all(dir);
}

// A log of `count` 128-byte entries, for the read, truncate, compact and reopen benchmarks.
std::unique_ptr<DurableLog> filled(Engine engine, const std::string& dir, Index count) {
  auto log = open_engine(engine, dir);
  for (Index from = 1; from <= count; from += 10000) {
    (void)log->append(batch_at(from, static_cast<std::size_t>(std::min<Index>(10000, count - from + 1)), 128));
  }
  return log;
}

void BM_RandomRead(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const std::string dir = scratch_dir();
  {
    auto log = filled(engine, dir + "/log", 100000);
    std::uint64_t x = 88172645463325252ull;
    for (auto _ : state) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      const Index i = 1 + x % 100000;
      benchmark::DoNotOptimize(log->read(i, i + 1, UINT64_MAX));
    }
    state.counters["reads_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

void BM_RangeRead(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const std::string dir = scratch_dir();
  {
    auto log = filled(engine, dir + "/log", 100000);
    Index lo = 1;
    std::size_t entries = 0;
    for (auto _ : state) {
      auto r = log->read(lo, lo + 256, 1 << 20);
      entries += r.value().size();
      lo = lo + 256 > 99000 ? 1 : lo + 256;
    }
    set_rates(state, entries, entries * 128);
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

// Truncate the last 1000 entries and write them back (one synced write each way).
void BM_Truncate(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const std::string dir = scratch_dir();
  {
    auto log = filled(engine, dir + "/log", 20000);
    for (auto _ : state) {
      (void)log->truncate_suffix(19000);
      state.PauseTiming();
      (void)log->append(batch_at(19001, 1000, 128));
      state.ResumeTiming();
    }
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

// Compact 1000 entries at a time from the front of a growing log.
void BM_Compact(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const std::string dir = scratch_dir();
  {
    auto log = filled(engine, dir + "/log", 1000);
    Index point = 0;
    for (auto _ : state) {
      state.PauseTiming();
      (void)log->append(batch_at(log->last_index() + 1, 1000, 128));
      state.ResumeTiming();
      point += 1000;
      if (!log->compact(SnapshotMeta{point, 1, Configuration{{1}, {}, {}}}).is_ok()) state.SkipWithError("compact");
    }
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

void BM_Reopen(benchmark::State& state) {
  const auto engine = static_cast<Engine>(state.range(0));
  const Index count = static_cast<Index>(state.range(1));
  const std::string dir = scratch_dir();
  filled(engine, dir + "/log", count).reset();
  for (auto _ : state) {
    auto log = open_engine(engine, dir + "/log");
    if (log->last_index() != count) state.SkipWithError("wrong size after reopen");
  }
  state.SetLabel(engine_name(engine));
  fs::remove_all(dir);
}

void append_args(benchmark::internal::Benchmark* b) {
  for (int engine = 0; engine < 4; ++engine) {
    for (int payload : {128, 1024, 16384}) {
      for (int batch : {1, 16, 256}) b->Args({engine, payload, batch});
    }
  }
}

void raw_args(benchmark::internal::Benchmark* b) {
  for (int kind = 0; kind < 4; ++kind) {
    for (int payload : {128, 1024, 16384}) {
      for (int batch : {1, 16, 256}) b->Args({kind, payload, batch});
    }
  }
}

BENCHMARK(BM_Append)->Apply(append_args)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_RawSyncedWrite)->Apply(raw_args)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_RandomRead)->DenseRange(0, 3)->MinTime(0.3);
BENCHMARK(BM_RangeRead)->DenseRange(0, 3)->MinTime(0.3);
BENCHMARK(BM_Truncate)->DenseRange(1, 3)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_Compact)->DenseRange(1, 3)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_Reopen)->ArgsProduct({{1, 2, 3}, {100000, 1000000}})->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
