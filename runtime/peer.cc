#include "runtime/peer.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/lmdb/lmdb_log.h"
#include "adapters/memory/memory_log.h"
#include "adapters/rocksdb/rocksdb_log.h"
#include "adapters/sqlite/sqlite_log.h"
#include "consensus/raft.h"

namespace raftkit {
namespace {

// A request's promise that also holds one of the peer's pending-request slots until it is answered (or dropped).
class Promise {
 public:
  explicit Promise(std::atomic<std::size_t>* pending) : pending_(pending) { ++*pending_; }
  Promise(Promise&& o) noexcept : promise_(std::move(o.promise_)), pending_(std::exchange(o.pending_, nullptr)) {}
  Promise& operator=(Promise&& o) noexcept {
    release();
    promise_ = std::move(o.promise_);
    pending_ = std::exchange(o.pending_, nullptr);
    return *this;
  }
  ~Promise() { release(); }
  std::future<Result<std::string>> get_future() { return promise_.get_future(); }
  void set_value(Result<std::string> r) {
    promise_.set_value(std::move(r));
    release();
  }

 private:
  void release() {
    if (pending_ != nullptr) --*pending_;
    pending_ = nullptr;
  }
  std::promise<Result<std::string>> promise_;
  std::atomic<std::size_t>* pending_;
};

std::future<Result<std::string>> answer_now(raftkit::Status s) {
  std::promise<Result<std::string>> p;
  p.set_value(std::move(s));
  return p.get_future();
}

Result<std::unique_ptr<DurableLog>> open_log(const PeerOptions& o, NodeId self) {
  auto wrap = [](auto r) -> Result<std::unique_ptr<DurableLog>> {
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  };
  LogOptions base{o.data_dir, o.cluster, self};
  switch (o.engine) {
    case Engine::kRocksDb: {
      RocksDbLogOptions x;
      static_cast<LogOptions&>(x) = base;
      return wrap(RocksDbLog::open(x));
    }
    case Engine::kLmdb: {
      LmdbLogOptions x;
      static_cast<LogOptions&>(x) = base;
      return wrap(LmdbLog::open(x));
    }
    case Engine::kSqlite: {
      SqliteLogOptions x;
      static_cast<LogOptions&>(x) = base;
      return wrap(SqliteLog::open(x));
    }
    case Engine::kMemory: return std::unique_ptr<DurableLog>(std::make_unique<MemoryLog>());
  }
  return Status(ErrorCode::kInvalidArgument, "unknown engine");
}

// A normal entry's payload: tag 0 then the command, or tag 1, client id, request id, then the command.
std::string encode_command(const std::string& command, std::uint64_t client, std::uint64_t request) {
  std::string out(1, static_cast<char>(client ? 1 : 0));
  if (client) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((client >> (8 * i)) & 0xff));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((request >> (8 * i)) & 0xff));
  }
  return out + command;
}

struct Command {
  std::uint64_t client = 0, request = 0;
  std::string_view text;
};

Command decode_command(const std::string& payload) {
  Command c;
  if (payload.empty()) return c;
  if (payload[0] == 1 && payload.size() >= 17) {
    for (int i = 0; i < 8; ++i) c.client |= static_cast<std::uint64_t>(static_cast<unsigned char>(payload[1 + i])) << (8 * i);
    for (int i = 0; i < 8; ++i) c.request |= static_cast<std::uint64_t>(static_cast<unsigned char>(payload[9 + i])) << (8 * i);
    c.text = std::string_view(payload).substr(17);
  } else {
    c.text = std::string_view(payload).substr(1);
  }
  return c;
}

// Work for the apply thread, in log order: a committed entry (with the writer's promise if it was proposed here),
// or a confirmed read waiting for the state machine to reach its index.
struct ApplyItem {
  bool is_read = false;
  Entry entry;
  std::optional<Promise> promise;
  Index read_index = 0;
  std::string query;
};

class RaftPeer final : public Peer {
 public:
  RaftPeer(PeerOptions options, std::unique_ptr<StateMachine> machine)
      : options_(std::move(options)), machine_(std::move(machine)) {}
  ~RaftPeer() override { stop(); }

