#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "adapters/common/log_directory.h"
#include "runtime/command_codec.h"
#include "runtime/member_file.h"
#include "runtime/raft_peer.h"

namespace raftkit {
namespace {

// Counts the bytes a snapshot writes on their way to the store's stream (for the metrics).
class CountingBuffer : public std::streambuf {
 public:
  explicit CountingBuffer(std::streambuf& inner) : inner_(inner) {}
  std::uint64_t bytes() const { return bytes_; }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    if (traits_type::eq_int_type(inner_.sputc(traits_type::to_char_type(c)), traits_type::eof())) {
      return traits_type::eof();
    }
    ++bytes_;
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::streamsize done = inner_.sputn(s, n);
    if (done > 0) bytes_ += static_cast<std::uint64_t>(done);
    return done;
  }
  int sync() override { return inner_.pubsync(); }

 private:
  std::streambuf& inner_;
  std::uint64_t bytes_ = 0;
};

// Nothing durable yet: no log entries, no snapshot (a joined peer that crashed before hearing from the leader).
bool log_is_empty(const PeerOptions& o) {
  if (o.data_dir.empty()) return true;
  std::error_code ec;
  const bool has_snapshot = std::filesystem::exists(o.data_dir + "/snapshots", ec) &&
                            !std::filesystem::is_empty(o.data_dir + "/snapshots", ec);
  return !has_snapshot && !std::filesystem::exists(o.data_dir + "/log", ec);
}

bool stored_snapshot(const SnapshotStore* store) { return store != nullptr && store->latest().has_value(); }

}  // namespace

