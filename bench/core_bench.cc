// The consensus core alone: a 3-node cluster driven in memory, no storage and no network, counting the messages the
// cores step through per second. Goal: at least 1M messages per second on one core.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "consensus/raft.h"

namespace {

using namespace raftkit;

class Cluster {
 public:
  explicit Cluster(int n) {
    Configuration c;
    for (int i = 1; i <= n; ++i) c.voters.push_back(static_cast<NodeId>(i));
    for (NodeId id : c.voters) {
      RaftConfig config;
      config.id = id;
      config.seed = 7;
      BootState boot;
      boot.hard_state = HardState{1, kNoNode, 0};
      boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(c)}};
      nodes_.push_back(Raft::create(config, boot).value());
    }
    while (nodes_[0]->role() != Role::kLeader) {
      nodes_[0]->tick();
      pump();
    }
  }

  Raft& leader() { return *nodes_[0]; }

  // Runs every Ready (treating persistence as instant) and delivers messages until quiet.
  std::size_t pump() {
    std::size_t stepped = 0;
    bool moved = true;
    while (moved) {
      moved = false;
      for (auto& node : nodes_) {
        while (node->has_ready()) {
          Ready rd = node->ready();
          for (auto* list : {&rd.messages, &rd.messages_after_persist}) {
            for (Message& m : *list) inbox_.push_back(std::move(m));
          }
          node->advance(rd);
          moved = true;
        }
      }
      std::vector<Message> batch;
      batch.swap(inbox_);
      for (const Message& m : batch) {
        (void)nodes_[m.to - 1]->step(m);
        ++stepped;
        moved = true;
      }
    }
    return stepped;
  }

 private:
  std::vector<std::unique_ptr<Raft>> nodes_;
  std::vector<Message> inbox_;
};

// Proposals per round = state.range(0): 1 shows per-message overhead, larger batches the pipelined steady state.
void BM_CoreThreeNodes(benchmark::State& state) {
  Cluster cluster(3);
  const std::string payload(128, 'x');
  std::size_t messages = 0;
  std::size_t proposals = 0;
  for (auto _ : state) {
    for (int i = 0; i < state.range(0); ++i) {
      (void)cluster.leader().propose(payload);
      ++proposals;
    }
    messages += cluster.pump();
    cluster.leader().tick();  // heartbeats, so the message mix matches a live cluster
    messages += cluster.pump();
  }
  state.counters["messages_per_second"] = benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
  state.counters["proposals_per_second"] = benchmark::Counter(static_cast<double>(proposals), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CoreThreeNodes)->Arg(1)->Arg(16)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
