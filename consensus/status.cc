#include "consensus/status.h"

namespace raftkit {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kCompacted: return "Compacted";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kCorruption: return "Corruption";
    case ErrorCode::kIo: return "IOError";
    case ErrorCode::kNoSpace: return "NoSpace";
    case ErrorCode::kWrongOwner: return "WrongOwner";
    case ErrorCode::kLocked: return "Locked";
    case ErrorCode::kFailed: return "Failed";
    case ErrorCode::kNotLeader: return "NotLeader";
    case ErrorCode::kDropped: return "Dropped";
  }
  return "Unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  return std::string(error_code_name(code_)) + ": " + message_;
}

}  // namespace raftkit