namespace internal {

Status RaftPeer::boot() {
  if (!options_.open_log) return Status(ErrorCode::kInvalidArgument, "PeerOptions::open_log is required");
  if (!options_.data_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(options_.data_dir, ec)) {
      // New directories must survive a power loss before anything inside them is trusted to.
      const std::string parent = std::filesystem::path(options_.data_dir).parent_path().string();
      if (Status s = fsync_directory(parent.empty() ? "." : parent); !s.is_ok()) return s;
    } else if (ec) {
      return Status(ErrorCode::kIo, "cannot create " + options_.data_dir + ": " + ec.message());
    }
  }
  // Who this peer is: the id it was given when it joined (kept in data_dir), the one the leader gives it now, or
  // its entry in PeerOptions::members.
  Configuration bootstrap;
  std::vector<MemberRecord> initial;
  const std::optional<NodeId> stored = read_member_file(options_.data_dir);
  if (!options_.join.empty()) {
    // Asked even by a peer that joined before and restarted with nothing in its log: the answer is idempotent
    // and brings the members' addresses.
    if (!stored || log_is_empty(options_)) {
      Result<JoinReply> joined = join_cluster();
      if (!joined.is_ok()) return joined.status();
      self_ = joined.value().id;
      for (const PeerAddress& m : joined.value().members) initial.push_back(MemberRecord{m, "", false});
      if (stored && *stored != self_) {
        return Status(ErrorCode::kInvalidArgument, "this data directory belongs to member id " +
                                                       std::to_string(*stored) + ", but the cluster gave id " +
                                                       std::to_string(self_));
      }
    } else {
      self_ = *stored;
    }
  } else {
    for (const PeerAddress& m : options_.members) {
      bootstrap.voters.push_back(m.id);
      // Every initial member must write the very same bootstrap entry: only what all of them were given goes in.
      auto info = options_.member_info.find(m.name);
      initial.push_back(MemberRecord{m, info == options_.member_info.end() ? "" : info->second, false});
      if (m.name == options_.name) self_ = m.id;
    }
    std::sort(bootstrap.voters.begin(), bootstrap.voters.end());
    bootstrap.metadata = encode_members(initial);
    if (self_ == kNoNode && stored) self_ = *stored;
    if (self_ == kNoNode) {
      return Status(ErrorCode::kInvalidArgument, "peer '" + options_.name + "' is not among the members");
    }
  }
  if (!options_.data_dir.empty() && !stored) {
    if (Status s = write_member_file(options_.data_dir, self_); !s.is_ok()) return s;
  }
  book_ = initial;
  if (!options_.data_dir.empty()) {
    auto store = SnapshotStore::open(options_.data_dir + "/snapshots");
    if (!store.is_ok()) return store.status();
    store_ = std::move(store).value();
    SnapshotTransferOptions transfer;
    transfer.chunk_bytes = options_.snapshot_chunk_bytes;
    transfer.window_chunks = options_.snapshot_window_chunks;
    transfer.resend_after = options_.snapshot_resend_after;
    transfer.give_up_after = options_.snapshot_give_up_after;
    sender_ = std::make_unique<SnapshotSender>(self_, store_.get(), transfer);
    receiver_ = std::make_unique<SnapshotReceiver>(self_, store_.get());
  }
  sessions_.set_capacity(options_.max_sessions);
  auto log = options_.open_log(
      LogOptions{options_.data_dir.empty() ? "" : options_.data_dir + "/log", options_.cluster, self_});
  if (!log.is_ok()) return log.status();
  log_ = std::move(log).value();
  if (options_.join.empty() && log_->last_index() == 0 && log_->hard_state().term == 0 && !stored_snapshot(store_.get())) {
    // Every initial member bootstraps the same first entry, so their logs agree from the start. A joining peer
    // starts empty and learns everything from the leader.
    LogWrite boot;
    boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(bootstrap)}};
    boot.hard_state = HardState{1, kNoNode, 0};
    if (Status s = log_->write(boot); !s.is_ok()) return s;
  }
  BootState state;
  if (store_ && store_->latest()) {
    const SnapshotMeta meta = store_->latest()->meta;
    // A crash while installing a snapshot from the leader may have left it durable but the log not yet compacted
    // to it (the log then lacks it, or holds a conflicting entry there): finish the install.
    Result<Term> t = log_->term_at(meta.last_index);
    if (log_->snapshot_meta().last_index < meta.last_index && (!t.is_ok() || t.value() != meta.last_term)) {
      if (Status s = log_->compact(meta); !s.is_ok()) return s;
    }
    auto reader = store_->open_latest();
    if (!reader.is_ok()) return reader.status();
    if (Status s = restore_state(*reader.value()); !s.is_ok()) return s;
    state.snapshot = meta;
    applied_index_ = last_snapshot_index_ = meta.last_index;
    applied_term_ = meta.last_term;
    applied_configuration_ = meta.configuration;
    applied_ = snapshot_index_ = meta.last_index;
  }
  state.hard_state = written_hard_state_ = latest_hard_state_ = log_->hard_state();
  state.log_start = log_->snapshot_meta();
  auto entries = log_->read(log_->first_index(), log_->last_index() + 1, UINT64_MAX);
  if (!entries.is_ok()) return entries.status();
  state.entries = std::move(entries).value();
  RaftConfig config;
  config.id = self_;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.read_mode = options_.lease_reads ? ReadMode::kLeaseBased : ReadMode::kReadIndex;
  config.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  auto raft = Raft::create(config, std::move(state));
  if (!raft.is_ok()) return raft.status();
  raft_ = std::move(raft).value();
  first_index_ = raft_->log().first_index();
  last_index_ = raft_->log().last_index();
  if (std::vector<MemberRecord> book = members_of(raft_->configuration()); !book.empty()) book_ = book;
  configuration_view_ = raft_->configuration();
  committed_configuration_ = raft_->configuration();
  *member_ = raft_->configuration().is_member(self_);

  {
    std::lock_guard<std::mutex> lock(book_mu_);
    note_ids_locked(book_, raft_->configuration());
  }
  TransportOptions t;
  t.cluster = options_.cluster;
  t.self = self_;
  t.self_name = options_.name;
  t.listen_host = options_.host;
  t.listen_port = options_.port;
  if (const MemberRecord* me = find_by_id(book_, self_)) {
    t.listen_host = me->address.host;
    t.listen_port = me->address.port;
  }
  for (const MemberRecord& m : book_) t.peers.push_back(m.address);
  t.max_connections = options_.peer_max_connections;
  t.max_connections_per_source = options_.peer_max_connections_per_source;
  t.handshake_timeout = options_.peer_handshake_timeout;
  t.idle_timeout = options_.peer_idle_timeout;
  t.tls = options_.peer_tls;
  t.on_join = [this](const JoinRequest& request) { return answer_join(request); };
  t.admit_unknown = [this](const PeerAddress& peer) { return admit_unknown_peer(peer); };
  t.log = [log = logger_.named(options_.name + " transport")](const std::string& line) { log.warning(line); };
  auto transport = Transport::start(t, [this](Message m) {
    std::size_t bytes = 256 + m.data.size();
    for (const Entry& e : m.entries) bytes += entry_size(e);
    if (inbound_queue_bytes_.fetch_add(bytes) + bytes > kMaxInboundQueueBytes) {
      inbound_queue_bytes_ -= bytes;
      ++inbound_dropped_;
      return;
    }
    post([this, bytes, m = std::move(m)]() {
      inbound_queue_bytes_ -= bytes;
      on_message(m);
    });
  });
  if (!transport.is_ok()) return transport.status();
  transport_ = std::move(transport).value();
  apply_thread_ = std::thread([this] { apply_loop(); });
  raft_thread_ = std::thread([this] { raft_loop(); });
  return Status::ok();
}

void RaftPeer::post(std::function<void()> work) {
  // A stopped peer's Raft thread takes nothing more: the work is dropped (a request in it is answered kUnavailable
  // as it goes), so messages still arriving cannot grow the queue. Checked under the lock the final drain takes
  // (fail_everything), so nothing slips in after it; dropped outside the lock, as answering runs callers' code.
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      return;
    }
    inbox_.push_back(std::move(work));
  }
  cv_.notify_one();
}

