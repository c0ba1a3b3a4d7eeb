// Elections, roles and message dispatch. Replication and reads live in raft_replication.cc.
#include "consensus/raft.h"

#include <algorithm>

#include "consensus/assert.h"

namespace raftkit {

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

Status RaftConfig::validate() const {
  auto bad = [](const std::string& what) { return Status(ErrorCode::kInvalidArgument, "raft config: " + what); };
  if (id == kNoNode) return bad("id must be nonzero");
  if (heartbeat_ticks <= 0) return bad("heartbeat_ticks must be positive");
  if (election_ticks <= heartbeat_ticks) return bad("election_ticks must exceed heartbeat_ticks");
  if (max_inflight_messages == 0) return bad("max_inflight_messages must be positive");
  if (max_append_bytes == 0) return bad("max_append_bytes must be positive");
  if (read_mode == ReadMode::kLeaseBased && !check_quorum) return bad("lease-based reads require check_quorum");
  return Status::ok();
}

Result<std::unique_ptr<Raft>> Raft::create(const RaftConfig& config, BootState boot) {
  if (Status s = config.validate(); !s.is_ok()) return s;
  Index expect = boot.log_start.last_index + 1;
  Term prev = boot.log_start.last_term;
  for (const Entry& e : boot.entries) {
    if (e.index != expect || e.term < prev) {
      return Status(ErrorCode::kCorruption, "boot log is not contiguous or its terms decrease at index " +
                                                std::to_string(e.index));
    }
    ++expect;
    prev = e.term;
  }
  if (!boot.snapshot) boot.snapshot = boot.log_start;
  const SnapshotMeta& snap = *boot.snapshot;
  const bool snapshot_in_log =
      snap.last_index == boot.log_start.last_index
          ? snap.last_term == boot.log_start.last_term
          : snap.last_index > boot.log_start.last_index && snap.last_index < expect &&
                boot.entries[snap.last_index - boot.log_start.last_index - 1].term == snap.last_term;
  if (!snapshot_in_log) {
    return Status(ErrorCode::kCorruption,
                  "snapshot " + std::to_string(snap.last_index) + "/" + std::to_string(snap.last_term) +
                      " is not in the log (which starts after " + std::to_string(boot.log_start.last_index) +
                      "): compact the durable log to it before booting");
  }
  if (boot.hard_state.term < prev) {
    // A crash may keep a write's entries but not its hard state (the contract allows exactly that). Entries of
    // term T mean this node saw term T; and since votes are sent only once durable, no vote of that term was ever
    // sent from here. So the term is adopted with no vote.
    boot.hard_state.term = prev;
    boot.hard_state.voted_for = kNoNode;
  }
  return std::unique_ptr<Raft>(new Raft(config, std::move(boot)));
}

Raft::Raft(const RaftConfig& config, BootState boot)
    : config_(config),
      random_(config.seed * 0x9e3779b97f4a7c15ull + config.id),
      log_(boot.log_start, std::move(boot.entries), boot.hard_state.commit, boot.snapshot->last_index),
      snapshot_(*boot.snapshot) {
  term_ = boot.hard_state.term;
  vote_ = boot.hard_state.voted_for;
  persisted_hard_state_ = hard_state();
  refresh_configuration();
  become_follower(term_, kNoNode);
}

void Raft::refresh_configuration() {
  // The latest configuration in the log is in effect, committed or not (Raft thesis 4.1).
  for (Index i = log_.last_index(); i >= log_.first_index() && i > 0; --i) {
    const Entry& e = log_.at(i);
    if (e.kind != EntryKind::kConfiguration) continue;
    Result<Configuration> c = decode_configuration(e.payload);
    RAFTKIT_INVARIANT(c.is_ok(), "configuration entry %llu does not decode: %s", static_cast<unsigned long long>(i),
                      c.status().to_string().c_str());
    configuration_ = c.value();
    configuration_index_ = i;
    configuration_term_ = e.term;
    if (role_ == Role::kLeader) sync_progress_with_configuration();
    return;
  }
  configuration_ = log_.start().configuration;
  configuration_index_ = log_.start().last_index;
  configuration_term_ = log_.start().last_term;
  if (role_ == Role::kLeader) sync_progress_with_configuration();
}

Configuration Raft::configuration_at(Index index) const {
  for (Index i = index; i >= log_.first_index() && i > 0; --i) {
    const Entry& e = log_.at(i);
    if (e.kind == EntryKind::kConfiguration) return decode_configuration(e.payload).value();
  }
  return log_.start().configuration;
}

const Progress* Raft::progress(NodeId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

std::string Raft::describe() const {
  return "node " + std::to_string(config_.id) + " " + role_name(role_) + " term=" + std::to_string(term_) +
         " vote=" + std::to_string(vote_) + " leader=" + std::to_string(leader_) +
         " last=" + std::to_string(log_.last_index()) + "/" + std::to_string(log_.last_term()) +
         " commit=" + std::to_string(log_.committed()) + " stable=" + std::to_string(log_.stable()) +
         " start=" + std::to_string(log_.start().last_index) + " snapshot=" + std::to_string(snapshot_.last_index) +
         " applied=" + std::to_string(log_.applied()) + " " + configuration_.to_string();
}

// ---------------------------------------------------------------------------------------------------------------
// Roles

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
    timeout_now_sent_ = false;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_transfer();
  votes_.clear();
  progress_.clear();
  drop_pending_reads();
  needs_broadcast_ = false;
}

void Raft::reset_randomized_election_timeout() {
  randomized_election_timeout_ =
      config_.election_ticks + static_cast<int>(random_.below(static_cast<std::uint64_t>(config_.election_ticks)));
}

void Raft::become_follower(Term term, NodeId leader) {
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
}

void Raft::become_pre_candidate() {
  RAFTKIT_INVARIANT(role_ != Role::kLeader, "leader cannot become pre-candidate");
  // Pre-vote changes neither term nor vote: a node that cannot win disturbs nobody (Raft thesis 9.6).
  votes_.clear();
  progress_.clear();
  drop_pending_reads();
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
}

void Raft::become_candidate() {
  RAFTKIT_INVARIANT(role_ != Role::kLeader, "leader cannot become candidate");
  reset(term_ + 1);
  vote_ = config_.id;
  role_ = Role::kCandidate;
}

void Raft::become_leader() {
  RAFTKIT_INVARIANT(role_ == Role::kCandidate, "only a candidate becomes leader");
  reset(term_);
  role_ = Role::kLeader;
  leader_ = config_.id;
  for (NodeId id : configuration_.members()) {
    progress_.emplace(id, Progress(log_.last_index() + 1, config_.max_inflight_messages, config_.max_inflight_bytes));
  }
  if (auto it = progress_.find(config_.id); it != progress_.end()) {
    it->second.match = log_.stable();
    it->second.become_replicate();
    it->second.recent_active = true;
  }
  // A no-op of the new term lets the leader commit entries of earlier terms (Raft paper 5.4.2) and learn the
  // commit index needed for reads (thesis 6.4).
  log_.append({Entry{log_.last_index() + 1, term_, EntryKind::kNoop, {}}});
  needs_broadcast_ = true;
}

bool Raft::in_leader_lease() const {
  return config_.check_quorum && leader_ != kNoNode && election_elapsed_ < config_.election_ticks;
}

void Raft::campaign(CampaignKind kind) {
  if (!promotable()) return;
  MessageType request;
  Term request_term;
  if (kind == CampaignKind::kPreElection) {
    become_pre_candidate();
    request = MessageType::kPreVote;
    request_term = term_ + 1;
  } else {
    become_candidate();
    request = MessageType::kVote;
    request_term = term_;
  }
  if (poll(config_.id, true) == VoteResult::kWon) {
    // A single-voter cluster wins at once.
    if (kind == CampaignKind::kPreElection) {
      campaign(CampaignKind::kElection);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId id : configuration_.members()) {
    if (id == config_.id || !configuration_.is_voter(id)) continue;
    Message m;
    m.type = request;
    m.to = id;
    m.term = request_term;
    m.log_index = log_.last_index();
    m.log_term = log_.last_term();
    m.context = kind == CampaignKind::kTransfer ? 1 : 0;
    send(std::move(m));
  }
}

VoteResult Raft::poll(NodeId from, bool granted) {
  votes_.emplace(from, granted);
  return tally_votes(configuration_, [this](NodeId id) {
    auto it = votes_.find(id);
    return it == votes_.end() ? -1 : (it->second ? 1 : 0);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

void Raft::tick() {
  ++ticks_;
  ++election_elapsed_;
  if (role_ != Role::kLeader) {
    if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
      election_elapsed_ = 0;
      ++campaigns_started_;
      campaign(config_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
    }
    return;
  }
  ++heartbeat_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      const bool quorum = quorum_active(configuration_, [this](NodeId id) {
        auto it = progress_.find(id);
        return it != progress_.end() && (id == config_.id || it->second.recent_active);
      });
      for (auto& [id, pr] : progress_) pr.recent_active = id == config_.id;
      if (!quorum) {
        become_follower(term_, kNoNode);
        return;
      }
    }
  }
  // A transfer that did not finish within an election timeout is abandoned (Raft thesis 3.10).
  if (transfer_target_ != kNoNode && ++transfer_elapsed_ >= config_.election_ticks) abort_transfer();
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(pending_reads_.empty() ? 0 : pending_reads_.back().round);
  }
}

Proposal Raft::propose(std::string payload) {
  Proposal p;
  if (role_ != Role::kLeader) {
    p.status = Status(ErrorCode::kNotLeader, "node " + std::to_string(config_.id) + " is not the leader");
    p.leader_hint = leader_;
    return p;
  }
  if (transfer_target_ != kNoNode) {
    p.status = Status(ErrorCode::kDropped, "leadership is being transferred to " + std::to_string(transfer_target_));
    p.leader_hint = leader_;
    return p;
  }
  p.index = log_.last_index() + 1;
  p.term = term_;
  p.leader_hint = config_.id;
  log_.append({Entry{p.index, term_, EntryKind::kNormal, std::move(payload)}});
  // Appends go out once per Ready, so a burst of proposals travels as one batch per follower.
  needs_broadcast_ = true;
  return p;
}

Status Raft::transfer_leadership(NodeId target) {
  if (role_ != Role::kLeader) return Status(ErrorCode::kNotLeader, "only the leader can transfer leadership");
  if (target == config_.id) {
    abort_transfer();
    return Status::ok();
  }
  if (!configuration_.is_voter(target)) {
    return Status(ErrorCode::kInvalidArgument, "transfer target " + std::to_string(target) + " is not a voter");
  }
  if (transfer_target_ == target) return Status::ok();
  abort_transfer();
  transfer_target_ = target;
  const Progress& pr = progress_.at(target);
  if (pr.match == log_.last_index()) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.to = target;
    timeout_now_sent_ = true;
    send(std::move(m));
  } else {
    send_append(target, true);
  }
  return Status::ok();
}

Status Raft::step(const Message& m) {
  if (m.to != config_.id) return Status(ErrorCode::kInvalidArgument, "message for node " + std::to_string(m.to));
  if (m.from == kNoNode || m.from == config_.id) {
    return Status(ErrorCode::kInvalidArgument, "message with invalid sender " + std::to_string(m.from));
  }
  if (m.type > MessageType::kInstallSnapshotResponse) return Status(ErrorCode::kInvalidArgument, "unknown message type");
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    const Term prev = i == 0 ? m.log_term : m.entries[i - 1].term;
    if (e.index != m.log_index + 1 + i || e.term < prev || e.term > m.term) {
      return Status(ErrorCode::kInvalidArgument, "append from " + std::to_string(m.from) + " has malformed entries");
    }
    if (e.kind == EntryKind::kConfiguration && !decode_configuration(e.payload).is_ok()) {
      return Status(ErrorCode::kInvalidArgument, "append from " + std::to_string(m.from) + " carries a configuration "
                                                 "entry that does not decode");
    }
  }
  if (m.type == MessageType::kInstallSnapshot &&
      (m.snapshot.last_index == 0 || m.snapshot.last_term == 0 || m.snapshot.last_term > m.term ||
       m.snapshot.configuration.voters.empty())) {
    return Status(ErrorCode::kInvalidArgument, "snapshot from " + std::to_string(m.from) + " has malformed metadata");
  }
  if ((m.type == MessageType::kVote || m.type == MessageType::kPreVote) && !configuration_.is_member(m.from) &&
      !log_.is_up_to_date(m.log_index, m.log_term)) {
    // A node outside our configuration whose log is behind ours: typically a removed node that never received
    // the entry removing it (we hold that entry). We would refuse its vote anyway; ignoring the request also keeps
    // it from raising our term and disrupting the cluster (thesis 4.2.3). A non-member whose log is at least as
    // up to date as ours may be a voter added by a configuration we have not seen yet: it is heard as usual, or a
    // lagging node could deny a legitimate candidate its quorum.
    return Status::ok();
  }
  bool handled = false;
  if (Status s = step_by_term(m, handled); !s.is_ok() || handled) return s;

  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kVote: handle_vote_request(m); return Status::ok();
    default: break;
  }
  switch (role_) {
    case Role::kLeader: step_leader(m); break;
    case Role::kPreCandidate:
    case Role::kCandidate: step_candidate(m); break;
    case Role::kFollower: step_follower(m); break;
  }
  return Status::ok();
}

