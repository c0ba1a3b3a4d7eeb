// One partition's linearizability search (the operations on one key), resumable in slices so that a scheduler can
// share threads among partitions and stop them all at the first that fails.
//
// The search is Wing-Gong-Lowe's (as in Knossos and Porcupine): a doubly linked list of call and return events in
// real-time order; at each step an operation whose call precedes the first remaining return may be linearized next
// if the sequential specification allows it; a return reached before its operation was linearized undoes the last
// choice. On top of it:
//   - Memoisation of (set of linearized operations, state): a configuration seen before is known to fail. The set is
//     a bitset hashed incrementally (one random word per operation, XORed in and out), stored in one flat arena with
//     the state, so an entry costs a few words instead of two heap blocks.
//   - States are interned: each distinct register value is stored once and named by a number; the specification
//     compares numbers, and an append's result is computed once per (state, operation).
//   - Real-time pruning of operations that cannot change the state (reads, failed compare-and-sets): if one can be
//     linearized now, it is, without a choice point. Moving such an operation earlier in any valid linearization
//     keeps it valid: every operation that must precede it (returned before it was called) is already linearized,
//     since its call precedes the first remaining return; and the states the others see are unchanged. So if the
//     search fails after it, it fails here too, and backtracking continues past it.
//   - Dead prefixes: a read whose call is in the window but is not linearized yet must see its value later, so the
//     state must be able to become that value using only operations not yet linearized that may precede the read
//     (called no later than it returned). Appends only extend the state, so unless the value starts with the state, one of
//     those must be a write of a prefix of the value (or a compare-and-set). A prefix where some read cannot be
//     satisfied is abandoned at once instead of after every ordering of the appends in flight.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tests/lincheck/history.h"

namespace raftkit::lincheck {

class PartitionSearch {
 public:
  enum class Progress { kRunning, kLinearizable, kNotLinearizable, kOutOfMemory };

  // `ops` must outlive the search. `memo_limit_bytes` bounds the memo table (and so the search's memory).
  PartitionSearch(std::vector<const Operation*> ops, const std::optional<std::string>& initial,
                  std::size_t memo_limit_bytes);

  // Advances the search by at most `max_steps` steps. Once it returns anything but kRunning, it returns that again.
  Progress run(std::uint64_t max_steps);

  std::uint64_t steps() const { return steps_; }
  // The memory the search holds: the memo, the interned states and the memoised appends.
  std::size_t memo_bytes() const;
  std::size_t operations() const { return ops_.size(); }
  // For kNotLinearizable: an operation that no linearization could place (the one at which the deepest attempt
  // stopped).
  std::string detail() const;

 private:
  static constexpr std::uint32_t kNil = 0;  // the interned id of the absent value
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  struct Event {
    bool is_call;
    std::uint32_t op;
    std::size_t prev, next, partner;  // indices into events_; 0 is the head sentinel; kNone ends the list
  };
  struct Frame {
    std::size_t call;
    std::uint32_t state;
    bool forced;  // a state-preserving operation linearized without a choice point
  };
  struct CompiledOp {
    OpKind kind;
    Outcome outcome;
    std::uint32_t value;     // interned value (written, appended, read, or compare-and-set's new value)
    std::uint32_t expected;  // interned compare-and-set expected value
    bool preserves_state;    // in every state where it is allowed: reads and failed compare-and-sets
  };

  std::uint32_t intern(std::string_view value);
  std::uint32_t intern_optional(const std::optional<std::string>& value) { return value ? intern(*value) : kNil; }
  // The sequential specification over interned states: the state after `op`, or nullopt if `op` cannot happen here.
  std::optional<std::uint32_t> step(std::uint32_t state, std::uint32_t op);
  void lift(std::size_t call);
  void unlift(std::size_t call);
  // Records (linearized_, state); false if it was recorded before.
  bool remember(std::uint32_t state);
  void grow_memo();
  void linearize(std::size_t call, std::uint32_t next_state, bool forced);
  // False if the state can no longer become `read`'s value before it returns (see the header).
  bool satisfiable(std::uint32_t read) const;
  bool is_prefix(std::uint32_t prefix, std::uint32_t value) const;
  bool linearized(std::uint32_t op) const { return (linearized_[op / 64] >> (op % 64)) & 1; }
  // Undoes choices up to and including the most recent non-forced one; false when there is none left.
  bool backtrack();

  std::vector<const Operation*> ops_;
  std::vector<CompiledOp> compiled_;
  std::vector<Event> events_;
  std::vector<std::uint32_t> resets_;  // writes and compare-and-sets, by invocation time

  std::deque<std::string> values_;  // interned values; a deque keeps the views below valid as it grows
  std::unordered_map<std::string_view, std::uint32_t> value_ids_;
  std::unordered_map<std::uint64_t, std::uint32_t> appended_;  // (state << 32 | op) -> state after the append
  std::size_t value_bytes_ = 0;  // what the interned values take, roughly

  // The current configuration.
  std::vector<std::uint64_t> linearized_;
  std::uint64_t linearized_hash_ = 0;
  std::vector<std::uint64_t> op_hash_;
  std::uint32_t state_ = kNil;
  std::vector<Frame> stack_;
  std::size_t entry_ = 0;

  // The memo: entries of (words_ bitset words, state) in one arena; an open-addressing table of (hash, entry + 1).
  std::size_t words_ = 0;
  std::vector<std::uint64_t> arena_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> table_;
  std::size_t entries_ = 0;
  std::size_t memo_limit_bytes_;

  Progress progress_ = Progress::kRunning;
  std::uint64_t steps_ = 0;
  std::size_t deepest_ = 0;
  std::uint32_t stuck_op_ = 0;
};

}  // namespace raftkit::lincheck