  Status boot();
  std::future<Result<std::string>> write(std::string command) override { return write(std::move(command), 0, 0); }
  std::future<Result<std::string>> write(std::string command, std::uint64_t client_id,
                                         std::uint64_t request_id) override;
  std::future<Result<std::string>> read(std::string query) override;
  std::optional<std::string> leader() const override;
  bool is_leader() const override { return leader_.load() == self_ && self_ != kNoNode; }
  PeerStatus status() const override { return PeerStatus{term_.load(), commit_.load(), applied_.load()}; }
  void stop() override;

 private:
  void post(std::function<void()> work);
  void raft_loop();
  void handle_ready();
  void apply_loop();
  void fail_everything();

  PeerOptions options_;
  std::unique_ptr<StateMachine> machine_;
  NodeId self_ = kNoNode;
  std::unique_ptr<DurableLog> log_;
  std::unique_ptr<Raft> raft_;
  std::unique_ptr<Transport> transport_;
  std::atomic<std::size_t> pending_{0};  // declared before everything holding a Promise, so it outlives them

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> inbox_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  std::thread raft_thread_;

  // Raft thread only.
  std::map<Index, std::pair<Term, Promise>> pending_writes_;
  std::map<std::uint64_t, std::pair<std::string, Promise>> pending_reads_;
  std::uint64_t next_read_ = 1;

  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  std::deque<ApplyItem> apply_queue_;
  std::thread apply_thread_;

  std::atomic<NodeId> leader_{kNoNode};
  std::atomic<std::uint64_t> term_{0}, commit_{0}, applied_{0};
};

Status RaftPeer::boot() {
  Configuration configuration;
  for (const PeerAddress& m : options_.members) {
    configuration.voters.push_back(m.id);
    if (m.name == options_.name) self_ = m.id;
  }
  std::sort(configuration.voters.begin(), configuration.voters.end());
  if (self_ == kNoNode) return Status(ErrorCode::kInvalidArgument, "peer '" + options_.name + "' is not among the members");
  auto log = open_log(options_, self_);
  if (!log.is_ok()) return log.status();
  log_ = std::move(log).value();
  if (log_->last_index() == 0 && log_->hard_state().term == 0) {
    // Every member bootstraps the same first entry, so their logs agree from the start.
    LogWrite boot;
    boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(configuration)}};
    boot.hard_state = HardState{1, kNoNode, 0};
    if (Status s = log_->write(boot); !s.is_ok()) return s;
  }
  BootState state;
  state.hard_state = log_->hard_state();
  state.log_start = log_->snapshot_meta();
  auto entries = log_->read(log_->first_index(), log_->last_index() + 1, UINT64_MAX);
  if (!entries.is_ok()) return entries.status();
  state.entries = std::move(entries).value();
  RaftConfig config;
  config.id = self_;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  auto raft = Raft::create(config, std::move(state));
  if (!raft.is_ok()) return raft.status();
  raft_ = std::move(raft).value();

  TransportOptions t;
  t.cluster = options_.cluster;
  t.self = self_;
  t.self_name = options_.name;
  for (const PeerAddress& m : options_.members) {
    if (m.id == self_) {
      t.listen_host = m.host;
      t.listen_port = m.port;
    }
  }
  t.peers = options_.members;
  auto transport = Transport::start(t, [this](Message m) {
    post([this, m = std::move(m)]() { (void)raft_->step(m); });
  });
  if (!transport.is_ok()) return transport.status();
  transport_ = std::move(transport).value();
  apply_thread_ = std::thread([this] { apply_loop(); });
  raft_thread_ = std::thread([this] { raft_loop(); });
  return Status::ok();
}

void RaftPeer::post(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    inbox_.push_back(std::move(work));
  }
  cv_.notify_one();
}

std::future<Result<std::string>> RaftPeer::write(std::string command, std::uint64_t client_id,
                                                std::uint64_t request_id) {
  if (stopping_) return answer_now(Status(ErrorCode::kUnavailable, "peer stopped"));
  if (pending_.load() >= options_.max_pending_requests) {
    return answer_now(Status(ErrorCode::kUnavailable, "overloaded: " + std::to_string(pending_.load()) +
                                                          " requests pending; retry later"));
  }
  auto promise = std::make_shared<Promise>(&pending_);
  auto future = promise->get_future();
  post([this, promise, payload = encode_command(command, client_id, request_id)]() mutable {
    Proposal p = raft_->propose(std::move(payload));
    if (!p.status.is_ok()) {
      std::string msg = p.status.message();
      for (const PeerAddress& m : options_.members) {
        if (m.id == p.leader_hint) msg = "not the leader; the leader is " + m.name;
      }
      promise->set_value(Status(p.status.code(), msg));
      return;
    }
    pending_writes_.emplace(p.index, std::make_pair(p.term, std::move(*promise)));
  });
  return future;
}