std::optional<Status> RaftPeer::refusal() const {
  if (stopping_) return Status(ErrorCode::kUnavailable, "peer stopped: " + status().stop_reason);
  if (pending_.load() >= options_.max_pending_requests) {
    return Status(ErrorCode::kUnavailable,
                  "overloaded: " + std::to_string(pending_.load()) + " requests pending; retry later");
  }
  return std::nullopt;
}

void RaftPeer::write(std::string command, std::uint64_t client_id, std::uint64_t request_id, Completion done) {
  if (std::optional<Status> refused = refusal()) return PendingAnswer::call(done, *refused);
  auto answer = std::make_shared<PendingAnswer>(std::move(done), &pending_);
  post([this, answer, payload = encode_command(command, client_id, request_id)]() mutable {
    Proposal p = raft_->propose(std::move(payload));
    if (!p.status.is_ok()) {
      proposals_refused_.fetch_add(1, std::memory_order_relaxed);
      answer->answer(p.status.code() == ErrorCode::kNotLeader ? not_leader_status() : p.status);
      return;
    }
    proposals_.fetch_add(1, std::memory_order_relaxed);
    // An older proposal of this peer's may still wait at this index (proposed in an earlier term, its entry
    // since overwritten): it never committed.
    auto [it, inserted] = pending_writes_.try_emplace(p.index, p.term, std::move(*answer));
    if (!inserted) {
      it->second.second.answer(Status(ErrorCode::kDropped, "lost in a leadership change; safe to retry"));
      it->second = std::make_pair(p.term, std::move(*answer));
    }
  });
}

void RaftPeer::read(std::string query, Completion done) {
  if (std::optional<Status> refused = refusal()) return PendingAnswer::call(done, *refused);
  auto answer = std::make_shared<PendingAnswer>(std::move(done), &pending_);
  post([this, answer, query = std::move(query)]() mutable {
    if (options_.unsafe_local_reads) {  // the deliberate bug (see PeerOptions): serve whatever is applied here
      queue_local_read(std::move(query), std::move(*answer));
      return;
    }
    const std::uint64_t ctx = next_read_++;
    if (Status s = raft_->read_index(ctx); !s.is_ok()) {
      answer->answer(s.code() == ErrorCode::kNotLeader ? not_leader_status() : s);
      return;
    }
    pending_reads_.emplace(ctx, PendingRead{std::move(query), std::move(*answer),
                                            options_.latency_histograms ? std::chrono::steady_clock::now()
                                                                        : std::chrono::steady_clock::time_point()});
  });
}

void RaftPeer::read_local(std::string query, Completion done) {
  if (std::optional<Status> refused = refusal()) return PendingAnswer::call(done, *refused);
  queue_local_read(std::move(query), PendingAnswer(std::move(done), &pending_));
}

void RaftPeer::queue_local_read(std::string query, PendingAnswer answer) {
  ApplyItem item;
  item.kind = ApplyItem::Kind::kRead;
  item.query = std::move(query);
  item.promise = std::move(answer);
  {
    std::lock_guard<std::mutex> lock(apply_mu_);
    // Once stopping, stop() drains the queue under this lock: a read queued after would never be answered.
    if (!stopping_) {
      apply_queue_.push_back(std::move(item));
      item.promise.reset();
    }
  }
  apply_cv_.notify_one();
  // A refused read's answer (kUnavailable) goes out here, outside the lock, as `item` goes.
}

std::optional<std::string> RaftPeer::leader() const {
  if (stopping_) return std::nullopt;  // a stopped peer knows no leader to send anyone to
  std::optional<MemberRecord> m = member_record(leader_.load());
  if (!m) return std::nullopt;
  return m->address.name;
}

std::chrono::steady_clock::time_point RaftPeer::timer_now() const {
  return options_.timer_clock ? options_.timer_clock() : std::chrono::steady_clock::now();
}

void RaftPeer::raft_loop() {
  // A replaced timer clock may run faster than real time: then wake often enough (a tenth of a tick) to follow it.
  const bool real_clock = !options_.timer_clock;
  const auto poll = std::max<std::chrono::steady_clock::duration>(options_.tick / 10, std::chrono::milliseconds(1));
  auto next_tick = timer_now() + options_.tick;
  while (!stopping_) {
    std::deque<std::function<void()>> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto wake = real_clock ? next_tick : std::chrono::steady_clock::now() + poll;
      cv_.wait_until(lock, wake, [&] { return stopping_ || !inbox_.empty(); });
      work.swap(inbox_);
    }
    for (auto& w : work) {
      if (stopping_) break;
      w();
    }
    const auto now = timer_now();
    if (now >= next_tick) {
      raft_->tick();
      next_tick += options_.tick;
      publish_followers();
      maybe_promote();
      if (sender_ && sender_->active()) {
        std::vector<Message> out;
        for (const SnapshotOutcome& o : sender_->on_timer(now, out)) snapshot_outcome(o);
        transport_->send(std::move(out));
      }
    }
    while (!stopping_ && raft_->has_ready()) handle_ready();
    follow_transfer();
  }
  // Stopped, by stop() or by a failure: nothing more will be proposed, confirmed or committed here, so every
  // request waiting on this thread is answered now rather than when the owner gets round to stop().
  fail_everything();
}

