// Elects a single-node Raft leader over an installed raftkit, commits one entry through a MemoryLog, and checks it
// came back out of the durable log.
#include <cstdio>

#include "adapters/memory/memory_log.h"
#include "consensus/raft.h"

int main() {
  using namespace raftkit;
  MemoryLog log;
  Configuration c;
  c.voters = {1};
  LogWrite boot;
  boot.entries = {Entry{1, 1, EntryKind::kConfiguration, encode_configuration(c)}};
  boot.hard_state = HardState{1, kNoNode, 0};
  if (!log.write(boot).is_ok()) return 1;

  RaftConfig config;
  config.id = 1;
  BootState state{log.hard_state(), log.snapshot_meta(), log.read(1, 2, 1 << 20).value()};
  auto raft = Raft::create(config, state);
  if (!raft.is_ok()) return 1;
  Raft& node = *raft.value();
  for (int i = 0; i < 30 && node.role() != Role::kLeader; ++i) node.tick();
  Proposal p = node.propose("hello from a consumer");
  if (!p.status.is_ok()) return 1;
  std::string applied;
  while (node.has_ready()) {
    Ready rd = node.ready();
    LogWrite w;
    if (!rd.entries.empty()) w.truncate_after = rd.entries.front().index - 1;
    w.entries = rd.entries;
    w.hard_state = rd.hard_state;
    if (!w.empty() && !log.write(w).is_ok()) return 1;
    for (const Entry& e : rd.committed) {
      if (e.kind == EntryKind::kNormal) applied = e.payload;
    }
    node.advance(rd);
  }
  const bool ok = applied == "hello from a consumer" && log.last_index() == p.index;
  std::printf("consumer: %s (leader term %llu, applied \"%s\" at index %llu)\n", ok ? "OK" : "FAILED",
              static_cast<unsigned long long>(node.term()), applied.c_str(), static_cast<unsigned long long>(p.index));
  return ok ? 0 : 1;
}
