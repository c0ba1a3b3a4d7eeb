// A seeded random workload against a durable log, the model of what each prefix of it leaves behind, and the
// verifier that decides whether a recovered log is one the contract allows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapters/durable_log.h"

namespace raftkit::conformance {

struct WorkOp {
  bool is_compaction = false;
  LogWrite write;     // when !is_compaction
  SnapshotMeta meta;  // when is_compaction
  std::string describe() const;
};

// An entry as the model remembers it: identity and a hash of the payload (payloads up to 1 MiB are not kept).
struct ModelEntry {
  Index index = 0;
  Term term = 0;
  EntryKind kind = EntryKind::kNormal;
  std::uint64_t hash = 0;
  std::size_t size = 0;
  bool operator==(const ModelEntry&) const = default;
};

struct ModelLog {
  SnapshotMeta meta;
  HardState hard_state;
  std::vector<ModelEntry> entries;  // after meta.last_index
};

ModelEntry model_of(const Entry& e);
void apply(ModelLog& log, const WorkOp& op);

// Deterministic from the seed: appends (batches up to 1 MiB), hard-state changes (new terms, votes, commits),
// truncations followed by appends, compactions (including past the last index).
std::vector<WorkOp> generate_workload(std::uint64_t seed, std::size_t count);

// Reads a whole log through the adapter (paged reads).
Result<ModelLog> read_model(const DurableLog& log);

// The contract's allowed recoveries when ops [0, acked) returned OK and op `acked` (if any) may have been in
// flight. Returns "" or "<rule>: <what differs>".
std::string verify_recovery(const ModelLog& recovered, const std::vector<WorkOp>& ops, std::size_t acked,
                            bool in_flight);

// Rule names used in reports.
inline constexpr const char* kRuleRecovers = "the log reopens after a crash";
inline constexpr const char* kRuleHardState = "an acknowledged hard state survives";
inline constexpr const char* kRuleVote = "the vote never changes within a term";
inline constexpr const char* kRuleEntries = "acknowledged entries survive, as written";
inline constexpr const char* kRuleTruncate = "truncate then append recovers as old log or a prefix of the new";
inline constexpr const char* kRuleCompaction = "compaction recovers entirely before or entirely after";

}  // namespace raftkit::conformance
