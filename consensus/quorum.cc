#include "consensus/quorum.h"

#include <algorithm>
#include <limits>

namespace raftkit {
namespace {

Index majority_index(const std::vector<NodeId>& voters, const std::function<Index(NodeId)>& match) {
  // An empty half of a configuration imposes no constraint.
  if (voters.empty()) return std::numeric_limits<Index>::max();
  std::vector<Index> indices;
  indices.reserve(voters.size());
  for (NodeId id : voters) indices.push_back(match(id));
  std::sort(indices.begin(), indices.end(), std::greater<>());
  return indices[voters.size() / 2];
}

VoteResult majority_vote(const std::vector<NodeId>& voters, const std::function<int(NodeId)>& voted) {
  if (voters.empty()) return VoteResult::kWon;
  std::size_t granted = 0, missing = 0;
  for (NodeId id : voters) {
    int v = voted(id);
    if (v == 1) ++granted;
    if (v < 0) ++missing;
  }
  const std::size_t quorum = voters.size() / 2 + 1;
  if (granted >= quorum) return VoteResult::kWon;
  if (granted + missing >= quorum) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace

Index quorum_committed_index(const Configuration& c, const std::function<Index(NodeId)>& match) {
  Index idx = std::min(majority_index(c.voters, match), majority_index(c.voters_outgoing, match));
  return idx == std::numeric_limits<Index>::max() ? 0 : idx;
}

VoteResult tally_votes(const Configuration& c, const std::function<int(NodeId)>& voted) {
  VoteResult in = majority_vote(c.voters, voted);
  VoteResult out = majority_vote(c.voters_outgoing, voted);
  if (in == VoteResult::kLost || out == VoteResult::kLost) return VoteResult::kLost;
  if (in == VoteResult::kWon && out == VoteResult::kWon) return VoteResult::kWon;
  return VoteResult::kPending;
}

bool quorum_active(const Configuration& c, const std::function<bool(NodeId)>& active) {
  return tally_votes(c, [&](NodeId id) { return active(id) ? 1 : 0; }) == VoteResult::kWon;
}

}  // namespace raftkit
