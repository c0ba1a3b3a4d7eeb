// A small Raft message for transport tests: a heartbeat whose context tells messages apart.
#pragma once

#include <cstdint>

#include "consensus/message.h"

namespace raftkit::testing {

inline Message heartbeat(NodeId from, NodeId to, std::uint64_t context) {
  Message m;
  m.type = MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = 3;
  m.context = context;
  return m;
}

}  // namespace raftkit::testing
