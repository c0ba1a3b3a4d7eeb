// A stopped peer's data directory, opened by an operator's tool (raftkit-admin): what it holds, whether every
// checksum in it holds, its entries, and the one repair raftkit offers — forcing a new one-member cluster after a
// quorum is lost for good.
//
// A data directory (runtime/peer.h, PeerOptions::data_dir) holds
//   log/         the durable log, on the engine its identity record names (adapters/common/log_directory.h)
//   snapshots/   the snapshot store (adapters/snapshot/snapshot_store.h)
//   member       this peer's member id, written when it first started or joined
//
// CONTRACT
//   * Opening takes the log's lock: a running peer's directory is refused (kLocked), so the tool never races a
//     peer. Opening the log runs the engine's start-up recovery, as the peer itself would on its next start (a torn
//     tail is trimmed and reported in recovery_report(); anything else damaged fails the open with kCorruption;
//     RocksDB may rewrite its own manifest). The snapshot directory is only read: unlike the peer's snapshot store,
//     this leaves temporary files and older snapshots in place, so a damaged newest snapshot can be examined.
//   * Inspection (configuration(), verify(), the log's reads) changes nothing beyond that recovery.
//   * force_new_cluster() is the only writer. It never removes an entry: it appends one configuration entry naming
//     this peer as the only voter (its address kept, every other member dropped) in one durable write that also
//     commits the whole log, as etcd's --force-new-cluster and dragonboat's repair tool do. Started again, the peer
//     elects itself and serves every entry it held; new members join it as into any cluster.
//     What it cannot give back: entries that were committed on the lost members only. Repair the survivor whose log
//     is most up to date by Raft's rule (the highest last term, then the highest last index; show each one first).
//     Entries the survivor held but the old cluster never committed become committed. The lost members must never
//     start again on their old data: wipe them, then join afresh.
//     Refused (kInvalidArgument) while the newest snapshot is one the peer has not finished installing (the peer
//     would finish it at start, discarding the entry appended here): start the peer once, stop it, then repair.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/common/log_directory.h"
#include "adapters/durable_log.h"
#include "adapters/snapshot/snapshot_store.h"

namespace raftkit {

class NodeDirectory {
 public:
  static Result<std::unique_ptr<NodeDirectory>> open(const std::string& data_dir);

  const LogIdentity& identity() const { return identity_; }
  // The member id in the `member` file, else the one the log's identity records (kNoNode if neither does).
  NodeId member_id() const { return member_id_; }
  const DurableLog& log() const { return *log_; }
  // The newest snapshot in snapshots/ (its header checked), if any.
  const std::optional<SnapshotFile>& newest_snapshot() const { return newest_snapshot_; }

  // The configuration in effect: the last configuration entry in the log (Raft applies one when appended), else
  // the newest snapshot's (the log's own compaction point, or a snapshot installed beyond it).
  struct InEffect {
    Configuration configuration;
    Index index = 0;            // where it was found
    bool from_snapshot = false;
  };
  Result<InEffect> configuration() const;

  // Calls `visit` with every entry in [from, to] (clamped to the log) in order, reading a bounded chunk at a time;
  // stops at the first error `visit` returns. kCorruption if the log returns an entry out of its place.
  Status for_each_entry(Index from, Index to, const std::function<Status(const Entry&)>& visit) const;

  // Reads every entry (each checked against its checksum by the engine) and the newest snapshot's whole body.
  struct Verified {
    std::uint64_t entries = 0;
    std::uint64_t snapshot_bytes = 0;  // 0 if there is no snapshot
  };
  Result<Verified> verify() const;

  // See CONTRACT. Returns the index of the configuration entry appended. kInvalidArgument if this peer's address
  // is not in the configuration's address book (nothing to restart it with).
  Result<Index> force_new_cluster();

 private:
  NodeDirectory() = default;
  LogIdentity identity_;
  NodeId member_id_ = kNoNode;
  std::unique_ptr<DurableLog> log_;
  std::optional<SnapshotFile> newest_snapshot_;
};

}  // namespace raftkit
