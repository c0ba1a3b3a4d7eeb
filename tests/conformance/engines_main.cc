// raftkit_conformance_engines ENGINE [suite options]: the conformance suite on one of the shipped engines.
// ENGINE is rocksdb, lmdb, sqlite, or memory (whose crash mode stands in for the file-based levels).
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "adapters/lmdb/lmdb_log.h"
#include "adapters/memory/memory_log.h"
#include "adapters/rocksdb/rocksdb_log.h"
#include "adapters/sqlite/sqlite_log.h"
#include "conformance/conformance.h"
#include "conformance/workload.h"
#include "consensus/random.h"

namespace {

using namespace raftkit;
using conformance::AdapterFactory;

template <typename Log, typename Options>
AdapterFactory factory_for() {
  return [](const std::string& dir) -> Result<std::unique_ptr<DurableLog>> {
    Options o;
    o.directory = dir;
    auto r = Log::open(o);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  };
}

// The memory engine lives in this process: "reopening" a directory hands back the same log, which is all the
// api level needs. Its crash mode is checked separately below.
AdapterFactory memory_factory() {
  static auto* logs = new std::map<std::string, std::shared_ptr<MemoryLog>>();
  struct Handle final : DurableLog {
    std::shared_ptr<MemoryLog> log;
    Index first_index() const override { return log->first_index(); }
    Index last_index() const override { return log->last_index(); }
    Result<Term> term_at(Index i) const override { return log->term_at(i); }
    Result<std::vector<Entry>> read(Index lo, Index hi, std::uint64_t max) const override { return log->read(lo, hi, max); }
    HardState hard_state() const override { return log->hard_state(); }
    SnapshotMeta snapshot_meta() const override { return log->snapshot_meta(); }
    RecoveryReport recovery_report() const override { return log->recovery_report(); }
    Status write(const LogWrite& w) override { return log->write(w); }
    Status compact(const SnapshotMeta& m) override { return log->compact(m); }
  };
  return [](const std::string& dir) -> Result<std::unique_ptr<DurableLog>> {
    auto& log = (*logs)[dir];
    if (!log) log = std::make_shared<MemoryLog>();
    auto h = std::make_unique<Handle>();
    h->log = log;
    return std::unique_ptr<DurableLog>(std::move(h));
  };
}

// Crash mode: every operation is written unsynced and synced; crashes fall between, keeping torn tails the
// contract allows; the recovered log must be what verify_recovery accepts.
int memory_crash_mode(std::uint64_t seed, int seeds) {
  std::uint64_t checks = 0, failures = 0;
  for (int s = 0; s < seeds; ++s) {
    const auto ops = conformance::generate_workload(seed + static_cast<std::uint64_t>(s), 40);
    Random random(seed + static_cast<std::uint64_t>(s));
    for (std::size_t crash_at = 0; crash_at <= ops.size(); ++crash_at) {
      MemoryLog log;
      for (std::size_t k = 0; k < crash_at; ++k) {
        const auto& op = ops[k];
        Status st = op.is_compaction ? log.compact_unsynced(op.meta) : log.write_unsynced(op.write);
        if (!st.is_ok()) {
          std::printf("FAIL memory crash mode: operation %zu refused: %s\n", k, st.to_string().c_str());
          return 1;
        }
        if (k + 1 < crash_at) log.sync();
      }
      const std::size_t torn = crash_at > 0 && !ops[crash_at - 1].is_compaction ? ops[crash_at - 1].write.entries.size() : 0;
      log.crash(random.below(2), random.below(torn + 1));
      auto model = conformance::read_model(log);
      const std::string verdict =
          model.is_ok() ? conformance::verify_recovery(model.value(), ops, crash_at ? crash_at - 1 : 0, crash_at > 0)
                        : model.status().to_string();
      ++checks;
      if (!verdict.empty()) {
        ++failures;
        std::printf("FAIL memory crash mode: seed %llu crash after %zu: %s\n",
                    static_cast<unsigned long long>(seed + static_cast<std::uint64_t>(s)), crash_at, verdict.c_str());
      }
    }
  }
  std::printf("conformance: memory crash mode: %s (%llu crash states checked)\n", failures ? "FAIL" : "PASS",
              static_cast<unsigned long long>(checks));
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s rocksdb|lmdb|sqlite|memory [suite options]\n", argv[0]);
    return 2;
  }
  const std::string engine = argv[1];
  conformance::SuiteOptions options;
  options.child_args = {engine};
  AdapterFactory factory;
  if (engine == "rocksdb") {
    factory = factory_for<RocksDbLog, RocksDbLogOptions>();
  } else if (engine == "lmdb") {
    factory = factory_for<LmdbLog, LmdbLogOptions>();  // lock.mdb, its reader table, is known to the suite
  } else if (engine == "sqlite") {
    factory = factory_for<SqliteLog, SqliteLogOptions>();  // so is log.sqlite3-shm, the WAL index
  } else if (engine == "memory") {
    options.levels = {"api"};
    const int api = conformance::main_for(argc - 1, argv + 1, "memory", memory_factory(), options);
    return memory_crash_mode(1, 5) | api;
  } else {
    std::fprintf(stderr, "unknown engine %s\n", engine.c_str());
    return 2;
  }
  return conformance::main_for(argc - 1, argv + 1, engine, factory, options);
}
