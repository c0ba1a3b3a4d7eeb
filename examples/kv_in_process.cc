// The original README's key-value example, with three peers in one process on loopback sockets and RocksDB logs in
// a temporary directory: set, get, a missing key, stop the leader, a new leader elected, the value still there.
//
//   build/examples/kv_in_process
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "adapters/rocksdb/rocksdb_log.h"
#include "examples/cow_map.h"
#include "examples/cow_map_snapshot.h"
#include "runtime/peer.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;

// The state machine: a map. Writes are "set KEY VALUE", reads are "get KEY". Snapshots share the map's shards
// copy-on-write, so taking one does not stall writes.
class KvStore : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override {
    std::istringstream in(command);
    std::string op, key, value;
    in >> op >> key >> value;
    data_.set(key, value);
    return "ok";
  }
  std::string handle_read(const std::string& query) override {
    std::istringstream in(query);
    std::string op, key;
    in >> op >> key;
    const std::string* v = data_.find(key);
    return v == nullptr ? "key_not_found" : *v;
  }
  std::unique_ptr<StateMachineSnapshot> snapshot() override { return std::make_unique<examples::CowMapSnapshot>(data_); }
  Status restore(std::istream& in) override {
    return examples::restore_cow_map(data_, in);
  }

 private:
  examples::CowMap data_;
};

// Typed wrappers, like the original's KVStore.set / KVStore.get.
std::string kv_set(Peer& p, const std::string& k, const std::string& v) {
  auto r = p.write("set " + k + " " + v).get();
  return r.is_ok() ? r.value() : r.status().to_string();
}
std::string kv_get(Peer& p, const std::string& k) {
  auto r = p.read("get " + k).get();
  return r.is_ok() ? r.value() : r.status().to_string();
}

// Ports for the three peers. They come from below the kernel's ephemeral range (32768 and up), where outgoing
// connections take their local ports, so a client elsewhere cannot grab one between choosing and binding it; the
// process id spreads parallel runs apart. A real deployment names its ports in configuration.
std::uint16_t free_port() {
  static int next = 20000 + (::getpid() % 4000) * 3;
  for (;; ++next) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(next));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return static_cast<std::uint16_t>(next++);
  }
}

}  // namespace

int main() {
  const auto dir = std::filesystem::temp_directory_path() / ("raftkit-kv-" + std::to_string(::getpid()));
  std::vector<PeerAddress> members;
  for (NodeId id = 1; id <= 3; ++id) members.push_back({id, "peer" + std::to_string(id), "127.0.0.1", free_port()});
  std::map<std::string, std::unique_ptr<Peer>> peers;
  for (const PeerAddress& m : members) {
    PeerOptions o;
    o.name = m.name;
    o.data_dir = (dir / m.name).string();
    o.members = members;  // the initial cluster configuration
    // The durable log: this program links one engine, RocksDB, and opens it itself.
    o.open_log = [](const LogOptions& lo) -> Result<std::unique_ptr<DurableLog>> {
      RocksDbLogOptions rocks;
      static_cast<LogOptions&>(rocks) = lo;
      auto log = RocksDbLog::open(rocks);
      if (!log.is_ok()) return log.status();
      return std::unique_ptr<DurableLog>(std::move(log).value());
    };
    auto p = Peer::start(o, std::make_unique<KvStore>());
    if (!p.is_ok()) {
      std::fprintf(stderr, "start %s: %s\n", m.name.c_str(), p.status().to_string().c_str());
      return 1;
    }
    peers[m.name] = std::move(p).value();
    std::printf("started %s on 127.0.0.1:%u (RocksDB log in %s)\n", m.name.c_str(), m.port, o.data_dir.c_str());
  }
  auto find_leader = [&]() -> std::string {
    for (int i = 0; i < 1000; ++i) {
      for (auto& [name, p] : peers) {
        if (p && p->is_leader()) return name;
      }
      std::this_thread::sleep_for(10ms);
    }
    return "";
  };
  std::string leader = find_leader();
  std::printf("leader: %s\n", leader.c_str());
  std::printf("set a = 1: %s\n", kv_set(*peers[leader], "a", "1").c_str());
  std::printf("get a: %s\n", kv_get(*peers[leader], "a").c_str());
  std::printf("get b (missing): %s\n", kv_get(*peers[leader], "b").c_str());
  for (auto& [name, p] : peers) {
    if (name != leader) {
      std::printf("set c = 3 through follower %s: %s\n", name.c_str(), kv_set(*p, "c", "3").c_str());
      break;
    }
  }
  std::printf("stopping the leader %s\n", leader.c_str());
  peers[leader]->stop();
  peers.erase(leader);
  const std::string next = find_leader();
  std::printf("new leader: %s\n", next.c_str());
  const std::string value = kv_get(*peers[next], "a");
  std::printf("get a: %s\n", value.c_str());
  for (auto& [name, p] : peers) p->stop();
  std::filesystem::remove_all(dir);
  const bool ok = !next.empty() && next != leader && value == "1";
  std::printf("%s\n", ok ? "example finished: the value survived the leader's loss" : "example FAILED");
  return ok ? 0 : 1;
}