void RaftPeer::fail(const std::string& what) {
  // Durability or the state machine can no longer be trusted: stop rather than acknowledge anything more, and stop
  // claiming leadership at once (status() and leader() must not send clients to a peer that answers nothing).
  logger_.error(what + "; stopping");
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stop_reason_.empty()) stop_reason_ = what;
  }
  stopping_ = true;
  leader_ = kNoNode;
  cv_.notify_all();
  apply_cv_.notify_all();
}

PeerStatus RaftPeer::status() const {
  PeerStatus s{term_.load(),        commit_.load(),   applied_.load(), snapshot_index_.load(),
               first_index_.load(), installs_.load(), member_->load()};
  if (transport_) s.transport = transport_->stats();
  s.inbound_dropped = inbound_dropped_.load();
  if (stopping_) {
    s.stopped = true;
    std::lock_guard<std::mutex> lock(stop_mu_);
    s.stop_reason = stop_reason_.empty() ? "stopped" : stop_reason_;
  }
  return s;
}

void RaftPeer::on_message(const Message& m) {
  const auto now = timer_now();
  if (m.type == MessageType::kInstallSnapshot) {
    // A chunk of a leader's snapshot. A peer that stores nothing cannot take one; the leader gives up on it.
    if (!receiver_) return;
    std::vector<Message> out;
    Result<std::optional<Message>> step = receiver_->on_chunk(m, raft_->log().committed(), out);
    transport_->send(std::move(out));
    if (!step.is_ok()) return fail("receiving a snapshot failed: " + step.status().to_string());
    if (step.value()) {
      (void)raft_->step(*step.value());
      // Install before anything else touches the incoming file.
      while (!stopping_ && raft_->has_ready()) handle_ready();
    }
    return;
  }
  if (m.type == MessageType::kInstallSnapshotResponse) {
    if (!sender_) return;
    std::vector<Message> out;
    std::optional<SnapshotOutcome> o = sender_->on_ack(m, now, out);
    transport_->send(std::move(out));
    if (o) snapshot_outcome(*o);
    return;
  }
  (void)raft_->step(m);
}

