// The data model shared by the consensus core and every durable log: entries, hard state, configurations and
// snapshot metadata. adapters/durable_log.h states what an engine must promise about each of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/status.h"

namespace raftkit {

using NodeId = std::uint64_t;
using Index = std::uint64_t;
using Term = std::uint64_t;

// Node ids start at 1; 0 means "nobody" (no vote cast, no known leader).
inline constexpr NodeId kNoNode = 0;

enum class EntryKind : std::uint8_t {
  kNormal = 0,         // a command for the user's state machine
  kConfiguration = 1,  // payload is an encoded Configuration; takes effect when appended (Raft thesis 4.1)
  kNoop = 2,           // appended by a new leader to commit entries of earlier terms (Raft paper 5.4.2, 8)
};

struct Entry {
  Index index = 0;
  Term term = 0;
  EntryKind kind = EntryKind::kNormal;
  std::string payload;  // opaque bytes

  bool operator==(const Entry&) const = default;
};

// Bytes an entry accounts for in size limits: its payload plus a fixed header allowance.
inline std::uint64_t entry_size(const Entry& e) { return e.payload.size() + 24; }

// What Raft requires to survive a crash besides the log (Raft paper, Figure 2: currentTerm and votedFor).
// commit is a hint that may lag (a restarted node re-learns the commit index) but must never go backwards.
struct HardState {
  Term term = 0;
  NodeId voted_for = kNoNode;
  Index commit = 0;

  bool operator==(const HardState&) const = default;
};

// A cluster membership. voters_outgoing is non-empty only in a joint configuration (Raft thesis 4.3), where
// decisions need a majority of voters and, separately, a majority of voters_outgoing. Learners receive the log
// but neither vote nor count towards commitment. Lists are kept sorted and free of duplicates.
struct Configuration {
  std::vector<NodeId> voters;
  std::vector<NodeId> voters_outgoing;
  std::vector<NodeId> learners;
  // Opaque to the core; travels with the configuration through the log and snapshots. The runtime keeps its
  // members' names and addresses here, so a peer restored from a snapshot knows how to reach everyone.
  std::string metadata;

  bool operator==(const Configuration&) const = default;
  // Same members in the same roles (metadata aside).
  bool same_members(const Configuration& o) const {
    return voters == o.voters && voters_outgoing == o.voters_outgoing && learners == o.learners;
  }
  bool is_joint() const { return !voters_outgoing.empty(); }
  bool is_voter(NodeId id) const;    // in either half of a joint configuration
  bool is_member(NodeId id) const;   // voter or learner
  std::vector<NodeId> members() const;  // voters, outgoing voters and learners, sorted, unique
  std::string to_string() const;
  // A configuration the cluster may adopt: at least one voter; learners are not also voters.
  Status validate() const;
};

// Compact binary form used in configuration entries and snapshot metadata.
std::string encode_configuration(const Configuration& c);
Result<Configuration> decode_configuration(const std::string& bytes);

// Describes the state a snapshot captures: every entry up to last_index (whose term is last_term) is folded into
// it, and configuration is the membership in effect at last_index. The log's first index is last_index + 1.
struct SnapshotMeta {
  Index last_index = 0;
  Term last_term = 0;
  Configuration configuration;

  bool operator==(const SnapshotMeta&) const = default;
};

}  // namespace raftkit
