// Errors as values. Every fallible call in raftkit returns a Status or a Result<T>; nothing aborts on bad input.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace raftkit {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller broke a precondition: non-contiguous append, term going backwards, bad range
  kCompacted,        // the requested index lies at or below the snapshot point and is gone from the log
  kUnavailable,      // the requested index lies beyond the last index
  kCorruption,       // stored data failed a checksum, has a hole, or contradicts itself; never trimmed silently
  kIo,               // the operating system or engine failed a read, write or sync; the adapter is now failed
  kNoSpace,          // the disk or map is full; nothing was changed
  kWrongOwner,       // the directory belongs to another engine, node or cluster
  kLocked,           // another process holds the log open
  kFailed,           // an earlier I/O error stopped this adapter; it must be reopened
  kNotLeader,        // consensus: this peer is not the leader
  kDropped,          // consensus: a proposal was not accepted (leadership transfer in progress, ...)
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corruption: entry 17 failed its checksum" — for logs and test failures.
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : value_(std::move(status)) { assert(!std::get<Status>(value_).is_ok()); }  // NOLINT

  bool is_ok() const { return std::holds_alternative<T>(value_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(value_);
  }
  T& value() & { assert(is_ok()); return std::get<T>(value_); }
  const T& value() const& { assert(is_ok()); return std::get<T>(value_); }
  T&& value() && { assert(is_ok()); return std::get<T>(std::move(value_)); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace raftkit