void RaftPeer::handle_ready() {
  // Connections follow the configuration before anything is sent: appends to a just-added learner must find it.
  refresh_membership();
  Ready rd = raft_->ready();
  const auto now = timer_now();
  // The core's snapshot requests become streams; everything else leaves at once. The leader's appends leave before
  // its own write: replication overlaps the fsync (Raft thesis 10.2.1).
  std::vector<Message> outgoing;
  std::vector<SnapshotOutcome> unsendable;
  for (Message& m : rd.messages) {
    if (m.type != MessageType::kInstallSnapshot) {
      outgoing.push_back(std::move(m));
    } else if (!sender_) {
      unsendable.push_back(SnapshotOutcome{m.to, false});
    } else if (std::optional<SnapshotOutcome> o = sender_->start(m, now, outgoing)) {
      unsendable.push_back(*o);
    }
  }
  transport_->send(std::move(outgoing));
  if (rd.role != Role::kLeader && sender_) sender_->abort_all();
  std::vector<ApplyItem> items;
  if (rd.snapshot) {
    committed_configuration_ = rd.snapshot->configuration;
    install_snapshot(*rd.snapshot, items);
    if (stopping_) return;
  }
  LogWrite w;
  if (!rd.entries.empty()) w.truncate_after = rd.entries.front().index - 1;
  w.entries = std::move(rd.entries);  // lent to the write, not copied: advance() needs them back
  // A hard state whose only change is its commit index is not worth an fsync of its own: the commit index is
  // volatile in Raft (the paper's Figure 2), kept only to restart sooner, and the core clamps a stale one at boot.
  // It goes with the next write that must be durable anyway: entries, or a new term or vote (which the votes and
  // acknowledgements of this Ready assert). One client's write costs each peer one fsync instead of two.
  if (rd.hard_state) latest_hard_state_ = *rd.hard_state;
  const bool term_or_vote = latest_hard_state_.term != written_hard_state_.term ||
                            latest_hard_state_.voted_for != written_hard_state_.voted_for;
  if ((term_or_vote || !w.entries.empty()) && !(latest_hard_state_ == written_hard_state_)) {
    w.hard_state = latest_hard_state_;
    written_hard_state_ = latest_hard_state_;
  }
  if (!w.empty()) {
    const bool timed = options_.latency_histograms;
    const auto started = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    if (Status s = log_->write(w); !s.is_ok()) return fail("durable log failed: " + s.to_string());
    if (timed) {
      durable_write_seconds_.observe(std::chrono::steady_clock::now() - started);
      if (!w.entries.empty()) append_batch_entries_.observe(static_cast<double>(w.entries.size()));
    }
  }
  rd.entries = std::move(w.entries);
  // Votes and acknowledgements assert what is now durable.
  transport_->send(rd.messages_after_persist);
  for (Entry& e : rd.committed) {
    if (e.kind == EntryKind::kConfiguration) {
      if (Result<Configuration> c = decode_configuration(e.payload); c.is_ok()) {
        committed_configuration_ = c.value();
        if (e.index > 1) logger_.info("configuration committed at " + std::to_string(e.index) + ": " + describe_configuration(c.value()));
      }
      resolve_change(e);
    }
    ApplyItem item;
    auto it = pending_writes_.find(e.index);
    if (it != pending_writes_.end()) {
      if (it->second.first == e.term) {
        item.promise = std::move(it->second.second);
      } else {
        it->second.second.answer(Status(ErrorCode::kDropped, "lost in a leadership change; safe to retry"));
      }
      pending_writes_.erase(it);
    }
    item.entry = std::move(e);
    items.push_back(std::move(item));
  }
  for (const ReadState& rs : rd.read_states) {
    auto it = pending_reads_.find(rs.context);
    if (it == pending_reads_.end()) continue;
    if (options_.latency_histograms) read_index_seconds_.observe(std::chrono::steady_clock::now() - it->second.started);
    ApplyItem item;
    item.kind = ApplyItem::Kind::kRead;
    item.read_index = rs.index;
    item.query = std::move(it->second.query);
    item.promise = std::move(it->second.answer);
    pending_reads_.erase(it);
    items.push_back(std::move(item));
  }
  for (std::uint64_t ctx : rd.dropped_reads) {
    auto it = pending_reads_.find(ctx);
    if (it == pending_reads_.end()) continue;
    it->second.answer.answer(Status(ErrorCode::kNotLeader, "leadership lost before the read was confirmed"));
    pending_reads_.erase(it);
  }
  // Published before the apply thread can answer anything of this Ready: a client that sees its write applied
  // must not then read an older commit index in status().
  leader_ = rd.leader;
  term_ = rd.term;
  commit_ = rd.commit;
  count_ready(rd);
  if (!items.empty()) {
    {
      std::lock_guard<std::mutex> lock(apply_mu_);
      for (ApplyItem& i : items) apply_queue_.push_back(std::move(i));
    }
    apply_cv_.notify_one();
  }
  raft_->advance(rd);
  last_index_ = raft_->log().last_index();
  for (const SnapshotOutcome& o : unsendable) snapshot_outcome(o);
}

void RaftPeer::snapshot_outcome(const SnapshotOutcome& o) {
  if (o.delivered) {  // before the count, so that a reader who sees the count sees these too
    snapshot_bytes_sent_.fetch_add(o.bytes, std::memory_order_relaxed);
    snapshot_send_seconds_.observe(o.took);
  }
  (o.delivered ? snapshots_sent_ : snapshots_send_failed_).fetch_add(1, std::memory_order_release);
  const std::optional<MemberRecord> to = member_record(o.follower);
  const std::string name = to ? to->address.name : std::to_string(o.follower);
  if (o.delivered) {
    logger_.info("snapshot delivered to " + name);
  } else {
    logger_.warning("snapshot to " + name + " failed; Raft tries again later");
  }
  raft_->report_snapshot(o.follower, o.delivered);
}

void RaftPeer::count_ready(const Ready& rd) {
  const bool campaigning = rd.role == Role::kPreCandidate || rd.role == Role::kCandidate;
  // Every campaign the core starts is counted (a pre-candidate's repeated rounds too) and logged, and so is the
  // step from pre-candidate to candidate.
  const std::uint64_t started = raft_->campaigns_started();
  const bool new_campaign = started != elections_.load(std::memory_order_relaxed);
  if (new_campaign) elections_.store(started, std::memory_order_relaxed);
  if (campaigning && (new_campaign || rd.role != last_role_ || rd.term != last_term_)) {
    logger_.info(std::string(rd.role == Role::kPreCandidate ? "no word from a leader: asking for pre-votes" : "campaigning") +
              " at term " + std::to_string(rd.role == Role::kPreCandidate ? rd.term + 1 : rd.term));
  }
  if (rd.leader != kNoNode && rd.leader != last_leader_) {
    if (last_leader_ != kNoNode) leader_changes_.fetch_add(1, std::memory_order_relaxed);
    last_leader_ = rd.leader;
    if (rd.leader == self_) {
      logger_.info("leading at term " + std::to_string(rd.term));
    } else {
      const std::optional<MemberRecord> leader = member_record(rd.leader);
      logger_.info("following " + (leader ? leader->address.name : std::to_string(rd.leader)) + " at term " +
                std::to_string(rd.term));
    }
  }
  last_role_ = rd.role;
  last_term_ = rd.term;
}

