// Three peers over real loopback sockets and RocksDB logs: election, replicated writes, linearizable reads, the
// not-leader answer, leader failover with the data intact, and a stopped peer restarted on its data.
#include <catch2/catch.hpp>

#include <filesystem>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>

#include "adapters/engines.h"
#include "runtime/peer.h"
#include "runtime/prometheus.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus_parser.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;

// "set K V" -> "ok"; "get K" -> the value or "key_not_found".
class KvMachine : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override {
    std::istringstream in(command);
    std::string op, key, value;
    in >> op >> key >> value;
    if (op == "incr") {
      data_[key] = std::to_string(std::stoi(data_.count(key) ? data_[key] : "0") + 1);
      return data_[key];
    }
    if (op == "throw") throw std::runtime_error("cannot parse '" + command + "'");  // a state machine's bug
    if (op != "set") return "unknown command";
    data_[key] = value;
    return "ok";
  }
  std::string handle_read(const std::string& query) override {
    std::istringstream in(query);
    std::string op, key;
    in >> op >> key;
    auto it = data_.find(key);
    return it == data_.end() ? "key_not_found" : it->second;
  }
  // Snapshots copy the map: the test states are small.
  std::unique_ptr<StateMachineSnapshot> snapshot() override { return std::make_unique<Snapshot>(data_); }
  Status restore(std::istream& in) override {
    std::map<std::string, std::string> data;
    std::string key, value;
    while (in >> std::quoted(key) >> std::quoted(value)) data[key] = value;
    data_ = std::move(data);
    return Status::ok();
  }

 private:
  struct Snapshot : StateMachineSnapshot {
    explicit Snapshot(std::map<std::string, std::string> d) : data(std::move(d)) {}
    Status write(std::ostream& out) override {
      for (const auto& [k, v] : data) out << std::quoted(k) << ' ' << std::quoted(v) << '\n';
      return Status::ok();
    }
    std::map<std::string, std::string> data;
  };
  std::map<std::string, std::string> data_;
};

struct Cluster {
  raftkit::testing::TempDir dir;
  std::vector<PeerAddress> members;
  std::map<std::string, std::unique_ptr<Peer>> peers;

  std::size_t max_pending = 10000;
  std::function<void(PeerOptions&)> tweak;
  explicit Cluster(std::size_t pending = 10000, std::function<void(PeerOptions&)> t = {})
      : max_pending(pending), tweak(std::move(t)) {
    for (NodeId id = 1; id <= 3; ++id) members.push_back({id, "peer" + std::to_string(id), "127.0.0.1", raftkit::testing::free_loopback_port()});
    for (const PeerAddress& m : members) start(m.name);
  }
  void start(const std::string& name) {
    PeerOptions o;
    o.max_pending_requests = max_pending;
    o.name = name;
    o.cluster = "test";
    o.data_dir = dir.path() + "/" + name;
    o.members = members;
    o.open_log = engine_log_factory(Engine::kRocksDb);
    if (tweak) tweak(o);
    auto p = Peer::start(o, std::make_unique<KvMachine>());
    INFO(name << ": " << (p.is_ok() ? "ok" : p.status().to_string()));
    REQUIRE(p.is_ok());
    peers[name] = std::move(p).value();
  }
  // The peer that believes it leads and that the others agree on, within a deadline.
  Peer* leader(std::chrono::milliseconds within = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& [name, p] : peers) {
        if (p && p->is_leader()) return p.get();
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }
  std::string leader_name() {
    for (auto& [name, p] : peers) {
      if (p && p->is_leader()) return name;
    }
    return "";
  }
};

Result<std::string> get(std::future<Result<std::string>> f) {
  if (f.wait_for(10s) != std::future_status::ready) return Status(ErrorCode::kUnavailable, "timed out");
  return f.get();
}

