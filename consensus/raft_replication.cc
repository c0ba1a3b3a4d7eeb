// The leader's side of log replication, commitment and linearizable reads.
#include <algorithm>

#include "consensus/assert.h"
#include "consensus/raft.h"

namespace raftkit {

bool Raft::send_append(NodeId to, bool send_if_empty) {
  Progress& pr = progress_.at(to);
  if (pr.is_paused()) return false;
  const Index prev = pr.next - 1;
  std::optional<Term> prev_term = log_.term(prev);
  if (!prev_term) {
    // The entries it needs are compacted away: it must catch up from our snapshot instead.
    send_snapshot(to, pr);
    return true;
  }
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.log_index = prev;
  m.log_term = *prev_term;
  m.commit = log_.committed();
  if (pr.next <= log_.last_index()) m.entries = log_.slice(pr.next, log_.last_index() + 1, config_.max_append_bytes);
  if (m.entries.empty() && !send_if_empty) return false;
  if (!m.entries.empty()) {
    std::uint64_t bytes = 0;
    for (const Entry& e : m.entries) bytes += entry_size(e);
    pr.sent_entries(m.entries.back().index, bytes);
  } else if (pr.state == Progress::State::kProbe) {
    pr.probe_sent = true;
  }
  send(std::move(m));
  return true;
}

void Raft::send_snapshot(NodeId to, Progress& pr) {
  RAFTKIT_INVARIANT(snapshot_.last_index >= log_.start().last_index, "log compacted beyond the newest snapshot");
  Message m;
  m.type = MessageType::kInstallSnapshot;
  m.to = to;
  m.snapshot = snapshot_;
  m.commit = log_.committed();
  // Paused until the runtime reports the stream's end or the follower answers.
  pr.become_snapshot(snapshot_.last_index);
  send(std::move(m));
}

void Raft::report_snapshot(NodeId to, bool delivered) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(to);
  if (it == progress_.end() || it->second.state != Progress::State::kSnapshot) return;
  Progress& pr = it->second;
  if (!delivered) pr.pending_snapshot = 0;  // probe from what is known to match; a new snapshot follows if needed
  pr.become_probe();
  // Wait for the follower's answer, or the next heartbeat's, before probing: a failed stream is not retried in a
  // tight loop.
  pr.probe_sent = true;
}

void Raft::broadcast_append() {
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    // Keep the pipeline full: several appends may be in flight in kReplicate.
    while (send_append(id, false)) {
      if (pr.state != Progress::State::kReplicate) break;
    }
  }
}

void Raft::broadcast_heartbeat(std::uint64_t context) {
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    // Never tell a follower to commit beyond what it is known to hold.
    m.commit = std::min(pr.match, log_.committed());
    m.log_index = pr.next - 1;
    m.context = context;
    m.sent_at = ticks_;
    send(std::move(m));
  }
}

bool Raft::maybe_commit() {
  const Index quorum_index = quorum_committed_index(configuration_, [this](NodeId id) {
    auto it = progress_.find(id);
    return it == progress_.end() ? Index{0} : it->second.match;
  });
  // Only an entry of the current term is committed by counting replicas (Raft paper 5.4.2, Figure 8).
  if (!log_.maybe_commit(quorum_index, term_)) return false;
  on_commit_advanced();
  return true;
}

void Raft::on_commit_advanced() {
  if (!reads_awaiting_first_commit_.empty() && committed_in_current_term()) {
    std::vector<std::uint64_t> waiting;
    waiting.swap(reads_awaiting_first_commit_);
    for (std::uint64_t ctx : waiting) serve_read(ctx);
  }
  // Tell followers the new commit index promptly rather than at the next heartbeat.
  for (auto& [id, pr] : progress_) {
    if (id != config_.id) send_append(id, true);
  }
  maybe_advance_configuration();
}

void Raft::self_persisted() {
  auto it = progress_.find(config_.id);
  if (it == progress_.end()) return;
  // The leader counts towards a quorum only with what it has made durable itself.
  it->second.maybe_update(log_.stable());
  maybe_commit();
}

void Raft::handle_append_response(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.log_index > log_.last_index()) return;  // acknowledges entries we never sent: ignore, never count it
  if (m.reject) {
    Index hint = m.reject_hint;
    if (m.reject_hint_term > 0) hint = log_.find_conflict_by_term(m.reject_hint, m.reject_hint_term);
    if (pr.maybe_decrease_to(m.log_index, hint)) {
      if (pr.state == Progress::State::kReplicate) pr.become_probe();
      send_append(m.from, true);
    }
    return;
  }
  const bool was_paused = pr.is_paused();
  if (!pr.maybe_update(m.log_index)) return;
  if (pr.state == Progress::State::kProbe) {
    pr.become_replicate();
  } else if (pr.state == Progress::State::kSnapshot && pr.match + 1 >= log_.first_index()) {
    // The follower installed the snapshot (or caught up another way): replicate from what it holds.
    pr.become_probe();
    pr.become_replicate();
  } else if (pr.state == Progress::State::kReplicate) {
    pr.inflights.free_le(m.log_index);
  }
  // A follower that was paused missed the commit index we broadcast meanwhile: send it even without entries.
  const bool committed = maybe_commit();
  // Committing may have changed the configuration (leaving a joint one, or removing us): `pr` may be gone.
  if (role_ != Role::kLeader || !progress_.count(m.from)) return;
  if (!committed && was_paused) send_append(m.from, true);
  // Refill the pipeline the acknowledgement just made room in.
  while (send_append(m.from, false)) {
  }
  // A learner may now be close enough to promote.
  if (config_.promote_learners_within > 0 && configuration_.is_member(m.from) && !configuration_.is_voter(m.from)) {
    maybe_advance_configuration();
    if (role_ != Role::kLeader || !progress_.count(m.from)) return;
  }
  if (m.from == transfer_target_ && progress_.at(m.from).match == log_.last_index()) {
    Message t;
    t.type = MessageType::kTimeoutNow;
    t.to = m.from;
    timeout_now_sent_ = true;
    send(std::move(t));
  }
}