void RaftPeer::publish_followers() {
  std::vector<FollowerMetrics> view;
  if (raft_->role() == Role::kLeader) {
    const Index last = raft_->log().last_index();
    for (NodeId id : raft_->configuration().members()) {
      const Progress* pr = raft_->progress(id);
      if (id == self_ || pr == nullptr) continue;
      const std::optional<MemberRecord> record = member_record(id);
      view.push_back(FollowerMetrics{record ? record->address.name : std::to_string(id), pr->match,
                                     last > pr->match ? last - pr->match : 0});
    }
  }
  std::lock_guard<std::mutex> lock(followers_mu_);
  followers_view_ = std::move(view);
}

PeerMetrics RaftPeer::metrics() const {
  PeerMetrics m;
  m.leader = is_leader();
  m.term = term_.load();
  m.commit_index = commit_.load();
  m.applied_index = applied_.load();
  m.last_index = last_index_.load();
  m.snapshot_index = snapshot_index_.load();
  m.pending_requests = pending_.load();
  {
    std::lock_guard<std::mutex> lock(followers_mu_);
    if (m.leader) m.followers = followers_view_;
  }
  m.proposals = proposals_.load(std::memory_order_relaxed);
  m.proposals_refused = proposals_refused_.load(std::memory_order_relaxed);
  m.elections = elections_.load(std::memory_order_relaxed);
  m.leader_changes = leader_changes_.load(std::memory_order_relaxed);
  m.entries_applied = entries_applied_.load(std::memory_order_relaxed);
  m.snapshots_taken = snapshots_taken_.load(std::memory_order_relaxed);
  m.snapshot_bytes_taken = snapshot_bytes_taken_.load(std::memory_order_relaxed);
  m.snapshots_installed = installs_.load();
  m.snapshot_bytes_installed = snapshot_bytes_installed_.load(std::memory_order_relaxed);
  m.snapshots_sent = snapshots_sent_.load(std::memory_order_acquire);
  m.snapshot_bytes_sent = snapshot_bytes_sent_.load(std::memory_order_relaxed);
  m.snapshots_send_failed = snapshots_send_failed_.load(std::memory_order_relaxed);
  m.inbound_dropped = inbound_dropped_.load();
  if (transport_) m.transport = transport_->stats();
  m.durable_write_seconds = durable_write_seconds_.snapshot();
  m.append_batch_entries = append_batch_entries_.snapshot();
  m.read_index_seconds = read_index_seconds_.snapshot();
  m.snapshot_take_seconds = snapshot_take_seconds_.snapshot();
  m.snapshot_send_seconds = snapshot_send_seconds_.snapshot();
  m.snapshot_install_seconds = snapshot_install_seconds_.snapshot();
  return m;
}

void RaftPeer::install_snapshot(const SnapshotMeta& meta, std::vector<ApplyItem>& items) {
  // The receiver verified and fsynced the file before the core saw it. Make it the snapshot, then compact the log
  // to it: a crash between the two leaves the snapshot and an uncompacted log, which boot() finishes.
  if (!store_) return fail("told to install a snapshot without a snapshot store");
  if (Status s = store_->install(meta); !s.is_ok()) return fail("installing snapshot: " + s.to_string());
  if (Status s = log_->compact(meta); !s.is_ok()) return fail("compacting the log to a snapshot: " + s.to_string());
  auto reader = store_->open_latest();
  if (!reader.is_ok()) return fail("opening the installed snapshot: " + reader.status().to_string());
  ApplyItem restore;
  restore.kind = ApplyItem::Kind::kRestore;
  restore.snapshot = std::move(reader).value();
  items.push_back(std::move(restore));
  // Writes proposed here up to the snapshot: committed or not, this peer can no longer tell.
  for (auto it = pending_writes_.begin(); it != pending_writes_.end() && it->first <= meta.last_index;) {
    it->second.second.answer(Status(ErrorCode::kUnavailable, "outcome unknown: superseded by a snapshot"));
    it = pending_writes_.erase(it);
  }
  snapshot_index_ = meta.last_index;
  first_index_ = meta.last_index + 1;
  ++installs_;
  logger_.info("installed the leader's snapshot at " + std::to_string(meta.last_index) + " (term " +
            std::to_string(meta.last_term) + ")");
}

