// Deterministic whole-cluster simulation: N real Raft cores over a simulated network and crash-mode MemoryLogs,
// driven by clients doing get, put and compare-and-set, under faults. One seed decides everything, so any failure
// is replayed exactly by running the same seed again.
#pragma once

#include <cstdint>
#include <string>

#include "tests/lincheck/history.h"

namespace raftkit::sim {

// Deliberate bugs, so a test can prove the simulation and its checks catch what they claim to.
enum class InjectedBug {
  kNone,
  kAcknowledgeBeforePersist,  // followers' acknowledgements and votes leave before the fsync completes
  kReadFromLocalState,        // reads served at once from whichever node the client reached, without ReadIndex
};

struct SimOptions {
  std::uint64_t seed = 1;
  int nodes = 0;                        // 0: 3 or 5, chosen by the seed
  std::uint64_t fault_phase_ms = 6000;  // simulated time with faults
  std::uint64_t liveness_phase_ms = 4000;  // then everything heals; a leader and progress are required
  std::uint64_t liveness_bound_ms = 3000;  // ... within this long after healing
  int clients = 4;
  bool verbose = false;  // print every fault and each client operation
  InjectedBug bug = InjectedBug::kNone;
  // Lease reads (ReadMode::kLeaseBased). Their clock assumption is that every node's ticks run at the same rate:
  // in this mode all nodes tick every 10 ms and the clock-skew and pause faults are left out (a paused leader's
  // clock stops while the others' run, which is exactly what breaks a lease).
  bool lease_reads = false;
  // Snapshots with tiny thresholds (a snapshot every few entries, chosen per seed) and crashes while taking,
  // compacting to and installing them.
  bool snapshots = true;
  // Membership churn: two spare nodes start outside the cluster; during the fault phase learners are added (and
  // promoted once caught up), voters removed (the leader included) and replaced (a joint change).
  bool churn = true;
  // Power loss of a majority right after a write is acknowledged to its client while some node still has entries
  // on their way to disk (during the fault phase, at most five times a run): every node with a write in flight,
  // then the leader, then the others, until a majority of the nodes is down, all at that instant; each restarts
  // 20-200 ms later. Disks stall in this profile (one fsync in three takes 20-80 ms). Aimed at acknowledgements
  // that outrun persistence: with them, the acknowledged entry survives only on a minority.
  bool majority_power_loss = false;
};

struct SimStats {
  std::uint64_t events = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t messages_dropped = 0;
  std::uint64_t messages_duplicated = 0;
  std::uint64_t faults = 0;
  std::uint64_t crashes = 0;
  std::uint64_t majority_power_losses = 0;
  std::uint64_t invariant_checks = 0;
  std::uint64_t ops_ok = 0;
  std::uint64_t ops_failed = 0;
  std::uint64_t ops_unknown = 0;
  std::uint64_t leaders_elected = 0;
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t configuration_changes = 0;  // proposed and accepted by a leader
};

struct SimResult {
  bool ok = true;
  std::string failure;  // first violation, with the seed and the simulated time
  SimStats stats;
  lincheck::History history;
};

SimResult run_simulation(const SimOptions& options);

}  // namespace raftkit::sim