Status Raft::step_by_term(const Message& m, bool& handled) {
  if (m.term > term_) {
    const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
    if (vote_request && m.context == 0 && in_leader_lease()) {
      // We heard from a live leader within the election timeout: refuse to be disrupted (thesis 4.2.3).
      handled = true;
      return Status::ok();
    }
    if (m.type == MessageType::kPreVote) return Status::ok();  // a pre-vote never changes our term
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return Status::ok();  // our own future term
    const bool from_leader = m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
                             m.type == MessageType::kInstallSnapshot;
    become_follower(m.term, from_leader ? m.from : kNoNode);
    return Status::ok();
  }
  if (m.term < term_) {
    handled = true;
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
         m.type == MessageType::kInstallSnapshot)) {
      // A stale leader cut off by a partition: tell it our term so it steps down instead of being silently
      // ignored (which, with pre-vote, could leave it and us stuck).
      Message r;
      r.type = MessageType::kAppendResponse;
      r.to = m.from;
      send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      Message r;
      r.type = MessageType::kPreVoteResponse;
      r.to = m.from;
      r.reject = true;
      send(std::move(r));
    }
  }
  return Status::ok();
}

void Raft::handle_vote_request(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  // We may vote if we already voted for this candidate, or have not voted and know no leader in this term; a
  // pre-vote for a future term is judged on the log alone.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) || (pre && m.term > term_);
  const bool grant = can_vote && log_.is_up_to_date(m.log_index, m.log_term);
  Message r;
  r.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  r.to = m.from;
  // A granted pre-vote answers at the term asked about, so the pre-candidate can count it.
  r.term = grant && pre ? m.term : term_;
  r.reject = !grant;
  if (grant && !pre) {
    election_elapsed_ = 0;
    vote_ = m.from;
  }
  send(std::move(r));
}