void Raft::handle_heartbeat_response(const Message& m, Progress& pr) {
  pr.recent_active = true;
  if (m.sent_at <= ticks_) pr.acked_heartbeat_sent_at = std::max(pr.acked_heartbeat_sent_at, m.sent_at);
  pr.probe_sent = false;
  // A follower that holds the snapshot's index has installed it, even if the runtime's report went missing.
  if (pr.state == Progress::State::kSnapshot && m.reject_hint >= pr.pending_snapshot) pr.become_probe();
  // Appends may have been lost: let one more through, so a full window cannot stall a live follower forever.
  if (pr.state == Progress::State::kReplicate && pr.inflights.full()) pr.inflights.free_first();
  // The follower answered a heartbeat sent after our appends up to m.log_index, yet holds less: they were lost.
  // Probe again from what is known to match rather than waiting for a gap the next proposal would reveal.
  if (pr.state == Progress::State::kReplicate && m.reject_hint < m.log_index && pr.match == m.reject_hint) {
    pr.become_probe();
  }
  // Send even without new entries: an acknowledgement may have been lost, and the follower answers this one.
  if (pr.match < log_.last_index()) send_append(m.from, true);
  if (m.context != 0) acknowledge_read(m.from, m.context);
}

// ---------------------------------------------------------------------------------------------------------------
// Linearizable reads (Raft thesis 6.4)

bool Raft::committed_in_current_term() const { return log_.term(log_.committed()) == term_; }

Status Raft::read_index(std::uint64_t context) {
  if (context == 0) return Status(ErrorCode::kInvalidArgument, "read context must be nonzero");
  if (role_ != Role::kLeader) {
    return Status(ErrorCode::kNotLeader, "node " + std::to_string(config_.id) + " is not the leader (leader is " +
                                             std::to_string(leader_) + ")");
  }
  if (!committed_in_current_term()) {
    // Until its no-op commits, a new leader does not know the commit index it must read at.
    reads_awaiting_first_commit_.push_back(context);
    return Status::ok();
  }
  serve_read(context);
  return Status::ok();
}

bool Raft::lease_valid() const {
  // Followers refuse votes for election_ticks after hearing from us, counted from when they received a heartbeat,
  // which is after we sent it. So while a quorum acknowledged heartbeats sent less than election_ticks ago (minus
  // one tick of margin for rate drift), no other leader can have been elected. Not after a TimeoutNow: the target
  // campaigns with votes that ignore the lease.
  if (timeout_now_sent_ || transfer_target_ != kNoNode) return false;
  const std::uint64_t horizon = static_cast<std::uint64_t>(config_.election_ticks - 1);
  return quorum_active(configuration_, [&](NodeId id) {
    if (id == config_.id) return true;
    auto it = progress_.find(id);
    return it != progress_.end() && it->second.acked_heartbeat_sent_at > 0 &&
           ticks_ - it->second.acked_heartbeat_sent_at < horizon;
  });
}

void Raft::serve_read(std::uint64_t context) {
  const bool alone = configuration_.voters.size() == 1 && configuration_.voters_outgoing.empty() &&
                     configuration_.voters.front() == config_.id;
  if (alone || (config_.read_mode == ReadMode::kLeaseBased && lease_valid())) {
    read_states_.push_back(ReadState{context, log_.committed()});
    return;
  }
  // The heartbeat carries our own round number, never the caller's context: a late answer to an older round
  // cannot confirm a newer read, whatever contexts callers reuse.
  const std::uint64_t round = next_read_round_++;
  pending_reads_.push_back(PendingRead{context, round, log_.committed(), {config_.id}});
  broadcast_heartbeat(round);
}

void Raft::acknowledge_read(NodeId from, std::uint64_t round) {
  auto it = std::find_if(pending_reads_.begin(), pending_reads_.end(),
                         [&](const PendingRead& r) { return r.round == round; });
  if (it == pending_reads_.end()) return;
  if (std::find(it->acks.begin(), it->acks.end(), from) == it->acks.end()) it->acks.push_back(from);
  const std::vector<NodeId>& acks = it->acks;
  if (!quorum_active(configuration_, [&](NodeId id) { return std::find(acks.begin(), acks.end(), id) != acks.end(); })) {
    return;
  }
  // A quorum confirmed our leadership after this read arrived, and so after every earlier one too.
  const auto end = std::next(it);
  for (auto r = pending_reads_.begin(); r != end; ++r) read_states_.push_back(ReadState{r->context, r->index});
  pending_reads_.erase(pending_reads_.begin(), end);
}

void Raft::drop_pending_reads() {
  for (const PendingRead& r : pending_reads_) dropped_reads_.push_back(r.context);
  dropped_reads_.insert(dropped_reads_.end(), reads_awaiting_first_commit_.begin(), reads_awaiting_first_commit_.end());
  pending_reads_.clear();
  reads_awaiting_first_commit_.clear();
}

}  // namespace raftkit