std::future<Result<std::string>> RaftPeer::read(std::string query) {
  if (stopping_) return answer_now(Status(ErrorCode::kUnavailable, "peer stopped"));
  if (pending_.load() >= options_.max_pending_requests) {
    return answer_now(Status(ErrorCode::kUnavailable, "overloaded: " + std::to_string(pending_.load()) +
                                                          " requests pending; retry later"));
  }
  auto promise = std::make_shared<Promise>(&pending_);
  auto future = promise->get_future();
  post([this, promise, query = std::move(query)]() mutable {
    const std::uint64_t ctx = next_read_++;
    if (Status s = raft_->read_index(ctx); !s.is_ok()) {
      std::string msg = "not the leader";
      if (auto l = leader()) msg += "; the leader is " + *l;
      promise->set_value(Status(s.code(), msg));
      return;
    }
    pending_reads_.emplace(ctx, std::make_pair(std::move(query), std::move(*promise)));
  });
  return future;
}

std::optional<std::string> RaftPeer::leader() const {
  const NodeId id = leader_.load();
  for (const PeerAddress& m : options_.members) {
    if (m.id == id) return m.name;
  }
  return std::nullopt;
}

void RaftPeer::raft_loop() {
  auto next_tick = std::chrono::steady_clock::now() + options_.tick;
  while (!stopping_) {
    std::deque<std::function<void()>> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next_tick, [&] { return stopping_ || !inbox_.empty(); });
      work.swap(inbox_);
    }
    for (auto& w : work) w();
    if (std::chrono::steady_clock::now() >= next_tick) {
      raft_->tick();
      next_tick += options_.tick;
    }
    while (!stopping_ && raft_->has_ready()) handle_ready();
  }
}

void RaftPeer::handle_ready() {
  Ready rd = raft_->ready();
  // The leader's appends leave before its own write: replication overlaps the fsync (Raft thesis 10.2.1).
  transport_->send(rd.messages);
  LogWrite w;
  if (!rd.entries.empty()) w.truncate_after = rd.entries.front().index - 1;
  w.entries = rd.entries;
  w.hard_state = rd.hard_state;
  if (!w.empty()) {
    if (Status s = log_->write(w); !s.is_ok()) {
      // The log can no longer be trusted to be durable: stop rather than acknowledge anything.
      std::fprintf(stderr, "raftkit peer %s: durable log failed: %s; stopping\n", options_.name.c_str(),
                   s.to_string().c_str());
      stopping_ = true;
      return;
    }
  }
  // Votes and acknowledgements assert what is now durable.
  transport_->send(rd.messages_after_persist);
  std::vector<ApplyItem> items;
  for (Entry& e : rd.committed) {
    ApplyItem item;
    auto it = pending_writes_.find(e.index);
    if (it != pending_writes_.end()) {
      if (it->second.first == e.term) {
        item.promise = std::move(it->second.second);
      } else {
        it->second.second.set_value(Status(ErrorCode::kDropped, "lost in a leadership change; safe to retry"));
      }
      pending_writes_.erase(it);
    }
    item.entry = std::move(e);
    items.push_back(std::move(item));
  }
  for (const ReadState& rs : rd.read_states) {
    auto it = pending_reads_.find(rs.context);
    if (it == pending_reads_.end()) continue;
    ApplyItem item;
    item.is_read = true;
    item.read_index = rs.index;
    item.query = std::move(it->second.first);
    item.promise = std::move(it->second.second);
    pending_reads_.erase(it);
    items.push_back(std::move(item));
  }
  for (std::uint64_t ctx : rd.dropped_reads) {
    auto it = pending_reads_.find(ctx);
    if (it == pending_reads_.end()) continue;
    it->second.second.set_value(Status(ErrorCode::kNotLeader, "leadership lost before the read was confirmed"));
    pending_reads_.erase(it);
  }
  if (!items.empty()) {
    {
      std::lock_guard<std::mutex> lock(apply_mu_);
      for (ApplyItem& i : items) apply_queue_.push_back(std::move(i));
    }
    apply_cv_.notify_one();
  }
  leader_ = rd.leader;
  term_ = rd.term;
  commit_ = rd.commit;
  raft_->advance(rd);
}

