// A linearizability checker: the Wing-Gong-Lowe search with memoisation of (linearized set, state), as in Knossos
// and Porcupine, run per key (linearizability is compositional: Herlihy & Wing, locality).
//
// Operations of unknown outcome get an invocation but no completion, so the search may linearize them anywhere
// after they began, including after everything else (which is the same as never taking effect). A time budget makes
// the answer kUnknown instead of hanging on a pathological history.
#pragma once

#include <chrono>
#include <string>

#include "tests/lincheck/history.h"

namespace raftkit::lincheck {

enum class Verdict { kLinearizable, kNotLinearizable, kUnknown };
const char* verdict_name(Verdict v);

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  std::size_t keys = 0;
  std::size_t operations = 0;
  std::string detail;  // for kNotLinearizable: the key and an operation no linearization could place
};

CheckResult check(const History& history, std::chrono::milliseconds budget = std::chrono::seconds(10));

}  // namespace raftkit::lincheck