TEST_CASE("peers: elect, replicate, read, fail over and catch up", "[runtime]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  auto w = get(leader->write("set a 1"));
  REQUIRE(w.is_ok());
  CHECK(w.value() == "ok");
  CHECK(get(leader->read("get a")).value() == "1");
  CHECK(get(leader->read("get missing")).value() == "key_not_found");

  // A follower answers "not leader" and names the leader.
  const std::string leader_name = c.leader_name();
  for (auto& [name, p] : c.peers) {
    if (name == leader_name) continue;
    auto r = get(p->write("set b 2"));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::kNotLeader);
    CHECK(r.status().message().find(leader_name) != std::string::npos);
    break;
  }

  // Stop the leader: another is elected and the value is still there.
  c.peers[leader_name]->stop();
  c.peers[leader_name].reset();
  Peer* next = c.leader();
  REQUIRE(next != nullptr);
  CHECK(c.leader_name() != leader_name);
  CHECK(get(next->read("get a")).value() == "1");
  REQUIRE(get(next->write("set a 2")).is_ok());

  // The old leader restarts on its data and catches up.
  c.start(leader_name);
  const std::uint64_t target = next->status().commit;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.peers[leader_name]->status().applied < target && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(c.peers[leader_name]->status().applied >= target);
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: leadership is handed to a named voter, or to the most up-to-date one", "[runtime][transfer]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  REQUIRE(get(leader->write("set a 1")).is_ok());
  const std::string first = c.leader_name();
  std::vector<std::string> followers;
  for (auto& [name, p] : c.peers) {
    if (name != first) followers.push_back(name);
  }

  // Asked of a follower: refused, naming the leader. Not a voter: refused. The leader itself: already done.
  auto refused = get(c.peers[followers[0]]->transfer_leadership(first));
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == ErrorCode::kNotLeader);
  CHECK(refused.status().message().find(first) != std::string::npos);
  CHECK(get(leader->transfer_leadership("nobody")).status().code() == ErrorCode::kInvalidArgument);
  CHECK(get(leader->transfer_leadership(first)).value() == first);

  auto moved = get(leader->transfer_leadership(followers[0]));
  REQUIRE(moved.is_ok());
  CHECK(moved.value() == followers[0]);
  Peer* now = c.peers[followers[0]].get();
  CHECK(c.leader() == now);  // it may hear of its own election a moment after the old leader did
  CHECK(get(now->read("get a")).value() == "1");
  REQUIRE(get(now->write("set a 2")).is_ok());

  // Without a name: another voter, chosen by how up to date its log is.
  auto again = get(now->transfer_leadership());
  REQUIRE(again.is_ok());
  CHECK(again.value() != followers[0]);
  Peer* third = c.peers[again.value()].get();
  CHECK(get(third->read("get a")).value() == "2");

  // A target that cannot take over (stopped): abandoned after an election timeout; the leader goes on leading.
  const std::string down = again.value() == first ? followers[0] : first;
  c.peers[down]->stop();
  auto abandoned = get(third->transfer_leadership(down));
  REQUIRE_FALSE(abandoned.is_ok());
  CHECK(abandoned.status().code() == ErrorCode::kUnavailable);
  CHECK(third->is_leader());
  CHECK(get(third->write("set a 3")).is_ok());
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: a retried write in a client session is applied once", "[runtime][session]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  auto first = get(leader->write("incr n", 7, 1));
  auto retry = get(leader->write("incr n", 7, 1));
  REQUIRE(first.is_ok());
  REQUIRE(retry.is_ok());
  CHECK(first.value() == "1");
  CHECK(retry.value() == "1");  // the first result, not a second increment
  CHECK(get(leader->write("incr n", 7, 2)).value() == "2");
  auto stale = get(leader->write("incr n", 7, 1));
  CHECK(stale.status().code() == ErrorCode::kDropped);
  CHECK(get(leader->write("incr n", 8, 1)).value() == "3");  // another client
  CHECK(get(leader->read("get n")).value() == "3");
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: a local read answers from a follower's own state, which may lag", "[runtime][read_local]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  REQUIRE(get(leader->write("set a 1")).is_ok());
  const std::string leader_name = c.leader_name();
  std::string follower;
  for (auto& [name, p] : c.peers) {
    if (name != leader_name) follower = name;
  }
  Peer& f = *c.peers[follower];
  CHECK(get(f.read("get a")).status().code() == ErrorCode::kNotLeader);  // the linearizable read refuses
  // The local read answers at once from whatever the follower has applied: eventually the written value.
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (seen != "1" && std::chrono::steady_clock::now() < deadline) {
    auto r = get(f.read_local("get a"));
    REQUIRE(r.is_ok());
    seen = r.value();
    if (seen != "1") CHECK(seen == "key_not_found");  // stale, never anything else
    std::this_thread::sleep_for(10ms);
  }
  CHECK(seen == "1");
  // With every other peer gone the local read still answers (it asks no one); a linearizable one cannot.
  for (auto& [name, p] : c.peers) {
    if (name != follower) p->stop();
  }
  CHECK(get(f.read_local("get a")).value() == "1");
  CHECK_FALSE(get(f.read("get a")).is_ok());
  f.stop();
  CHECK(get(f.read_local("get a")).status().code() == ErrorCode::kUnavailable);  // a stopped peer answers nothing
}

