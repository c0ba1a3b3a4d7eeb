// Messages exchanged between Raft cores. The transport carries them; the core never touches a socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/log_types.h"

namespace raftkit {

enum class MessageType : std::uint8_t {
  kPreVote = 0,            // "would you vote for me at term+1?" — changes no state (Raft thesis 9.6)
  kPreVoteResponse,
  kVote,                   // RequestVote (Raft paper, Figure 2)
  kVoteResponse,
  kAppend,                 // AppendEntries carrying entries
  kAppendResponse,
  kHeartbeat,              // AppendEntries without entries; carries a read-index context
  kHeartbeatResponse,
  kTimeoutNow,             // leadership transfer: "campaign now" (Raft thesis 3.10)
  kInstallSnapshot,        // core: snapshot metadata only. Between runtimes: one chunk of the snapshot's bytes
  kInstallSnapshotResponse,  // between runtimes only: acknowledges chunks; the core never sends or steps one
};

const char* message_type_name(MessageType type);

struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;

  // kAppend: the entry before `entries` (prev log index and term). kVote/kPreVote: the candidate's last entry.
  // kAppendResponse: the accepted last index, or on reject the index that was probed.
  // kHeartbeat: the last index the leader has sent this follower; kHeartbeatResponse echoes it, with the
  // follower's own last index in reject_hint, so the leader notices appends lost on the way.
  Index log_index = 0;
  Term log_term = 0;
  std::vector<Entry> entries;
  Index commit = 0;

  // kAppendResponse with reject: the follower's hint for where the logs may match (fast backtracking): the
  // largest index <= the probed one whose term is <= the probed term, and that term.
  bool reject = false;
  Index reject_hint = 0;
  Term reject_hint_term = 0;

  // kHeartbeat / kHeartbeatResponse: read-index context being confirmed. kVote: nonzero marks a vote forced by
  // leadership transfer, which voters grant even inside a leader lease.
  std::uint64_t context = 0;

  // kHeartbeat: the leader's tick count when sent; echoed in kHeartbeatResponse. A lease read is safe only while a
  // quorum acknowledged heartbeats sent less than an election timeout ago (see ReadMode::kLeaseBased).
  std::uint64_t sent_at = 0;

  // kInstallSnapshot (and the runtime's chunk acknowledgements): which snapshot.
  SnapshotMeta snapshot;
  // Between runtimes only: a chunk of a snapshot's bytes (kInstallSnapshot, at offset log_index of commit bytes).
  std::string data;

  std::string to_string() const;
};

}  // namespace raftkit
