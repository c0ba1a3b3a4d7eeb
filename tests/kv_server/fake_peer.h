// A Peer without a cluster, for testing and fuzzing the key-value HTTP API alone: commands are applied to a real
// KvMachine at once, on the caller's thread. It can play a leader, a follower that knows its leader, a follower
// that knows none, or a stopped peer.
#pragma once

#include <future>
#include <mutex>
#include <utility>
#include <vector>

#include "examples/kv/kv_machine.h"
#include "runtime/peer.h"

namespace raftkit::testing {

class FakePeer final : public Peer {
 public:
  enum class Role { kLeader, kFollower, kNoLeader, kStopped };
  Role role = Role::kLeader;
  std::vector<MemberInfo> member_list = {
      MemberInfo{PeerAddress{1, "p1", "127.0.0.1", 7001}, "127.0.0.1:8001", true, false},
      MemberInfo{PeerAddress{2, "p2", "127.0.0.1", 7002}, "127.0.0.1:8002", true, false}};

  using Peer::read;
  using Peer::read_local;
  using Peer::write;
  void write(std::string command, Completion done) override { done(apply(command)); }
  void write(std::string command, std::uint64_t, std::uint64_t, Completion done) override { done(apply(command)); }
  void read(std::string query, Completion done) override {
    if (Result<std::string> refused = refusal(); !refused.is_ok()) return done(refused);
    std::lock_guard<std::mutex> lock(mu_);
    done(machine_.handle_read(query));
  }
  void read_local(std::string query, Completion done) override {
    if (role == Role::kStopped) return done(Status(ErrorCode::kUnavailable, "peer stopped: disk failed"));
    std::lock_guard<std::mutex> lock(mu_);
    if (hold_local_reads) {
      held_.emplace_back(std::move(query), std::move(done));
      return;
    }
    done(machine_.handle_read(query));
  }
  // While set, local reads wait (as behind a busy apply thread) until release_local_reads().
  bool hold_local_reads = false;
  void release_local_reads() {
    std::vector<std::pair<std::string, Completion>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_local_reads = false;
      held.swap(held_);
    }
    for (auto& [query, done] : held) read_local(std::move(query), std::move(done));
  }
  std::optional<std::string> leader() const override {
    if (role == Role::kLeader) return "p1";
    if (role == Role::kFollower) return "p2";
    return std::nullopt;
  }
  std::future<Result<std::string>> add_peer(PeerAddress, std::string) override { return change(); }
  std::future<Result<std::string>> add_learner(PeerAddress, std::string) override { return change(); }
  std::future<Result<std::string>> remove_peer(std::string) override { return change(); }
  std::future<Result<std::string>> change_configuration(std::vector<std::string>, std::vector<std::string>) override {
    return change();
  }
  std::future<Result<std::string>> leave() override { return change(); }
  std::future<Result<std::string>> transfer_leadership(std::string name) override {
    std::promise<Result<std::string>> p;
    Result<std::string> refused = refusal();
    if (!refused.is_ok()) {
      p.set_value(refused);
    } else if (!name.empty() && name != "p1" && name != "p2") {
      p.set_value(Status(ErrorCode::kInvalidArgument, "'" + name + "' is not a voter"));
    } else {
      p.set_value(name.empty() ? std::string("p2") : name);
    }
    return p.get_future();
  }
  std::vector<MemberInfo> members() const override { return member_list; }
  bool is_leader() const override { return role == Role::kLeader; }
  PeerStatus status() const override {
    PeerStatus s;
    s.stopped = role == Role::kStopped;
    if (s.stopped) s.stop_reason = "disk failed";
    return s;
  }
  PeerMetrics metrics() const override {
    PeerMetrics m;
    m.leader = role == Role::kLeader;
    return m;
  }
  void stop() override { role = Role::kStopped; }

  // The store emptied, as a new cluster's would be.
  void forget() {
    std::lock_guard<std::mutex> lock(mu_);
    machine_ = examples::kv::KvMachine();
  }

 private:
  Result<std::string> refusal() const {
    if (role == Role::kStopped) return Status(ErrorCode::kUnavailable, "peer stopped: disk failed");
    if (role != Role::kLeader) return Status(ErrorCode::kNotLeader, "not the leader");
    return std::string();
  }
  Result<std::string> apply(const std::string& command) {
    if (Result<std::string> refused = refusal(); !refused.is_ok()) return refused;
    std::lock_guard<std::mutex> lock(mu_);
    return machine_.handle_write(command);
  }
  std::future<Result<std::string>> change() {
    std::promise<Result<std::string>> p;
    Result<std::string> refused = refusal();
    p.set_value(refused.is_ok() ? Result<std::string>(std::string("changed")) : refused);
    return p.get_future();
  }
  std::mutex mu_;
  examples::kv::KvMachine machine_;
  std::vector<std::pair<std::string, Completion>> held_;
};

}  // namespace raftkit::testing
