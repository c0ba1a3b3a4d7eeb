// A linearizability checker for histories of operations on keys (registers or appendable strings).
//
// Linearizability is compositional (Herlihy & Wing, locality), so each key's operations are a partition searched on
// its own (tests/lincheck/partition_search.h). The partitions are searched in slices, shared round-robin among
// threads, smallest first, and everything stops at the first partition that fails: a history with one bad key is
// decided as soon as that key is, however hard the others are.
//
// Operations of unknown outcome get an invocation but no completion, so the search may linearize them anywhere
// after they began, including after everything else (which is the same as never taking effect). A time budget and a
// memory bound make the answer kUnknown instead of hanging or exhausting the machine on a pathological history.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/lincheck/history.h"

namespace raftkit::lincheck {

enum class Verdict { kLinearizable, kNotLinearizable, kUnknown };
const char* verdict_name(Verdict v);

struct CheckOptions {
  std::chrono::milliseconds budget{10000};
  unsigned threads = 0;                        // 0: one per hardware thread
  std::size_t memory_limit_bytes = 2ull << 30;  // the memo tables of all partitions together
};

// What the search of one key cost, and what it found. kUnknown when it was stopped unfinished (budget, memory, or
// another partition failed first).
struct PartitionReport {
  std::string key;
  std::size_t operations = 0;
  Verdict verdict = Verdict::kUnknown;
  std::uint64_t steps = 0;
  double seconds = 0;  // time spent searching it (over all its slices)
  std::size_t memo_bytes = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  std::size_t keys = 0;
  std::size_t operations = 0;
  std::string detail;  // kNotLinearizable: the key and an operation no linearization could place; kUnknown: why
  std::vector<PartitionReport> partitions;  // ordered by key
};

CheckResult check(const History& history, const CheckOptions& options);
CheckResult check(const History& history, std::chrono::milliseconds budget = std::chrono::seconds(10));

}  // namespace raftkit::lincheck
