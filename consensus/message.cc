#include "consensus/message.h"

namespace raftkit {

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResponse: return "PreVoteResponse";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResponse: return "VoteResponse";
    case MessageType::kAppend: return "Append";
    case MessageType::kAppendResponse: return "AppendResponse";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResponse: return "HeartbeatResponse";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kInstallSnapshot: return "InstallSnapshot";
    case MessageType::kInstallSnapshotResponse: return "InstallSnapshotResponse";
  }
  return "Unknown";
}

std::string Message::to_string() const {
  std::string s = std::string(message_type_name(type)) + " " + std::to_string(from) + "->" + std::to_string(to) +
                  " term=" + std::to_string(term) + " log=" + std::to_string(log_index) + "/" +
                  std::to_string(log_term) + " commit=" + std::to_string(commit);
  if (!entries.empty()) {
    s += " entries=" + std::to_string(entries.front().index) + ".." + std::to_string(entries.back().index);
  }
  if (reject) s += " reject hint=" + std::to_string(reject_hint) + "/" + std::to_string(reject_hint_term);
  if (context) s += " ctx=" + std::to_string(context);
  return s;
}

}  // namespace raftkit