void Raft::step_candidate(const Message& m) {
  const MessageType expected = role_ == Role::kPreCandidate ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  switch (m.type) {
    case MessageType::kAppend:
      become_follower(m.term, m.from);
      handle_append(m);
      return;
    case MessageType::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return;
    case MessageType::kInstallSnapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return;
    default: break;
  }
  if (m.type != expected) return;
  switch (poll(m.from, !m.reject)) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        campaign(CampaignKind::kElection);
      } else {
        become_leader();
      }
      break;
    case VoteResult::kLost: become_follower(term_, kNoNode); break;
    case VoteResult::kPending: break;
  }
}

void Raft::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_append(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_heartbeat(m);
      break;
    case MessageType::kInstallSnapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_snapshot(m);
      break;
    case MessageType::kTimeoutNow:
      // Campaign at once, skipping pre-vote, with the transfer mark so voters ignore their leader lease.
      if (promotable()) {
        ++campaigns_started_;
        campaign(CampaignKind::kTransfer);
      }
      break;
    default: break;  // stale responses
  }
}

void Raft::step_leader(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;  // not a member of our configuration
  Progress& pr = it->second;
  switch (m.type) {
    case MessageType::kAppendResponse: handle_append_response(m, pr); break;
    case MessageType::kHeartbeatResponse: handle_heartbeat_response(m, pr); break;
    default: break;
  }
}