void RaftPeer::apply_loop() {
  std::deque<ApplyItem> waiting_reads;  // confirmed, but the state machine is not there yet
  while (true) {
    std::deque<ApplyItem> batch;
    {
      std::unique_lock<std::mutex> lock(apply_mu_);
      apply_cv_.wait(lock, [&] { return stopping_ || !apply_queue_.empty() || snapshot_finished_; });
      if (stopping_ && apply_queue_.empty()) break;
      snapshot_finished_ = false;  // a snapshot ended: the thresholds are looked at again below
      batch.swap(apply_queue_);
    }
    for (ApplyItem& item : batch) {
      if (machine_failed_) break;  // nothing more is applied; what is left answers kUnavailable as it goes
      switch (item.kind) {
        case ApplyItem::Kind::kRead: waiting_reads.push_back(std::move(item)); break;
        case ApplyItem::Kind::kEntry: apply_entry(item); break;
        case ApplyItem::Kind::kRestore: {
          const auto started = std::chrono::steady_clock::now();
          if (Status s = restore_state(*item.snapshot); !s.is_ok()) {
            machine_failed_ = true;  // the state is half restored: nothing more may be applied to it
            fail("restoring the leader's snapshot failed: " + s.to_string());
            break;
          }
          snapshot_install_seconds_.observe(std::chrono::steady_clock::now() - started);
          snapshot_bytes_installed_.fetch_add(item.snapshot->file_size(), std::memory_order_relaxed);
          const SnapshotMeta& meta = item.snapshot->meta();
          applied_index_ = last_snapshot_index_ = meta.last_index;
          applied_term_ = meta.last_term;
          applied_configuration_ = meta.configuration;
          bytes_since_snapshot_ = 0;
          applied_ = applied_index_;
          break;
        }
      }
    }
    while (!stopping_ && !waiting_reads.empty() && waiting_reads.front().read_index <= applied_index_) {
      ApplyItem& r = waiting_reads.front();
      try {
        r.promise->answer(machine_->handle_read(r.query));
      } catch (const std::exception& ex) {
        r.promise->answer(Status(ErrorCode::kInvalidArgument, std::string("the state machine threw: ") + ex.what()));
      }
      waiting_reads.pop_front();
    }
    maybe_start_snapshot();
  }
  for (ApplyItem& r : waiting_reads) r.promise->answer(Status(ErrorCode::kUnavailable, "peer stopped"));
}

void RaftPeer::apply_entry(ApplyItem& item) {
  const Entry& e = item.entry;
  Result<std::string> result = std::string();
  if (e.kind == EntryKind::kNormal) {
    const Command c = decode_command(e.payload);
    try {
      if (c.client == 0) {
        result = machine_->handle_write(std::string(c.text));
      } else {
        result = sessions_.apply(c.client, c.request, [&] { return machine_->handle_write(std::string(c.text)); });
      }
    } catch (const std::exception& ex) {
      // The state machine's state is unknown now (see StateMachine::handle_write): stop, applying nothing more.
      machine_failed_ = true;
      return fail("the state machine threw applying entry " + std::to_string(e.index) + ": " + ex.what());
    } catch (...) {
      machine_failed_ = true;
      return fail("the state machine threw applying entry " + std::to_string(e.index));
    }
  } else if (e.kind == EntryKind::kConfiguration) {
    if (Result<Configuration> conf = decode_configuration(e.payload); conf.is_ok()) applied_configuration_ = conf.value();
  }
  applied_index_ = e.index;
  applied_term_ = e.term;
  bytes_since_snapshot_ += entry_size(e);
  applied_ = applied_index_;
  entries_applied_.fetch_add(1, std::memory_order_relaxed);
  if (item.promise) item.promise->answer(std::move(result));
}

Status RaftPeer::restore_state(SnapshotReader& reader) {
  std::istream& in = reader.body();
  if (Status s = sessions_.decode(in); !s.is_ok()) return s;
  if (Status s = machine_->restore(in); !s.is_ok()) return s;
  // Only a snapshot whose every byte passed its checksum counts as restored.
  return reader.verify();
}

void RaftPeer::maybe_start_snapshot() {
  if (!store_ || snapshot_running_ || stopping_ || applied_index_ <= last_snapshot_index_) return;
  const bool by_count = options_.snapshot_entries > 0 && applied_index_ - last_snapshot_index_ >= options_.snapshot_entries;
  const bool by_bytes = options_.snapshot_bytes > 0 && bytes_since_snapshot_ >= options_.snapshot_bytes;
  if (!by_count && !by_bytes) return;
  // Between two commands: the state machine captures a view cheaply; the sessions are copied (they are small).
  std::unique_ptr<StateMachineSnapshot> view = machine_->snapshot();
  if (!view) return;
  const SnapshotMeta meta{applied_index_, applied_term_, applied_configuration_};
  std::string sessions = sessions_.encode();
  // The counters restart even if the write fails, so a failing disk is retried one threshold later, not at once.
  last_snapshot_index_ = applied_index_;
  bytes_since_snapshot_ = 0;
  snapshot_running_ = true;
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  snapshot_thread_ = std::thread([this, meta, view = std::move(view), sessions = std::move(sessions)]() {
    // Background work: on a busy machine, commands come first.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
    write_snapshot(meta, *view, sessions);
    {
      std::lock_guard<std::mutex> lock(apply_mu_);
      snapshot_running_ = false;
      snapshot_finished_ = true;  // entries applied meanwhile may already call for the next snapshot
    }
    apply_cv_.notify_one();
  });
}

