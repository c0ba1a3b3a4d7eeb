// A 3-node cluster end to end: three Peers in this process talking over loopback WebSockets, each with its own
// durable log (RocksDB with fsync on every write, or the in-memory engine), driven by 1, 16 or 64 client threads
// writing 128-byte or 4 KiB values to the leader. Reports writes per second and p50/p99 latency, and the process's
// peak RSS. scripts/bench-cluster.sh turns the JSON into docs/bench/cluster.md.
#include <benchmark/benchmark.h>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/engines.h"
#include "runtime/peer.h"
#include "tests/support/ports.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;

class CountingMachine : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override {
    bytes_ += command.size();
    return "ok";
  }
  std::string handle_read(const std::string&) override { return std::to_string(bytes_); }
  std::unique_ptr<StateMachineSnapshot> snapshot() override { return std::make_unique<Snapshot>(bytes_); }
  Status restore(std::istream& in) override {
    in >> bytes_;
    return in ? Status::ok() : Status(ErrorCode::kCorruption, "bad counter snapshot");
  }

 private:
  struct Snapshot : StateMachineSnapshot {
    explicit Snapshot(std::uint64_t b) : bytes(b) {}
    Status write(std::ostream& out) override {
      out << bytes;
      return Status::ok();
    }
    std::uint64_t bytes;
  };
  std::uint64_t bytes_ = 0;
};

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

void run_cluster(benchmark::State& state, Engine engine, int clients, std::size_t value_bytes, bool histograms) {
  const std::string value(value_bytes, 'v');
  const char* base = std::getenv("RAFTKIT_BENCH_DIR");
  const auto dir = std::filesystem::path(base ? base : "/tmp") / ("raftkit-cluster-bench-" + std::to_string(::getpid()));
  std::vector<PeerAddress> members;
  for (NodeId id = 1; id <= 3; ++id) members.push_back({id, "p" + std::to_string(id), "127.0.0.1", raftkit::testing::free_loopback_port()});
  std::vector<std::unique_ptr<Peer>> peers;
  for (const PeerAddress& m : members) {
    PeerOptions o;
    o.name = m.name;
    o.data_dir = (dir / m.name).string();
    o.open_log = engine_log_factory(engine);
    o.members = members;
    o.latency_histograms = histograms;
    peers.push_back(std::move(Peer::start(o, std::make_unique<CountingMachine>())).value());
  }
  Peer* leader = nullptr;
  for (int i = 0; i < 1000 && leader == nullptr; ++i) {
    for (auto& p : peers) {
      if (p->is_leader()) leader = p.get();
    }
    std::this_thread::sleep_for(10ms);
  }
  if (leader == nullptr) {
    state.SkipWithError("no leader");
    return;
  }
  std::vector<double> latencies;
  std::uint64_t writes = 0;
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::vector<std::vector<double>> per_client(static_cast<std::size_t>(clients));
    std::vector<std::thread> threads;
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        while (!stop) {
          const auto t0 = std::chrono::steady_clock::now();
          auto r = leader->write(value).get();
          const auto t1 = std::chrono::steady_clock::now();
          if (r.is_ok()) per_client[static_cast<std::size_t>(c)].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
      });
    }
    std::this_thread::sleep_for(2s);
    stop = true;
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (auto& v : per_client) {
      writes += v.size();
      latencies.insert(latencies.end(), v.begin(), v.end());
    }
    state.SetIterationTime(elapsed);
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(p * (latencies.size() - 1))]; };
  state.counters["writes_per_second"] = benchmark::Counter(static_cast<double>(writes), benchmark::Counter::kIsRate);
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["peak_rss_mb"] = peak_rss_mb();
  if (histograms && writes > 0) {
    // Durable writes on all three peers per client write (counted by the histograms, so only when they are on).
    std::uint64_t durable_writes = 0;
    for (auto& p : peers) durable_writes += p->metrics().durable_write_seconds.count;
    state.counters["durable_writes_per_write"] = static_cast<double>(durable_writes) / static_cast<double>(writes);
  }
  for (auto& p : peers) p->stop();
  peers.clear();
  std::filesystem::remove_all(dir);
}

// args: engine (0 memory, 1 rocksdb), clients, value bytes
void BM_ClusterWrites(benchmark::State& state) {
  run_cluster(state, state.range(0) == 0 ? Engine::kMemory : Engine::kRocksDb, static_cast<int>(state.range(1)),
              static_cast<std::size_t>(state.range(2)), true);
}

// What the latency histograms cost: the same cluster with them on (1) and off (0), in memory so that no fsync hides
// the difference, 16 clients, 128-byte values. scripts/bench-metrics.sh runs it interleaved and repeated.
void BM_MetricsCost(benchmark::State& state) {
  run_cluster(state, Engine::kMemory, 16, 128, state.range(0) == 1);
}

BENCHMARK(BM_MetricsCost)->Arg(0)->Arg(1)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// The histograms' work for one durable write, exactly as the peer does it (two clock reads, a latency and a batch
// size observed): what BM_MetricsCost cannot resolve below its run-to-run noise, measured directly.
void BM_HistogramsPerDurableWrite(benchmark::State& state) {
  Histogram latency(Histogram::latency_bounds());
  Histogram batch(Histogram::size_bounds(12));
  std::uint64_t entries = 1;
  for (auto _ : state) {
    const auto started = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(entries);
    latency.observe(std::chrono::steady_clock::now() - started);
    batch.observe(static_cast<double>(entries));
    entries = entries % 64 + 1;
  }
}
BENCHMARK(BM_HistogramsPerDurableWrite);

BENCHMARK(BM_ClusterWrites)
    ->ArgsProduct({{0, 1}, {1, 16, 64}, {128, 4096}})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
