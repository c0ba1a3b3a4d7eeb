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
// Runs one operation on the adapter: compact() or write().
inline Status run_op(DurableLog& log, const WorkOp& op) {
  return op.is_compaction ? log.compact(op.meta) : log.write(op.write);
}
void apply(ModelLog& log, const WorkOp& op);

// Deterministic from the seed: appends (batches up to 1 MiB), hard-state changes (new terms, votes, commits),
// truncations followed by appends, compactions (including past the last index).
std::vector<WorkOp> generate_workload(std::uint64_t seed, std::size_t count);

// Aimed at the contract's boundaries rather than at typical use: truncations and compactions at, around and past
// the snapshot point and the last index (compaction onto the current point with a new configuration, onto an entry
// of another term, beyond the end), truncations followed by appends at the same indices (new payloads, same or new
// term), hard-state-only and empty writes (also right after a compaction), and batches from one entry to several
// MiB written at once; from operation count/4, a fixed tour of each of those edges in turn (an 8 MiB batch
// among them). With long_log, from
// about operation count/2 (*long_log_from says where), kLongLogWrites writes append thousands of entries (tens of
// MiB: several segments or engine files). Deterministic from the seed.
// Without big_batches, no write carries more than about 1 MiB (for levels that copy every byte many times).
inline constexpr std::size_t kLongLogWrites = 32;
struct BoundaryShape {
  bool long_log = false;
  bool big_batches = true;
};
std::vector<WorkOp> generate_boundary_workload(std::uint64_t seed, std::size_t count, BoundaryShape shape,
                                              std::size_t* long_log_from = nullptr);

// Last index and term of a model, as DurableLog reports them.
Index model_last_index(const ModelLog& m);
Term model_last_term(const ModelLog& m);

// Reads a whole log through the adapter (paged reads). An error the adapter returned is passed on as it is; a log
// that contradicts itself (first_index not after the snapshot point, a read returning the wrong entries or none,
// term_at disagreeing with read) is kCorruption with a message starting kSelfContradiction: the adapter did not
// report it, the reader found it.
Result<ModelLog> read_model(const DurableLog& log);
inline constexpr const char* kSelfContradiction = "the log contradicts itself: ";

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
inline constexpr const char* kRuleTermVote = "term and vote recover together (both old or both new)";
inline constexpr const char* kRuleHardStateOrder = "within one write, the hard state is durable only with all its entries";
inline constexpr const char* kRuleCompaction = "compaction recovers entirely before or entirely after";

}  // namespace raftkit::conformance
