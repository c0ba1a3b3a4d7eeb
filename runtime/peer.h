// The public API: a replicated state machine run by a named peer.
//
//   class Counter : public raftkit::StateMachine { ... handle_write / handle_read ... };
//   auto peer = raftkit::Peer::start(options, std::make_unique<Counter>()).value();
//   auto result = peer->write("incr").get();          // replicated through the log, then applied; or NotLeader
//   auto value = peer->read("get").get();             // linearizable (ReadIndex) through the leader
//   peer->leader();                                   // the leader's name, if known
//   peer->stop();
//
// A peer runs the Raft core on its own thread, persists each Ready in one durable write (group commit) on that
// thread, sends the leader's appends before its own write completes (Raft thesis 10.2.1) and everything that
// asserts durable state only after it, applies committed entries on an apply thread, and talks to the other
// peers through the WebSocket transport. Beast, Asio and the storage engines stay out of this header.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/status.h"
#include "transport/transport.h"

namespace raftkit {

// The user's state machine. Calls come from one thread at a time, in log order.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies a committed command and returns its result.
  virtual std::string handle_write(const std::string& command) = 0;
  // Answers a query against the current state, changing nothing.
  virtual std::string handle_read(const std::string& query) = 0;
};

enum class Engine { kRocksDb, kLmdb, kSqlite, kMemory };

struct PeerOptions {
  std::string name;                 // this peer; must appear in members
  std::string cluster = "raftkit";
  std::string data_dir;             // its durable log lives here (not used by kMemory)
  Engine engine = Engine::kRocksDb;
  // The initial cluster configuration: every voter's id, name and address, this peer included. A peer whose log
  // is empty bootstraps it with this configuration; a peer restarting from its log uses what the log holds.
  std::vector<PeerAddress> members;
  std::chrono::milliseconds tick{10};
  // Requests accepted but not yet answered; beyond it write() and read() answer kUnavailable ("overloaded") at
  // once, so clients sending faster than the cluster commits cannot grow the peer's memory without bound.
  std::size_t max_pending_requests = 10000;
  std::size_t max_sessions = 100000;  // client sessions remembered for deduplication (least recently used go)
  int election_ticks = 20;
  int heartbeat_ticks = 2;
};

struct PeerStatus {
  std::uint64_t term = 0;
  std::uint64_t commit = 0;
  std::uint64_t applied = 0;
};

class Peer {
 public:
  static Result<std::unique_ptr<Peer>> start(PeerOptions options, std::unique_ptr<StateMachine> machine);
  virtual ~Peer() = default;

  // Replicates and applies a command; the future holds the state machine's result, or kNotLeader (message names
  // the leader if known), kDropped (lost in a leadership change: safe to retry), or kUnavailable (stopped,
  // overloaded, or outcome unknown).
  virtual std::future<Result<std::string>> write(std::string command) = 0;
  // The same within a client session (Raft thesis 6.3): a retried write — same client_id, same request_id —
  // is applied at most once, and the retry gets the first result. request_ids must grow per client; a request
  // older than the newest one applied for its client is answered kDropped without being applied.
  virtual std::future<Result<std::string>> write(std::string command, std::uint64_t client_id,
                                                  std::uint64_t request_id) = 0;
  // A linearizable read through the leader.
  virtual std::future<Result<std::string>> read(std::string query) = 0;
  // The leader's name as this peer knows it.
  virtual std::optional<std::string> leader() const = 0;
  virtual bool is_leader() const = 0;
  virtual PeerStatus status() const = 0;
  // Stops the peer: pending requests fail with kUnavailable; the log stays on disk for a restart.
  virtual void stop() = 0;
};

}  // namespace raftkit