void RaftPeer::write_snapshot(const SnapshotMeta& meta, StateMachineSnapshot& view, const std::string& sessions) {
  const auto started = std::chrono::steady_clock::now();
  auto writer = store_->create(meta);
  Status s = writer.status();
  std::uint64_t bytes = 0;
  if (s.is_ok()) {
    CountingBuffer counted(*writer.value()->stream().rdbuf());
    std::ostream out(&counted);
    out.write(sessions.data(), static_cast<std::streamsize>(sessions.size()));
    s = view.write(out);
    out.flush();
    if (s.is_ok() && (!out || !writer.value()->stream())) s = Status(ErrorCode::kIo, "snapshot stream failed");
    bytes = counted.bytes();
    if (s.is_ok()) s = writer.value()->commit();
  }
  if (s.is_ok()) {
    const auto took = std::chrono::steady_clock::now() - started;
    snapshot_take_seconds_.observe(took);
    snapshots_taken_.fetch_add(1, std::memory_order_relaxed);
    snapshot_bytes_taken_.fetch_add(bytes, std::memory_order_relaxed);
    logger_.info("snapshot taken at " + std::to_string(meta.last_index) + " (" + std::to_string(bytes) + " bytes in " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) + " ms)");
  }
  if (!s.is_ok()) {
    logger_.warning("snapshot at " + std::to_string(meta.last_index) + " failed: " + s.to_string() +
                 "; the log stays uncompacted");
    return;
  }
  post([this, meta] { snapshot_written(meta); });
}

void RaftPeer::snapshot_written(const SnapshotMeta& meta) {
  // The snapshot is durable: only now may the log drop what it holds.
  Result<std::optional<SnapshotMeta>> compaction = raft_->snapshot_taken(meta, options_.trailing_entries);
  if (!compaction.is_ok()) {
    logger_.warning("snapshot refused by the core: " + compaction.status().to_string());
    return;
  }
  if (compaction.value()) {
    if (Status s = log_->compact(*compaction.value()); !s.is_ok()) return fail("compacting the log: " + s.to_string());
  }
  snapshot_index_ = raft_->snapshot().last_index;
  first_index_ = raft_->log().first_index();
}

void RaftPeer::fail_everything() {
  const Status stopped(ErrorCode::kUnavailable, "peer stopped: " + status().stop_reason);
  for (auto& [index, change] : pending_changes_) change.second(stopped);
  pending_changes_.clear();
  for (auto& [index, p] : pending_writes_) p.second.answer(stopped);
  pending_writes_.clear();
  for (auto& [ctx, p] : pending_reads_) p.answer.answer(stopped);
  pending_reads_.clear();
  if (transfer_) transfer_->answer->answer(stopped);
  transfer_.reset();
  std::deque<std::function<void()>> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued.swap(inbox_);
  }
  queued.clear();  // queued requests' answers are destroyed unanswered: each answers kUnavailable
}

void RaftPeer::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stop_reason_.empty()) stop_reason_ = "stopped";
  }
  stopping_ = true;
  leader_ = kNoNode;
  cv_.notify_all();
  if (raft_thread_.joinable()) raft_thread_.join();
  if (transport_) transport_->stop();
  apply_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  {
    std::lock_guard<std::mutex> lock(apply_mu_);
    for (ApplyItem& i : apply_queue_) {
      if (i.promise) i.promise->answer(Status(ErrorCode::kUnavailable, "peer stopped"));
    }
    apply_queue_.clear();
  }
  fail_everything();
  log_.reset();
}

}  // namespace internal

std::future<Result<std::string>> Peer::write(std::string command) {
  std::future<Result<std::string>> f;
  write(std::move(command), internal::completion_for(f));
  return f;
}

std::future<Result<std::string>> Peer::write(std::string command, std::uint64_t client_id, std::uint64_t request_id) {
  std::future<Result<std::string>> f;
  write(std::move(command), client_id, request_id, internal::completion_for(f));
  return f;
}

std::future<Result<std::string>> Peer::read(std::string query) {
  std::future<Result<std::string>> f;
  read(std::move(query), internal::completion_for(f));
  return f;
}

std::future<Result<std::string>> Peer::read_local(std::string query) {
  std::future<Result<std::string>> f;
  read_local(std::move(query), internal::completion_for(f));
  return f;
}

Result<std::unique_ptr<Peer>> Peer::start(PeerOptions options, std::unique_ptr<StateMachine> machine) {
  auto peer = std::make_unique<internal::RaftPeer>(std::move(options), std::move(machine));
  if (Status s = peer->boot(); !s.is_ok()) return s;
  return std::unique_ptr<Peer>(std::move(peer));
}

}  // namespace raftkit