void RaftPeer::apply_loop() {
  std::deque<ApplyItem> waiting_reads;  // confirmed, but the state machine is not there yet
  Index applied = 0;
  // Client sessions: the newest request applied per client and its result (Raft thesis 6.3), least recently used
  // first out. Every peer applies the same entries in the same order, so every peer's sessions agree.
  struct Session {
    std::uint64_t request = 0;
    std::string result;
    std::uint64_t last_used = 0;
  };
  std::map<std::uint64_t, Session> sessions;
  std::uint64_t clock = 0;
  while (true) {
    std::deque<ApplyItem> batch;
    {
      std::unique_lock<std::mutex> lock(apply_mu_);
      apply_cv_.wait(lock, [&] { return stopping_ || !apply_queue_.empty(); });
      if (stopping_ && apply_queue_.empty()) break;
      batch.swap(apply_queue_);
    }
    for (ApplyItem& item : batch) {
      if (item.is_read) {
        waiting_reads.push_back(std::move(item));
        continue;
      }
      Result<std::string> result = std::string();
      if (item.entry.kind == EntryKind::kNormal) {
        const Command c = decode_command(item.entry.payload);
        if (c.client == 0) {
          result = machine_->handle_write(std::string(c.text));
        } else {
          Session& s = sessions[c.client];
          s.last_used = ++clock;
          if (c.request == s.request && s.request != 0) {
            result = s.result;  // a retry of the newest request: its first result, not applied again
          } else if (c.request < s.request) {
            result = Status(ErrorCode::kDropped, "request " + std::to_string(c.request) + " of client " +
                                                     std::to_string(c.client) + " is older than one already applied");
          } else {
            s.request = c.request;
            s.result = machine_->handle_write(std::string(c.text));
            result = s.result;
          }
          if (sessions.size() > options_.max_sessions) {
            auto oldest = std::min_element(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) {
              return a.second.last_used < b.second.last_used;
            });
            sessions.erase(oldest);
          }
        }
      }
      applied = item.entry.index;
      applied_ = applied;
      if (item.promise) item.promise->set_value(std::move(result));
    }
    while (!waiting_reads.empty() && waiting_reads.front().read_index <= applied) {
      ApplyItem& r = waiting_reads.front();
      r.promise->set_value(machine_->handle_read(r.query));
      waiting_reads.pop_front();
    }
  }
  for (ApplyItem& r : waiting_reads) r.promise->set_value(Status(ErrorCode::kUnavailable, "peer stopped"));
}

void RaftPeer::fail_everything() {
  for (auto& [index, p] : pending_writes_) p.second.set_value(Status(ErrorCode::kUnavailable, "peer stopped"));
  pending_writes_.clear();
  for (auto& [ctx, p] : pending_reads_) p.second.set_value(Status(ErrorCode::kUnavailable, "peer stopped"));
  pending_reads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  inbox_.clear();  // queued requests' promises are destroyed unset: their futures report broken_promise
}

void RaftPeer::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  cv_.notify_all();
  if (raft_thread_.joinable()) raft_thread_.join();
  if (transport_) transport_->stop();
  apply_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  {
    std::lock_guard<std::mutex> lock(apply_mu_);
    for (ApplyItem& i : apply_queue_) {
      if (i.promise) i.promise->set_value(Status(ErrorCode::kUnavailable, "peer stopped"));
    }
    apply_queue_.clear();
  }
  fail_everything();
  log_.reset();
}

}  // namespace

Result<std::unique_ptr<Peer>> Peer::start(PeerOptions options, std::unique_ptr<StateMachine> machine) {
  auto peer = std::make_unique<RaftPeer>(std::move(options), std::move(machine));
  if (Status s = peer->boot(); !s.is_ok()) return s;
  return std::unique_ptr<Peer>(std::move(peer));
}

}  // namespace raftkit
