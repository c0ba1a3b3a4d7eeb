// Snapshot costs with 100 MB of key-value state (the examples' copy-on-write map, 1 KiB values):
//   BM_SnapshotTake       freeze the map (the stall commands see), write and fsync the snapshot file;
//   BM_SnapshotRestore    open, restore into an empty map, verify the checksum;
//   BM_SnapshotStream     leader-side sender to follower-side receiver in process (chunks, acks, final fsync and
//                         verification), without a network;
//   BM_ClusterInstall     3 peers over loopback WebSockets and RocksDB: a wiped follower restarts and catches up
//                         by snapshot; time until it has applied everything;
//   BM_WritesDuringSnapshot  the same cluster: write throughput (16 clients) while every peer snapshots 100 MB,
//                         against throughput right after.
// scripts/bench-snapshots.sh runs these and writes docs/bench/snapshots.md.
#include <benchmark/benchmark.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "adapters/snapshot/snapshot_store.h"
#include "examples/cow_map.h"
#include "examples/cow_map_snapshot.h"
#include "adapters/engines.h"
#include "runtime/peer.h"
#include "runtime/snapshot_transfer.h"
#include "tests/support/ports.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;
using examples::CowMap;

constexpr std::size_t kValueBytes = 1024;
constexpr std::size_t kKeys = 100 * 1024;  // ~100 MB of values plus keys

std::filesystem::path scratch(const std::string& name) {
  const char* base = std::getenv("RAFTKIT_BENCH_DIR");
  return std::filesystem::path(base ? base : "/tmp") / ("raftkit-snapshot-bench-" + name + "-" + std::to_string(::getpid()));
}

std::string value_for(std::size_t i) { return std::string(kValueBytes, static_cast<char>('a' + i % 26)); }

void fill(CowMap& map) {
  for (std::size_t i = 0; i < kKeys; ++i) map.set("key" + std::to_string(i), value_for(i));
}

const SnapshotMeta kMeta{1000, 3, Configuration{{1, 2, 3}, {}, {}}};

void write_snapshot(SnapshotStore& store, const CowMap& map) {
  auto w = store.create(kMeta).value();
  CowMap::write(map.freeze(), w->stream());
  if (!w->commit().is_ok()) std::abort();
}

