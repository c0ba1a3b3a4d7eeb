// The peer runtime's membership: joining and leaving, configuration changes through the leader, promotion of
// caught-up learners, and the address book that the transport follows.
#include <algorithm>

#include "runtime/raft_peer.h"

namespace raftkit::internal {
namespace {

std::string describe(const Configuration& c, const std::vector<MemberRecord>& book) {
  auto names = [&](const std::vector<NodeId>& ids) {
    std::string s;
    for (NodeId id : ids) {
      const MemberRecord* m = find_by_id(book, id);
      s += (s.empty() ? "" : ",") + (m ? m->address.name : "#" + std::to_string(id));
    }
    return "{" + s + "}";
  };
  std::string s = "voters=" + names(c.voters);
  if (c.is_joint()) s += " outgoing=" + names(c.voters_outgoing);
  if (!c.learners.empty()) s += " learners=" + names(c.learners);
  return s;
}

std::vector<PeerAddress> addresses(const std::vector<MemberRecord>& book) {
  std::vector<PeerAddress> out;
  for (const MemberRecord& m : book) out.push_back(m.address);
  return out;
}

bool split_host_port(const std::string& spec, std::string& host, std::uint16_t& port) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) return false;
  host = spec.substr(0, colon);
  const int p = std::atoi(spec.c_str() + colon + 1);
  if (p <= 0 || p > 65535) return false;
  port = static_cast<std::uint16_t>(p);
  return true;
}

}  // namespace

std::string describe_configuration(const Configuration& c) { return describe(c, members_of(c)); }

// ---------------------------------------------------------------------------------------------------------------
// Joining: the new peer's side

Result<JoinReply> RaftPeer::join_cluster() {
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(options_.join, host, port)) {
    return Status(ErrorCode::kInvalidArgument, "join address '" + options_.join + "' is not host:port");
  }
  JoinRequest request{options_.cluster, options_.name, options_.host, options_.port, options_.info, false};
  const auto deadline = std::chrono::steady_clock::now() + options_.join_timeout;
  Status last(ErrorCode::kUnavailable, "no answer");
  while (std::chrono::steady_clock::now() < deadline) {
    Result<JoinReply> r =
        Transport::request_join(host, port, request, std::chrono::milliseconds(20000), options_.peer_tls);
    if (r.is_ok() && r.value().ok) return r;
    if (r.is_ok()) {
      last = Status(ErrorCode::kUnavailable, r.value().error);
      if (!r.value().leader_host.empty()) {  // asked a follower: go to the leader it names
        host = r.value().leader_host;
        port = r.value().leader_port;
        continue;
      }
    } else {
      last = r.status();
      if (r.status().code() == ErrorCode::kInvalidArgument) return r.status();  // refused: another cluster
      // The leader we were sent to may be dead (a follower names the last leader it heard of until it times out):
      // ask the given member again, which by then names the new leader.
      split_host_port(options_.join, host, port);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status(ErrorCode::kUnavailable, "could not join through " + options_.join + ": " + last.message());
}

// ---------------------------------------------------------------------------------------------------------------
// Joining and leaving: the leader's side

JoinReply RaftPeer::answer_join(const JoinRequest& request) {
  auto reply = std::make_shared<std::promise<JoinReply>>();
  auto future = reply->get_future();
  post([this, request, reply] { start_join(request, reply); });
  JoinReply r;
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
    r.error = "the change did not commit in time; retry";
    return r;
  }
  try {
    return future.get();
  } catch (const std::future_error&) {  // the work was dropped: this peer stopped
    r.error = "peer stopped";
    return r;
  }
}

