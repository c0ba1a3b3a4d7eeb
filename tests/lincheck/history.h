// Histories of operations on a set of registers (or key-value strings), as clients observed them, for the
// linearizability checker. Times come from one monotonic clock (or line order); only their order matters.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "consensus/status.h"

namespace raftkit::lincheck {

enum class OpKind { kRead, kWrite, kCas, kAppend };

enum class Outcome {
  kOk,       // completed and took effect (for a read: returned `value`)
  kFail,     // completed without effect (for a compare-and-set: the register did not hold `expected`)
  kUnknown,  // timed out, connection lost, or never returned: may take effect at any time after invocation, or never
};

inline constexpr std::uint64_t kNever = std::numeric_limits<std::uint64_t>::max();

struct Operation {
  int client = 0;
  std::string key;
  OpKind kind = OpKind::kRead;
  Outcome outcome = Outcome::kOk;
  std::optional<std::string> value;     // written / appended / compare-and-set new value; read result (nullopt: nil)
  std::optional<std::string> expected;  // compare-and-set: the value required before
  std::uint64_t invoke = 0;
  std::uint64_t complete = kNever;      // kNever for unknown outcomes
};

struct History {
  std::vector<Operation> operations;
  // Every key starts with this value (nullopt: absent, as a Jepsen register starts at nil).
  std::optional<std::string> initial;
};

// Jepsen's log format ("INFO  jepsen.util - 3 :ok :cas [1 4]"), one register, initial value nil.
Result<History> parse_jepsen_log(const std::string& text);
// EDN maps, one event a line ({:process 0, :type :ok, :f :get, :key "7", :value "x"}), initial value "".
Result<History> parse_edn_kv(const std::string& text);
// Picks the format by looking at the first non-empty line.
Result<History> parse_history(const std::string& text);

// JSON lines, one completed operation a line, as the simulator and the Jepsen-style harness write them:
// {"client":1,"key":"k","f":"cas","outcome":"ok","value":"2","expected":"1","invoke":10,"complete":25}
std::string to_json_lines(const History& h);
Result<History> parse_json_lines(const std::string& text);

std::string describe(const Operation& op);

}  // namespace raftkit::lincheck
