// Membership changes (Raft thesis chapter 4): single-server changes, joint consensus for everything else, learners
// and their promotion, and a leader that removes itself.
//
// Invariants kept here:
//   - at most one configuration change is in flight: a new one is proposed only once the configuration in effect
//     is committed and not joint (configuration_change_pending());
//   - a leader proposes a change only after committing an entry of its own term, so a change appended by an
//     earlier leader that this one may not know about cannot overlap with its own (the single-server-change bug
//     found by Diego Ongaro in 2015);
//   - a joint configuration is left by the leader that sees it committed, by appending its incoming half.
#include <algorithm>

#include "consensus/assert.h"
#include "consensus/raft.h"

namespace raftkit {
namespace {

void normalize(std::vector<NodeId>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

std::size_t voters_changed(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  std::vector<NodeId> diff;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(diff));
  return diff.size();
}

}  // namespace

Proposal Raft::propose_configuration(Configuration target) {
  Proposal p;
  p.leader_hint = leader_;
  if (role_ != Role::kLeader) {
    p.status = Status(ErrorCode::kNotLeader, "node " + std::to_string(config_.id) + " is not the leader");
    return p;
  }
  normalize(target.voters);
  normalize(target.learners);
  if (!target.voters_outgoing.empty()) {
    p.status = Status(ErrorCode::kInvalidArgument, "give the target configuration; joint ones are the core's to make");
    return p;
  }
  if (Status s = target.validate(); !s.is_ok()) {
    p.status = s;
    return p;
  }
  if (transfer_target_ != kNoNode) {
    p.status = Status(ErrorCode::kDropped, "leadership is being transferred");
    return p;
  }
  if (!committed_in_current_term()) {
    p.status = Status(ErrorCode::kDropped, "the leader has not yet committed an entry of its term; retry shortly");
    return p;
  }
  if (configuration_change_pending()) {
    p.status = Status(ErrorCode::kDropped, "another configuration change is in progress (" + configuration_.to_string() +
                                               " at index " + std::to_string(configuration_index_) + ")");
    return p;
  }
  Configuration entry = target;
  if (voters_changed(configuration_.voters, target.voters) > 1) {
    entry.voters_outgoing = configuration_.voters;
    if (Status s = entry.validate(); !s.is_ok()) {
      p.status = Status(ErrorCode::kInvalidArgument,
                        s.message() + ": in a joint change a voter cannot become a learner; remove it first");
      return p;
    }
  }
  append_configuration(entry);
  p.index = log_.last_index();
  p.term = term_;
  p.leader_hint = config_.id;
  return p;
}

void Raft::append_configuration(const Configuration& c) {
  log_.append({Entry{log_.last_index() + 1, term_, EntryKind::kConfiguration, encode_configuration(c)}});
  refresh_configuration();  // in effect from now on, committed or not (thesis 4.1)
  needs_broadcast_ = true;
}

void Raft::sync_progress_with_configuration() {
  for (NodeId id : configuration_.members()) {
    if (progress_.count(id)) continue;
    progress_.emplace(id, Progress(log_.last_index() + 1, config_.max_inflight_messages, config_.max_inflight_bytes));
  }
  for (auto it = progress_.begin(); it != progress_.end();) {
    // The leader keeps its own progress even when removed: it still counts what it made durable itself.
    if (it->first != config_.id && !configuration_.is_member(it->first)) {
      it = progress_.erase(it);
    } else {
      ++it;
    }
  }
  if (transfer_target_ != kNoNode && !configuration_.is_voter(transfer_target_)) abort_transfer();
}

void Raft::maybe_advance_configuration() {
  if (role_ != Role::kLeader || configuration_index_ > log_.committed() || !committed_in_current_term()) return;
  if (configuration_.is_joint()) {
    // The joint configuration is committed: move on to its incoming half (thesis 4.3).
    Configuration leave = configuration_;
    leave.voters_outgoing.clear();
    append_configuration(leave);
    return;
  }
  if (!configuration_.is_voter(config_.id)) {
    // Removed, and the configuration without us is committed: hand over to an up-to-date voter, then step down.
    for (NodeId id : configuration_.voters) {
      auto it = progress_.find(id);
      if (it != progress_.end() && it->second.match == log_.last_index()) {
        Message t;
        t.type = MessageType::kTimeoutNow;
        t.to = id;
        send(std::move(t));
        break;
      }
    }
    become_follower(term_, kNoNode);
    return;
  }
  if (config_.promote_learners_within == 0) return;
  for (NodeId id : configuration_.learners) {
    auto it = progress_.find(id);
    if (it == progress_.end() || it->second.match == 0 ||
        it->second.match + config_.promote_learners_within < log_.last_index()) {
      continue;
    }
    Configuration next = configuration_;
    next.learners.erase(std::find(next.learners.begin(), next.learners.end(), id));
    next.voters.push_back(id);
    normalize(next.voters);
    append_configuration(next);  // one voter added: a single-server change
    return;
  }
}

}  // namespace raftkit