TEST_CASE("peers: Raft's timers follow the injected timer clock", "[runtime][timer_clock]") {
  // Every peer's timers run on one clock the test moves by hand: frozen, nobody ever times out and campaigns;
  // moved past the election timeout, a leader is elected.
  auto base = std::chrono::steady_clock::now();
  auto offset = std::make_shared<std::atomic<std::int64_t>>(0);
  Cluster c(10000, [base, offset](PeerOptions& o) {
    o.timer_clock = [base, offset] { return base + std::chrono::milliseconds(offset->load()); };
  });
  std::this_thread::sleep_for(1s);  // 5 election timeouts of real time
  for (auto& [name, p] : c.peers) CHECK(p->status().term == 0);
  CHECK(c.leader(200ms) == nullptr);
  // Advance the clock a tick at a time, as if time passed (a jump would fire every peer's timeout in the same
  // instant, which is a split vote more often than not).
  Peer* leader = nullptr;
  for (int i = 0; i < 1000 && leader == nullptr; ++i) {
    offset->fetch_add(10);
    std::this_thread::sleep_for(2ms);
    for (auto& [name, p] : c.peers) {
      if (p->is_leader()) leader = p.get();
    }
  }
  REQUIRE(leader != nullptr);
  CHECK(get(leader->write("set a 1")).is_ok());
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: requests beyond the pending limit are refused at once", "[runtime][backpressure]") {
  Cluster c(8);
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  std::vector<std::future<Result<std::string>>> futures;
  for (int i = 0; i < 500; ++i) futures.push_back(leader->write("set k " + std::to_string(i)));
  int overloaded = 0, ok = 0;
  for (auto& f : futures) {
    auto r = get(std::move(f));
    if (r.is_ok()) ++ok;
    if (!r.is_ok() && r.status().message().find("overloaded") != std::string::npos) ++overloaded;
  }
  CHECK(overloaded > 0);
  CHECK(ok > 0);
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: callback requests are each answered once, on a peer thread", "[runtime][callbacks]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  std::mutex mu;
  std::condition_variable cv;
  int written = 0, read = 0, local = 0, failed = 0;
  const auto caller = std::this_thread::get_id();
  bool on_caller_thread = false;
  auto count = [&](int& counter) {
    return [&, caller](Result<std::string> r) {
      std::lock_guard<std::mutex> lock(mu);
      on_caller_thread |= std::this_thread::get_id() == caller;
      ++(r.is_ok() ? counter : failed);
      cv.notify_all();
    };
  };
  for (int i = 0; i < 300; ++i) leader->write("set k" + std::to_string(i) + " v", count(written));
  for (int i = 0; i < 100; ++i) leader->read("get k1", count(read));
  for (int i = 0; i < 100; ++i) leader->read_local("get k1", count(local));
  std::unique_lock<std::mutex> lock(mu);
  REQUIRE(cv.wait_for(lock, 20s, [&] { return written + read + local + failed == 500; }));
  CHECK(failed == 0);
  CHECK_FALSE(on_caller_thread);
  lock.unlock();
  std::this_thread::sleep_for(100ms);  // nothing is answered twice
  lock.lock();
  CHECK(written + read + local + failed == 500);
  lock.unlock();
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: stop answers every request still queued or in flight with kUnavailable", "[runtime][stop]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  std::vector<std::future<Result<std::string>>> futures;
  for (int i = 0; i < 2000; ++i) futures.push_back(leader->write("set k" + std::to_string(i) + " v"));
  for (int i = 0; i < 200; ++i) futures.push_back(leader->read("get k1"));
  leader->stop();
  int ok = 0, unavailable = 0, other = 0;
  for (auto& f : futures) {
    REQUIRE(f.wait_for(0s) == std::future_status::ready);  // answered by the time stop() returns
    Result<std::string> r = f.get();                         // never a broken promise
    if (r.is_ok()) ++ok;
    else if (r.status().code() == ErrorCode::kUnavailable) ++unavailable;
    else ++other;
  }
  INFO("ok " << ok << ", unavailable " << unavailable << ", other " << other);
  CHECK(ok + unavailable + other == 2200);
  CHECK(leader->status().stopped);
  CHECK(leader->status().stop_reason == "stopped");
  CHECK_FALSE(leader->is_leader());
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: a state machine that throws stops its peer, which says why and claims nothing",
          "[runtime][stop]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  REQUIRE(get(leader->write("set a 1")).is_ok());
  auto r = get(leader->write("throw"));
  CHECK(r.status().code() == ErrorCode::kUnavailable);
  REQUIRE(leader->status().stopped);
  const std::uint64_t throw_index = leader->status().applied + 1;
  // Every peer that applies the entry stops the same way. One may never apply it: a leader stops as it applies
  // the entry, possibly before telling anyone it committed, and the next leader may stop likewise before telling
  // the last peer, which then has no majority to learn it from. That peer must still claim nothing.
  // A majority stops within the election timeouts; the last peer then gets a moment more.
  auto count_stopped = [&] {
    int n = 0;
    for (auto& [name, p] : c.peers) n += p->status().stopped;
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (count_stopped() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto last_chance = std::chrono::steady_clock::now() + 1s;
  while (count_stopped() < 3 && std::chrono::steady_clock::now() < last_chance) std::this_thread::sleep_for(10ms);
  int stopped = 0;
  for (auto& [name, p] : c.peers) {
    INFO(name);
    const PeerStatus st = p->status();
    if (!st.stopped) {
      CHECK(st.applied < throw_index);
      CHECK_FALSE(p->is_leader());
      CHECK_FALSE(get(p->write("set b 2")).is_ok());
      continue;
    }
    ++stopped;
    CHECK(st.stop_reason.find("the state machine threw applying entry") != std::string::npos);
    CHECK(st.stop_reason.find("cannot parse 'throw'") != std::string::npos);
    CHECK_FALSE(p->is_leader());
    CHECK_FALSE(p->leader().has_value());
    auto refused = get(p->write("set b 2"));
    CHECK(refused.status().code() == ErrorCode::kUnavailable);
    CHECK(refused.status().message().find("threw") != std::string::npos);
  }
  CHECK(stopped >= 2);  // a majority applied the entry: it committed
  for (auto& [name, p] : c.peers) p->stop();
}

// Small thresholds so a few hundred writes take several snapshots, and small chunks so each is many messages.
void small_snapshots(PeerOptions& o) {
  o.snapshot_entries = 50;
  o.trailing_entries = 10;
  o.snapshot_chunk_bytes = 16 << 10;
  o.snapshot_window_chunks = 4;
}

// Writes "set kI <value>" for I in [from, to), many in flight at once.
void write_keys(Peer& leader, int from, int to, const std::string& value) {
  std::vector<std::future<Result<std::string>>> futures;
  for (int i = from; i < to; ++i) futures.push_back(leader.write("set k" + std::to_string(i) + " " + value));
  for (auto& f : futures) REQUIRE(get(std::move(f)).is_ok());
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds within = 20000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST_CASE("peers: snapshots compact the log, and a full restart restores from snapshot plus log", "[runtime][snapshot]") {
  Cluster c(10000, small_snapshots);
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  write_keys(*leader, 0, 300, "v");
  const std::uint64_t commit = leader->status().commit;
  REQUIRE(commit >= 302);  // the bootstrap entry, the leader's no-op, 300 writes
  for (auto& [name, p] : c.peers) {
    INFO(name);
    const bool done = wait_for([&] { return p->status().applied >= commit && p->status().snapshot_index + 60 >= commit; });
    UNSCOPED_INFO("commit " << commit << " applied " << p->status().applied << " snapshot " << p->status().snapshot_index
                            << " first " << p->status().log_first_index << " term " << p->status().term);
    CHECK(done);
    CHECK(p->status().log_first_index > 1);
    CHECK(p->status().log_first_index + 10 >= p->status().snapshot_index);  // trailing entries kept
    CHECK(p->status().snapshot_index + 60 >= commit);
  }
  for (auto& [name, p] : c.peers) p->stop();
  c.peers.clear();
  for (const PeerAddress& m : c.members) c.start(m.name);
  leader = c.leader();
  REQUIRE(leader != nullptr);
  for (int i = 0; i < 300; i += 37) CHECK(get(leader->read("get k" + std::to_string(i))).value() == "v");
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: a wiped follower catches up by a snapshot streamed over the transport", "[runtime][snapshot]") {
  Cluster c(10000, small_snapshots);
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  const std::string leader_name = c.leader_name();
  std::string wiped, other;
  for (const PeerAddress& m : c.members) {
    if (m.name == leader_name) continue;
    (wiped.empty() ? wiped : other) = m.name;
  }
  const std::string value(2000, 'w');  // the snapshot spans dozens of 16 KiB chunks
  write_keys(*leader, 0, 200, value);
  c.peers[wiped]->stop();
  c.peers.erase(wiped);
  std::filesystem::remove_all(c.dir.path() + "/" + wiped);
  write_keys(*leader, 200, 400, value);
  REQUIRE(wait_for([&] { return leader->status().log_first_index > 50; }));

  c.start(wiped);
  Peer& fresh = *c.peers[wiped];
  const std::uint64_t target = leader->status().commit;
  REQUIRE(wait_for([&] { return fresh.status().applied >= target; }));
  CHECK(fresh.status().snapshots_installed >= 1);
  CHECK(fresh.status().log_first_index > 50);
  CHECK(fresh.metrics().snapshots_installed >= 1);
  CHECK(fresh.metrics().snapshot_bytes_installed > 0);
  CHECK(fresh.metrics().snapshot_install_seconds.count >= 1);
  // The leader counts a delivery when the last acknowledgement reaches it, which may be after the install.
  REQUIRE(wait_for([&] { return leader->metrics().snapshots_sent >= 1; }));
  const PeerMetrics sent = leader->metrics();
  CHECK(sent.snapshot_bytes_sent > 0);
  CHECK(sent.snapshot_send_seconds.count >= sent.snapshots_sent);  // observed before counted
  CHECK(leader->metrics().snapshots_taken >= 1);
  CHECK(leader->metrics().snapshot_bytes_taken > 0);
  CHECK(leader->metrics().snapshot_take_seconds.count == leader->metrics().snapshots_taken);

  // Prove the installed state is right: with the other follower stopped, a write commits only with the wiped
  // peer's acknowledgement; then with the old leader gone the wiped peer, holding that write, must lead and
  // serve every key.
  c.peers[other]->stop();
  REQUIRE(get(leader->write("set final yes")).is_ok());
  c.peers[leader_name]->stop();
  c.peers.erase(leader_name);
  c.peers.erase(other);
  c.start(other);
  Peer* next = c.leader(20000ms);
  REQUIRE(next != nullptr);
  CHECK(c.leader_name() == wiped);
  CHECK(get(next->read("get final")).value() == "yes");
  for (int i = 0; i < 400; i += 19) CHECK(get(next->read("get k" + std::to_string(i))).value() == value);
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: metrics move with the work done, and read as Prometheus text", "[runtime][metrics]") {
  Cluster c;
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  const std::string first = c.leader_name();
  const PeerMetrics before = leader->metrics();
  CHECK(before.leader);
  std::uint64_t elections = 0;
  for (auto& [name, p] : c.peers) elections += p->metrics().elections;
  CHECK(elections >= 1);  // somebody campaigned to get this leader

  for (int i = 0; i < 50; ++i) REQUIRE(get(leader->write("set k" + std::to_string(i) + " v")).is_ok());
  for (int i = 0; i < 5; ++i) REQUIRE(get(leader->read("get k1")).is_ok());
  const PeerMetrics after = leader->metrics();
  CHECK(after.proposals == before.proposals + 50);
  CHECK(after.commit_index >= before.commit_index + 50);
  CHECK(after.last_index >= after.commit_index);
  CHECK(after.durable_write_seconds.count > before.durable_write_seconds.count);
  CHECK(after.append_batch_entries.count > before.append_batch_entries.count);
  CHECK(after.append_batch_entries.sum >= before.append_batch_entries.sum + 50);
  CHECK(after.read_index_seconds.count == before.read_index_seconds.count + 5);
  CHECK(wait_for([&] { return leader->metrics().entries_applied >= before.entries_applied + 50; }));
  // The followers, as the leader sees them: caught up within a tick or two.
  REQUIRE(wait_for([&] {
    const PeerMetrics m = leader->metrics();
    return m.followers.size() == 2 && m.followers[0].lag_entries == 0 && m.followers[1].lag_entries == 0;
  }));
  for (const FollowerMetrics& f : leader->metrics().followers) CHECK(f.name != first);
  for (auto& [name, p] : c.peers) {
    if (name != first) CHECK(p->metrics().followers.empty());
  }

  // A transfer: every peer sees the leader change; the new leader campaigned for it.
  std::map<std::string, std::uint64_t> changes;
  for (auto& [name, p] : c.peers) changes[name] = p->metrics().leader_changes;
  std::string next;
  for (auto& [name, p] : c.peers) {
    if (name != first) next = name;
  }
  const std::uint64_t next_elections = c.peers[next]->metrics().elections;
  REQUIRE(get(leader->transfer_leadership(next)).is_ok());
  CHECK(c.peers[next]->metrics().elections == next_elections + 1);
  for (auto& [name, p] : c.peers) {
    INFO(name);
    CHECK(wait_for([&] { return p->metrics().leader_changes == changes[name] + 1; }));
  }

  // The same as Prometheus text, read strictly.
  const std::string text = prometheus_text(c.peers[next]->metrics(), {{"peer", next}});
  std::string error;
  const std::optional<raftkit::testing::PrometheusText> page = raftkit::testing::PrometheusText::parse(text, error);
  INFO(error);
  REQUIRE(page);
  CHECK(page->value("raftkit_is_leader", {{"peer", next}}) == 1);
  CHECK(page->value("raftkit_commit_index", {{"peer", next}}) >= 52);
  CHECK(page->value("raftkit_transport_messages_received_total", {{"peer", next}}) > 0);
  for (auto& [name, p] : c.peers) p->stop();
}

TEST_CASE("peers: the log says who campaigns, leads, follows and hands over, naming the peer", "[runtime][log]") {
  struct Lines {
    std::mutex mu;
    std::vector<std::pair<LogLevel, std::string>> lines;
    bool any(const std::string& text) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [level, line] : lines) {
        if (line.find(text) != std::string::npos) return true;
      }
      return false;
    }
  };
  auto lines = std::make_shared<Lines>();
  Cluster c(10000, [lines](PeerOptions& o) {
    o.log_sink = [lines](LogLevel level, const std::string& line) {
      std::lock_guard<std::mutex> lock(lines->mu);
      lines->lines.emplace_back(level, line);
    };
  });
  Peer* leader = c.leader();
  REQUIRE(leader != nullptr);
  const std::string first = c.leader_name();
  CHECK(wait_for([&] { return lines->any(first + ": leading at term"); }));
  CHECK((lines->any(": campaigning at term") || lines->any(": no word from a leader: asking for pre-votes at term")));
  for (auto& [name, p] : c.peers) {
    INFO(name);
    if (name != first) CHECK(wait_for([&, n = name] { return lines->any(n + ": following " + first + " at term"); }));
  }
  std::string next;
  for (auto& [name, p] : c.peers) {
    if (name != first) next = name;
  }
  REQUIRE(get(leader->transfer_leadership(next)).is_ok());
  CHECK(lines->any(first + ": handing leadership to " + next));
  CHECK(lines->any(first + ": leadership handed to " + next));
  {
    std::lock_guard<std::mutex> lock(lines->mu);
    for (const auto& [level, line] : lines->lines) {
      INFO(line);
      CHECK((line.rfind("peer1", 0) == 0 || line.rfind("peer2", 0) == 0 || line.rfind("peer3", 0) == 0));
    }
  }
  for (auto& [name, p] : c.peers) p->stop();

  // At kWarning, none of that is said.
  auto quiet = std::make_shared<Lines>();
  Cluster q(10000, [quiet](PeerOptions& o) {
    o.log_level = LogLevel::kWarning;
    o.log_sink = [quiet](LogLevel level, const std::string& line) {
      std::lock_guard<std::mutex> lock(quiet->mu);
      quiet->lines.emplace_back(level, line);
    };
  });
  REQUIRE(q.leader() != nullptr);
  std::lock_guard<std::mutex> lock(quiet->mu);
  for (const auto& [level, line] : quiet->lines) CHECK(level >= LogLevel::kWarning);
  for (auto& [name, p] : q.peers) p->stop();
}

}  // namespace