void RaftPeer::start_join(const JoinRequest& request, const std::shared_ptr<std::promise<JoinReply>>& reply) {
  auto answer = [reply](JoinReply r) { reply->set_value(std::move(r)); };
  if (raft_->role() != Role::kLeader) {
    JoinReply r;
    r.error = not_leader_status().message();
    if (auto leader = member_record(raft_->leader())) {
      r.leader_host = leader->address.host;
      r.leader_port = leader->address.port;
    }
    return answer(r);
  }
  const Configuration& now = raft_->configuration();
  const std::vector<MemberRecord> book = members_of(now);
  const MemberRecord* known = find_by_name(book, request.name);
  if (request.leave) {
    if (known == nullptr || !now.is_member(known->address.id)) {
      JoinReply r;
      r.ok = true;  // already gone: leaving twice is fine
      return answer(r);
    }
    const NodeId id = known->address.id;
    return propose_change(without_member(now, id), [answer, id](Result<std::string> done) {
      JoinReply r;
      r.ok = done.is_ok();
      r.error = done.is_ok() ? "" : done.status().to_string();
      r.id = id;
      answer(r);
    });
  }
  if (known != nullptr && now.is_member(known->address.id)) {
    // It asked before (and restarted, or its answer was lost): the same id, nothing new proposed.
    JoinReply r;
    r.ok = true;
    r.id = known->address.id;
    r.members = addresses(book);
    return answer(r);
  }
  NodeId assigned = kNoNode;
  MemberRecord record{PeerAddress{kNoNode, request.name, request.host, request.port}, request.info, true};
  const Configuration target = with_learner(now, record, assigned);
  propose_change(target, [answer, assigned, target](Result<std::string> done) {
    JoinReply r;
    r.ok = done.is_ok();
    r.error = done.is_ok() ? "" : done.status().to_string();
    r.id = assigned;
    r.members = addresses(members_of(target));
    answer(r);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Changes through the API

std::future<Result<std::string>> RaftPeer::membership_request(
    std::function<Result<Configuration>(const Configuration&)> target) {
  if (stopping_) return answer_now(Status(ErrorCode::kUnavailable, "peer stopped"));
  std::future<Result<std::string>> future;
  auto answer = std::make_shared<PendingAnswer>(completion_for(future), &pending_);
  post([this, answer, target = std::move(target)] {
    if (raft_->role() != Role::kLeader) return answer->answer(not_leader_status());
    Result<Configuration> next = target(raft_->configuration());
    if (!next.is_ok()) return answer->answer(next.status());
    propose_change(next.value(), [answer](Result<std::string> done) { answer->answer(std::move(done)); });
  });
  return future;
}

namespace {

// A new member as a learner (promoted once caught up if `promote`); refused if the name is already a member.
Result<Configuration> adding(const Configuration& now, const PeerAddress& peer, const std::string& info, bool promote) {
  const std::vector<MemberRecord> book = members_of(now);
  const MemberRecord* known = find_by_name(book, peer.name);
  if (known && now.is_member(known->address.id)) {
    return Status(ErrorCode::kInvalidArgument, "'" + peer.name + "' is already a member");
  }
  NodeId assigned = kNoNode;
  return with_learner(now, MemberRecord{peer, info, promote}, assigned);
}

}  // namespace

std::future<Result<std::string>> RaftPeer::add_peer(PeerAddress peer, std::string info) {
  return membership_request([peer, info](const Configuration& now) { return adding(now, peer, info, true); });
}

std::future<Result<std::string>> RaftPeer::add_learner(PeerAddress peer, std::string info) {
  return membership_request([peer, info](const Configuration& now) { return adding(now, peer, info, false); });
}

std::future<Result<std::string>> RaftPeer::remove_peer(std::string name) {
  return membership_request([name](const Configuration& now) -> Result<Configuration> {
    const std::vector<MemberRecord> book = members_of(now);
    const MemberRecord* known = find_by_name(book, name);
    if (!known || !now.is_member(known->address.id)) {
      return Status(ErrorCode::kInvalidArgument,
                    "'" + name + "' is not a member (" + describe(now, book) + ")");
    }
    return without_member(now, known->address.id);
  });
}

std::future<Result<std::string>> RaftPeer::change_configuration(std::vector<std::string> voters,
                                                                std::vector<std::string> learners) {
  return membership_request([voters, learners](const Configuration& now) { return with_members(now, voters, learners); });
}

std::future<Result<std::string>> RaftPeer::leave() {
  if (is_leader()) return remove_peer(options_.name);
  // Ask the leader (or, not knowing it, any member: the answer names the leader) from a helper thread.
  std::vector<MemberRecord> candidates;
  {
    std::lock_guard<std::mutex> lock(book_mu_);
    for (const MemberRecord& m : book_) {
      if (m.address.id == leader_.load()) candidates.insert(candidates.begin(), m);
      else if (m.address.id != self_) candidates.push_back(m);
    }
  }
  JoinRequest request{options_.cluster, options_.name, options_.host, options_.port, options_.info, true};
  // The leader stops replicating to a removed peer, so this peer may never see the entry that removes it: the
  // leader's answer is how it learns.
  // A detached thread and a promise, not std::async: an async future blocks whoever drops it until the helper
  // ends, which can take minutes. The helper holds nothing of this peer but shared flags.
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  std::future<Result<std::string>> future = promise->get_future();
  auto ask = [candidates, request, tls = options_.peer_tls, member = member_, left = left_]() -> Result<std::string> {
    Status last(ErrorCode::kUnavailable, "no member to ask");
    for (int round = 0; round < 20; ++round) {
      for (const MemberRecord& m : candidates) {
        std::string host = m.address.host;
        std::uint16_t port = m.address.port;
        for (int hop = 0; hop < 3; ++hop) {
          Result<JoinReply> r = Transport::request_join(host, port, request, std::chrono::milliseconds(20000), tls);
          if (r.is_ok() && r.value().ok) {
            *left = true;
            *member = false;
            return std::string("left");
          }
          if (!r.is_ok()) {
            last = r.status();
            break;
          }
          last = Status(ErrorCode::kUnavailable, r.value().error);
          if (r.value().leader_host.empty()) break;
          host = r.value().leader_host;
          port = r.value().leader_port;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return last;
  };
  std::thread([promise, ask = std::move(ask)] {
    try {
      promise->set_value(ask());
    } catch (const std::exception& e) {
      promise->set_value(Status(ErrorCode::kUnavailable, std::string("leaving failed: ") + e.what()));
    }
  }).detach();
  return future;
}

std::future<Result<std::string>> RaftPeer::transfer_leadership(std::string name) {
  if (stopping_) return answer_now(Status(ErrorCode::kUnavailable, "peer stopped"));
  std::future<Result<std::string>> future;
  auto answer = std::make_shared<PendingAnswer>(completion_for(future), &pending_);
  post([this, answer, name = std::move(name)] {
    if (raft_->role() != Role::kLeader) return answer->answer(not_leader_status());
    Status refusal;
    const NodeId target = transfer_target_for(name, refusal);
    if (target == kNoNode) return answer->answer(refusal);
    if (target == self_) {
      // Staying: a transfer under way is called off, so leadership does not move after "you lead" was answered.
      (void)raft_->transfer_leadership(self_);
      if (transfer_) transfer_->answer->answer(Status(ErrorCode::kDropped, "called off: " + options_.name + " stays"));
      transfer_.reset();
      return answer->answer(options_.name);
    }
    if (Status s = raft_->transfer_leadership(target); !s.is_ok()) return answer->answer(s);
    const std::optional<MemberRecord> record = member_record(target);
    const std::string target_name = record ? record->address.name : std::to_string(target);
    if (transfer_) transfer_->answer->answer(Status(ErrorCode::kDropped, "replaced by a transfer to " + target_name));
    // Past the core's own limit (an election timeout, after which it abandons the transfer), the target may have
    // campaigned and lost, or won where this peer cannot hear it: then the outcome is not known here.
    const auto give_up = timer_now() + 3 * options_.election_ticks * options_.tick;
    transfer_ = PendingTransfer{target, target_name, answer, give_up};
    logger_.info("handing leadership to " + target_name);
    follow_transfer();
  });
  return future;
}

NodeId RaftPeer::transfer_target_for(const std::string& name, Status& refusal) const {
  const Configuration& now = raft_->configuration();
  if (name.empty()) {
    // The voter that needs the fewest entries before it can campaign.
    NodeId best = kNoNode;
    Index best_match = 0;
    for (NodeId id : now.voters) {
      const Progress* pr = raft_->progress(id);
      if (id == self_ || pr == nullptr || (best != kNoNode && pr->match <= best_match)) continue;
      best = id;
      best_match = pr->match;
    }
    if (best == kNoNode) refusal = Status(ErrorCode::kInvalidArgument, "no other voter to hand leadership to");
    return best;
  }
  std::lock_guard<std::mutex> lock(book_mu_);
  const MemberRecord* known = find_by_name(book_, name);
  if (known == nullptr || !now.is_voter(known->address.id)) {
    refusal = Status(ErrorCode::kInvalidArgument, "'" + name + "' is not a voter (" + describe(now, book_) + ")");
    return kNoNode;
  }
  return known->address.id;
}

void RaftPeer::follow_transfer() {
  if (!transfer_) return;
  const NodeId leader = raft_->leader();
  std::optional<Result<std::string>> outcome;
  if (leader == transfer_->target) {
    outcome = transfer_->name;
  } else if (raft_->role() == Role::kLeader) {
    if (raft_->transfer_target() != transfer_->target) {
      // The core gave up, but a "campaign now" it sent on its last tick may still win: wait one more election
      // timeout, and report failure only if this peer still leads then.
      const auto now = timer_now();
      if (!transfer_->abandoned_at) {
        transfer_->abandoned_at = now;
      } else if (now >= *transfer_->abandoned_at + options_.election_ticks * options_.tick) {
        outcome = Status(ErrorCode::kUnavailable, "'" + transfer_->name +
                                                      "' did not take over within an election timeout; " +
                                                      options_.name + " goes on leading");
      }
    }
  } else if (leader != kNoNode) {
    const std::optional<MemberRecord> record = member_record(leader);
    outcome = Status(ErrorCode::kDropped,
                     (record ? "'" + record->address.name + "'" : "another peer") + " was elected instead of '" +
                         transfer_->name + "'");
  } else if (timer_now() >= transfer_->give_up) {
    outcome = Status(ErrorCode::kUnavailable, "no leader known after the transfer to '" + transfer_->name +
                                                  "' (outcome unknown)");
  }
  if (!outcome) return;
  if (outcome->is_ok()) {
    logger_.info("leadership handed to " + transfer_->name);
  } else {
    logger_.warning("leadership not handed over: " + outcome->status().message());
  }
  std::shared_ptr<PendingAnswer> answer = std::move(transfer_->answer);
  transfer_.reset();
  answer->answer(std::move(*outcome));
}

std::vector<MemberInfo> RaftPeer::members() const {
  std::lock_guard<std::mutex> lock(book_mu_);
  std::vector<MemberInfo> out;
  for (NodeId id : configuration_view_.members()) {
    MemberInfo info;
    info.address.id = id;
    if (const MemberRecord* m = find_by_id(book_, id)) {
      info.address = m->address;
      info.info = m->info;
    }
    info.voter = configuration_view_.is_voter(id);
    info.learner = !info.voter;
    out.push_back(std::move(info));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The Raft thread's bookkeeping

void RaftPeer::propose_change(const Configuration& target, ChangeDone done) {
  Proposal p = raft_->propose_configuration(target);
  if (!p.status.is_ok()) {
    done(p.status.code() == ErrorCode::kNotLeader ? not_leader_status() : p.status);
    return;
  }
  pending_changes_.emplace(p.index, std::make_pair(p.term, std::move(done)));
}

void RaftPeer::resolve_change(const Entry& committed) {
  auto it = pending_changes_.find(committed.index);
  if (it == pending_changes_.end()) return;
  ChangeDone done = std::move(it->second.second);
  const bool ours = it->second.first == committed.term;
  pending_changes_.erase(it);
  if (!ours) {
    done(Status(ErrorCode::kDropped, "the change was lost in a leadership change; retry"));
    return;
  }
  Result<Configuration> c = decode_configuration(committed.payload);
  done(c.is_ok() ? describe(c.value(), members_of(c.value())) : std::string("committed"));
}

void RaftPeer::maybe_promote() {
  if (raft_->role() != Role::kLeader || raft_->configuration_change_pending()) return;
  const Configuration& now = raft_->configuration();
  const std::vector<MemberRecord> book = members_of(now);
  for (NodeId id : now.learners) {
    const MemberRecord* m = find_by_id(book, id);
    const Progress* pr = raft_->progress(id);
    if (m == nullptr || !m->promote || pr == nullptr || pr->match == 0 ||
        pr->match + options_.promote_within < raft_->log().last_index()) {
      continue;
    }
    propose_change(promoted(now, id), [](Result<std::string>) {});
    return;
  }
}

void RaftPeer::refresh_membership() {
  const Configuration& now = raft_->configuration();
  if (now == known_configuration_ && committed_configuration_ == known_committed_) return;
  known_configuration_ = now;
  known_committed_ = committed_configuration_;
  std::vector<MemberRecord> book = members_of(now);
  {
    std::lock_guard<std::mutex> lock(book_mu_);
    // Before the log holds a configuration with addresses (a joining peer, or a log bootstrapped by an older
    // version), the addresses given at start stay in use.
    if (book.empty()) book = book_;
    book_ = book;
    configuration_view_ = now;
    note_ids_locked(book_, now);
  }
  *member_ = now.is_member(self_) && !*left_;
  // Connections follow the configuration: members of the one in effect and of the last committed one get one
  // (a peer being removed must hear that its removal committed, and the leader removing itself must hear the
  // acknowledgements that commit it); everyone else — removed peers — none, and their connections are refused.
  // A configuration without members (a joining peer that has heard nothing yet) keeps the addresses it started
  // with.
  std::vector<PeerAddress> peers;
  for (const MemberRecord& m : book) {
    if (now.members().empty() || now.is_member(m.address.id) || committed_configuration_.is_member(m.address.id)) {
      peers.push_back(m.address);
    }
  }
  transport_->set_peers(std::move(peers));
}

void RaftPeer::note_ids_locked(const std::vector<MemberRecord>& book, const Configuration& configuration) {
  for (const MemberRecord& m : book) highest_id_seen_ = std::max(highest_id_seen_, m.address.id);
  for (NodeId id : configuration.members()) highest_id_seen_ = std::max(highest_id_seen_, id);
}

// A peer with no address here may be a member added while this peer was cut off or behind — possibly the leader,
// whose appends are this peer's only way to learn of it; refusing it would leave this peer behind for good. A
// leader gives each new member an id above every id in its configuration (with_learner), so a newcomer's id is
// above every id this peer has seen, while a member removed in a configuration this peer knows has a lower one and
// stays refused. A removed member this peer never heard of is admitted too: Raft's rules keep it from doing more
// than disrupting (as any removed member that still has an address could), and the next configuration change
// this peer learns cuts it off.
bool RaftPeer::admit_unknown_peer(const PeerAddress& peer) {
  std::lock_guard<std::mutex> lock(book_mu_);
  return peer.id > highest_id_seen_;
}

Status RaftPeer::not_leader_status() const {
  std::string msg = "not the leader";
  if (auto l = leader()) msg += "; the leader is " + *l;
  return Status(ErrorCode::kNotLeader, msg);
}

std::optional<MemberRecord> RaftPeer::member_record(NodeId id) const {
  std::lock_guard<std::mutex> lock(book_mu_);
  const MemberRecord* m = find_by_id(book_, id);
  if (m == nullptr) return std::nullopt;
  return *m;
}

}  // namespace raftkit::internal