void Raft::handle_append(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResponse;
  r.to = m.from;
  if (m.log_index < log_.committed()) {
    // Everything up to our commit index already matches the leader's log (Leader Completeness).
    r.log_index = log_.committed();
    send(std::move(r));
    return;
  }
  const bool carries_configuration = std::any_of(m.entries.begin(), m.entries.end(),
                                                 [](const Entry& e) { return e.kind == EntryKind::kConfiguration; });
  std::optional<Index> last_new = log_.maybe_append(m.log_index, m.log_term, m.entries);
  if (last_new) {
    log_.commit_to(std::min(m.commit, *last_new));
    // A new configuration entry, or a truncation that removed or replaced the one in effect.
    if (carries_configuration || log_.term(configuration_index_) != configuration_term_) refresh_configuration();
    r.log_index = *last_new;
  } else {
    // Fast backtracking: point the leader at the last entry that could match (etcd's findConflictByTerm).
    const Index hint = log_.find_conflict_by_term(std::min(m.log_index, log_.last_index()), m.log_term);
    r.reject = true;
    r.log_index = m.log_index;
    r.reject_hint = hint;
    r.reject_hint_term = log_.term(hint).value_or(0);
  }
  send(std::move(r));
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so everything up to it is in our log already.
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message r;
  r.type = MessageType::kHeartbeatResponse;
  r.to = m.from;
  r.context = m.context;
  r.log_index = m.log_index;
  r.reject_hint = log_.last_index();
  r.sent_at = m.sent_at;
  send(std::move(r));
}