void BM_SnapshotTake(benchmark::State& state) {
  const auto dir = scratch("take");
  CowMap map;
  fill(map);
  auto store = SnapshotStore::open(dir.string()).value();
  double freeze_us = 0, first_write_us = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    CowMap::Frozen view = map.freeze();
    const auto t1 = std::chrono::steady_clock::now();
    // The first write after a freeze copies one shard: the worst single-command cost a snapshot adds.
    map.set("key7", value_for(8));
    const auto t2 = std::chrono::steady_clock::now();
    auto w = store->create(kMeta).value();
    CowMap::write(view, w->stream());
    if (!w->commit().is_ok()) state.SkipWithError("commit failed");
    freeze_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    first_write_us = std::chrono::duration<double, std::micro>(t2 - t1).count();
  }
  state.counters["state_mb"] = static_cast<double>(map.bytes()) / (1 << 20);
  state.counters["snapshot_mb"] = static_cast<double>(store->latest()->size) / (1 << 20);
  state.counters["freeze_us"] = freeze_us;
  state.counters["first_write_after_us"] = first_write_us;
  state.SetBytesProcessed(static_cast<std::int64_t>(store->latest()->size) * state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SnapshotTake)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_SnapshotRestore(benchmark::State& state) {
  const auto dir = scratch("restore");
  std::uint64_t size = 0;
  {
    CowMap map;
    fill(map);
    auto store = SnapshotStore::open(dir.string()).value();
    write_snapshot(*store, map);
    size = store->latest()->size;
  }
  for (auto _ : state) {
    auto store = SnapshotStore::open(dir.string()).value();
    auto reader = store->open_latest().value();
    CowMap map;
    if (!map.read(reader->body()) || !reader->verify().is_ok()) state.SkipWithError("restore failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(size) * state.iterations());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SnapshotRestore)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_SnapshotStream(benchmark::State& state) {
  const auto leader_dir = scratch("stream-leader"), follower_dir = scratch("stream-follower");
  auto leader = SnapshotStore::open(leader_dir.string()).value();
  {
    CowMap map;
    fill(map);
    write_snapshot(*leader, map);
  }
  const std::uint64_t size = leader->latest()->size;
  for (auto _ : state) {
    std::filesystem::remove_all(follower_dir);
    auto follower = SnapshotStore::open(follower_dir.string()).value();
    SnapshotSender sender(1, leader.get(), SnapshotTransferOptions{});
    SnapshotReceiver receiver(2, follower.get());
    Message request;
    request.to = 2;
    request.term = 3;
    request.snapshot = kMeta;
    std::vector<Message> queue;
    sender.start(request, std::chrono::steady_clock::now(), queue);
    bool done = false;
    while (!queue.empty() && !done) {
      std::vector<Message> next;
      for (const Message& m : queue) {
        if (m.type == MessageType::kInstallSnapshot) {
          if (!receiver.on_chunk(m, 0, next).is_ok()) state.SkipWithError("receive failed");
        } else if (auto o = sender.on_ack(m, std::chrono::steady_clock::now(), next)) {
          done = o->delivered;
        }
      }
      queue.swap(next);
    }
    if (!done || !follower->install(kMeta).is_ok()) state.SkipWithError("stream did not complete");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(size) * state.iterations());
  std::filesystem::remove_all(leader_dir);
  std::filesystem::remove_all(follower_dir);
}
BENCHMARK(BM_SnapshotStream)->Iterations(3)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------------------------
// Clusters

// Commands are "KEY VALUE"; reads are keys.
class Kv : public StateMachine {
 public:
  std::string handle_write(const std::string& c) override {
    const auto space = c.find(' ');
    data_.set(c.substr(0, space), c.substr(space + 1));
    return "";
  }
  std::string handle_read(const std::string& key) override {
    const std::string* v = data_.find(key);
    return v ? *v : "";
  }
  std::unique_ptr<StateMachineSnapshot> snapshot() override { return std::make_unique<examples::CowMapSnapshot>(data_); }
  Status restore(std::istream& in) override {
    return examples::restore_cow_map(data_, in);
  }

 private:
  CowMap data_;
};

struct Cluster {
  std::filesystem::path dir;
  std::vector<PeerAddress> members;
  std::vector<std::unique_ptr<Peer>> peers;
  std::uint64_t snapshot_entries;

  Cluster(const std::string& name, std::uint64_t snapshot_every) : dir(scratch(name)), snapshot_entries(snapshot_every) {
    for (NodeId id = 1; id <= 3; ++id) {
      members.push_back({id, "p" + std::to_string(id), "127.0.0.1", raftkit::testing::free_loopback_port()});
    }
    for (std::size_t i = 0; i < members.size(); ++i) peers.push_back(start(i));
  }
  ~Cluster() {
    for (auto& p : peers) {
      if (p) p->stop();
    }
    peers.clear();
    std::filesystem::remove_all(dir);
  }
  std::unique_ptr<Peer> start(std::size_t i) {
    PeerOptions o;
    o.name = members[i].name;
    o.data_dir = (dir / o.name).string();
    o.members = members;
    o.open_log = engine_log_factory(Engine::kRocksDb);
    o.snapshot_entries = snapshot_entries;
    o.snapshot_bytes = 0;
    o.trailing_entries = 1000;
    o.max_pending_requests = 100000;
    return std::move(Peer::start(o, std::make_unique<Kv>())).value();
  }
  std::size_t leader() {
    for (int tries = 0; tries < 2000; ++tries) {
      for (std::size_t i = 0; i < peers.size(); ++i) {
        if (peers[i] && peers[i]->is_leader()) return i;
      }
      std::this_thread::sleep_for(5ms);
    }
    return SIZE_MAX;
  }
  // Writes keys [from, to) with up to 512 in flight; returns how many succeeded.
  std::size_t load(Peer& leader, std::size_t from, std::size_t to) {
    std::size_t ok = 0;
    std::deque<std::future<Result<std::string>>> inflight;
    for (std::size_t i = from; i < to; ++i) {
      inflight.push_back(leader.write("key" + std::to_string(i) + " " + value_for(i)));
      if (inflight.size() >= 512) {
        ok += inflight.front().get().is_ok();
        inflight.pop_front();
      }
    }
    for (auto& f : inflight) ok += f.get().is_ok();
    return ok;
  }
};

bool wait_until(const std::function<bool()>& done, std::chrono::seconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

void BM_ClusterInstall(benchmark::State& state) {
  Cluster c("install", kKeys);  // each peer snapshots once the 100 MB are in
  const std::size_t l = c.leader();
  if (l == SIZE_MAX) return state.SkipWithError("no leader");
  const std::size_t wiped = (l + 1) % 3;
  c.peers[wiped]->stop();
  c.peers[wiped].reset();
  std::filesystem::remove_all(c.dir / c.members[wiped].name);
  c.load(*c.peers[l], 0, kKeys + 2000);
  if (!wait_until([&] { return c.peers[l]->status().snapshot_index >= kKeys; }, 120s)) {
    return state.SkipWithError("the leader took no snapshot");
  }
  double seconds = 0;
  for (auto _ : state) {
    const std::uint64_t target = c.peers[l]->status().commit;
    const auto t0 = std::chrono::steady_clock::now();
    c.peers[wiped] = c.start(wiped);
    if (!wait_until([&] { return c.peers[wiped]->status().applied >= target; }, 300s)) {
      return state.SkipWithError("the wiped follower did not catch up");
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(seconds);
    state.counters["snapshots_installed"] = static_cast<double>(c.peers[wiped]->status().snapshots_installed);
  }
  state.counters["install_s"] = seconds;
}
BENCHMARK(BM_ClusterInstall)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_WritesDuringSnapshot(benchmark::State& state) {
  // Snapshots trigger 2000 entries after the 100 MB are loaded, inside the measured phase.
  Cluster c("during", kKeys + 2000);
  const std::size_t l = c.leader();
  if (l == SIZE_MAX) return state.SkipWithError("no leader");
  Peer& leader = *c.peers[l];
  c.load(leader, 0, kKeys - 100);
  for (auto _ : state) {
    // 16 clients rewrite existing keys; completions are counted per 20 ms bucket.
    constexpr auto kBucket = 20ms;
    std::atomic<bool> stop{false};
    std::vector<std::atomic<std::uint64_t>> buckets(1000);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < 16; ++t) {
      clients.emplace_back([&, t] {
        for (std::size_t i = static_cast<std::size_t>(t); !stop; i += 16) {
          if (leader.write("key" + std::to_string(i % kKeys) + " " + value_for(i)).get().is_ok()) {
            const auto b = static_cast<std::size_t>((std::chrono::steady_clock::now() - start) / kBucket);
            if (b < buckets.size()) ++buckets[b];
          }
        }
      });
    }
    // Until every peer has finished its snapshot, then as long again.
    const bool snapped = wait_until([&] {
      for (auto& p : c.peers) {
        if (p->status().snapshot_index < kKeys) return false;
      }
      return true;
    }, 120s);
    const auto snapshot_done = std::chrono::steady_clock::now() - start;
    std::this_thread::sleep_for(std::max<std::chrono::steady_clock::duration>(snapshot_done, 1s));
    stop = true;
    for (auto& t : clients) t.join();
    if (!snapped) return state.SkipWithError("no snapshot completed");
    const std::size_t split = static_cast<std::size_t>(snapshot_done / kBucket);
    const std::size_t end = std::min(buckets.size(), 2 * split + 1);
    double during = 0, after = 0, worst_bucket = 1e18;
    for (std::size_t b = 1; b < split; ++b) {  // bucket 0 is the clients starting up
      during += static_cast<double>(buckets[b]);
      worst_bucket = std::min(worst_bucket, static_cast<double>(buckets[b]));
    }
    for (std::size_t b = split + 1; b < end; ++b) after += static_cast<double>(buckets[b]);
    const double bucket_s = std::chrono::duration<double>(kBucket).count();
    state.counters["snapshot_s"] = std::chrono::duration<double>(snapshot_done).count();
    state.counters["writes_per_s_during"] = split > 1 ? during / ((split - 1) * bucket_s) : 0;
    state.counters["writes_per_s_after"] = end > split + 1 ? after / ((end - split - 1) * bucket_s) : 0;
    state.counters["worst_20ms_bucket_during"] = split > 1 ? worst_bucket : 0;
    state.SetIterationTime(std::chrono::duration<double>(snapshot_done).count());
  }
}
BENCHMARK(BM_WritesDuringSnapshot)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
