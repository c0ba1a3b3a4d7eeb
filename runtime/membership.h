// The runtime's side of membership (internal): member addresses kept in the configuration's metadata, and the
// configurations that joining, leaving, adding, removing and promoting propose. Pure functions, no threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/log_types.h"
#include "transport/transport.h"

namespace raftkit {

// One member as the configuration's metadata records it.
struct MemberRecord {
  PeerAddress address;
  std::string info;      // opaque to raftkit (the key-value server keeps its HTTP address here)
  bool promote = false;  // a learner to promote to voter once it has caught up
  bool operator==(const MemberRecord&) const = default;
};

std::string encode_members(const std::vector<MemberRecord>& members);
Result<std::vector<MemberRecord>> decode_members(const std::string& metadata);

// The address book of a configuration (empty if its metadata holds none).
std::vector<MemberRecord> members_of(const Configuration& c);
const MemberRecord* find_by_name(const std::vector<MemberRecord>& book, const std::string& name);
const MemberRecord* find_by_id(const std::vector<MemberRecord>& book, NodeId id);

// Targets for Raft::propose_configuration; each keeps in its metadata every address the change involves.
// Adds `member` (its id chosen here: one above every id known) as a learner, to be promoted if `promote`.
Configuration with_learner(const Configuration& now, MemberRecord member, NodeId& assigned);
Configuration without_member(const Configuration& now, NodeId id);
Configuration promoted(const Configuration& now, NodeId learner);
// The configuration with exactly these voters and learners (by name; every name must be in the address book).
Result<Configuration> with_members(const Configuration& now, const std::vector<std::string>& voters,
                                   const std::vector<std::string>& learners);

}  // namespace raftkit