void Raft::handle_snapshot(const Message& m) {
  const SnapshotMeta& snap = m.snapshot;
  Message r;
  r.type = MessageType::kAppendResponse;
  r.to = m.from;
  if (snap.last_index <= log_.committed()) {
    // Nothing new: everything it holds is committed here already.
    r.log_index = log_.committed();
  } else if (log_.match_term(snap.last_index, snap.last_term)) {
    // We hold its last entry, so by Log Matching everything before it too: the entries only need committing.
    log_.commit_to(snap.last_index);
    r.log_index = snap.last_index;
  } else {
    // Our log cannot extend it: replace the whole log with the snapshot (Raft thesis 5.1: the follower discards
    // its log when the snapshot holds entries it lacks or contradicts).
    log_.restore(snap);
    snapshot_ = snap;
    restoring_ = snap;
    refresh_configuration();
    r.log_index = snap.last_index;
  }
  send(std::move(r));
}

Result<std::optional<SnapshotMeta>> Raft::snapshot_taken(const SnapshotMeta& meta, Index trailing_entries) {
  const Index index = meta.last_index;
  if (index > log_.applied()) {
    return Status(ErrorCode::kInvalidArgument, "snapshot at " + std::to_string(index) + " is beyond applied " +
                                                   std::to_string(log_.applied()));
  }
  if (index > log_.start().last_index) {
    if (!log_.match_term(index, meta.last_term) || configuration_at(index) != meta.configuration) {
      return Status(ErrorCode::kInvalidArgument,
                    "snapshot metadata at " + std::to_string(index) + " does not match the log's term or configuration");
    }
    if (index > snapshot_.last_index) snapshot_ = meta;
  }
  const Index target = snapshot_.last_index > trailing_entries ? snapshot_.last_index - trailing_entries : 0;
  if (target <= log_.start().last_index) return std::optional<SnapshotMeta>();
  log_.compact_to(target, configuration_at(target));
  return std::optional<SnapshotMeta>(log_.start());
}

void Raft::send(Message m) {
  m.from = config_.id;
  if (m.term == 0) m.term = term_;
  switch (m.type) {
    case MessageType::kVote:
    case MessageType::kVoteResponse:
    case MessageType::kAppendResponse:
    case MessageType::kHeartbeatResponse:
    case MessageType::kInstallSnapshotResponse:
      // These assert durable state (our vote, our log, our term): only after the Ready is persisted.
      messages_after_persist_.push_back(std::move(m));
      break;
    default: messages_.push_back(std::move(m)); break;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Output

bool Raft::has_ready() const {
  if (ready_outstanding_) return false;
  return restoring_ || log_.has_unstable() || hard_state() != persisted_hard_state_ || !messages_.empty() ||
         !messages_after_persist_.empty() || log_.has_next_committed() || !read_states_.empty() ||
         !dropped_reads_.empty() || (needs_broadcast_ && role_ == Role::kLeader);
}

Ready Raft::ready() {
  RAFTKIT_INVARIANT(!ready_outstanding_, "ready() called again before advance()");
  if (needs_broadcast_ && role_ == Role::kLeader) broadcast_append();
  needs_broadcast_ = false;
  Ready rd;
  rd.snapshot = std::move(restoring_);
  restoring_.reset();
  rd.entries = log_.take_unstable();
  if (hard_state() != persisted_hard_state_) {
    rd.hard_state = hard_state();
    persisted_hard_state_ = hard_state();
  }
  rd.messages = std::move(messages_);
  rd.messages_after_persist = std::move(messages_after_persist_);
  messages_.clear();
  messages_after_persist_.clear();
  rd.committed = log_.take_next_committed(config_.max_committed_bytes_per_ready);
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  rd.dropped_reads = std::move(dropped_reads_);
  dropped_reads_.clear();
  rd.role = role_;
  rd.leader = leader_;
  rd.term = term_;
  rd.commit = log_.committed();
  ready_outstanding_ = true;
  return rd;
}

void Raft::advance(const Ready& rd) {
  RAFTKIT_INVARIANT(ready_outstanding_, "advance() without a ready()");
  ready_outstanding_ = false;
  if (!rd.entries.empty()) {
    log_.stable_to(rd.entries.back().index, rd.entries.back().term);
    if (role_ == Role::kLeader) self_persisted();
  }
  if (!rd.committed.empty()) log_.applied_to(rd.committed.back().index);
  log_.check_invariants();
}

}  // namespace raftkit
