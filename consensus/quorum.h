// Majority arithmetic over a (possibly joint) configuration. In a joint configuration every decision needs a
// majority of the incoming voters and, separately, a majority of the outgoing ones (Raft thesis 4.3).
#pragma once

#include <functional>
#include <vector>

#include "consensus/log_types.h"

namespace raftkit {

enum class VoteResult { kPending, kWon, kLost };

// The largest index that a majority of each voter set has reached; match(id) gives a voter's index.
Index quorum_committed_index(const Configuration& c, const std::function<Index(NodeId)>& match);
// Tallies granted/rejected votes; voted(id) returns 1 granted, 0 rejected, -1 not yet answered.
VoteResult tally_votes(const Configuration& c, const std::function<int(NodeId)>& voted);
// True when the nodes for which active(id) holds form a quorum.
bool quorum_active(const Configuration& c, const std::function<bool(NodeId)>& active);

}  // namespace raftkit
