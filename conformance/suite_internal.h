// Shared by the level implementations of the conformance suite; not part of its public surface.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include <cstdio>

#include "conformance/conformance.h"
#include "consensus/random.h"
#include "conformance/workload.h"

namespace raftkit::conformance {

// Accumulates pass/fail per (level, rule); a rule passes until any check of it fails.
class Results {
 public:
  void check(const std::string& level, const std::string& rule, bool ok, const std::string& failure = "");
  void note(std::string n) { notes_.push_back(std::move(n)); }
  Report finish(const std::string& adapter);

 private:
  std::vector<RuleResult> rules_;
  std::map<std::pair<std::string, std::string>, std::size_t> index_;
  std::vector<std::string> notes_;
};

// Where a verify_recovery() verdict belongs: ordering rules to "ordering", the rest to the level that found it.
void record_verdict(Results& results, const std::string& level, const std::string& verdict,
                    const std::string& context);

std::string make_dir(const std::string& path);  // creates (and fsyncs the parent of) path; returns it
void remove_dir(const std::string& path);

// The levels.
void run_api_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
void run_process_crash_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
void run_power_loss_levels(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
void run_error_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
void run_snapshot_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
// Compares everything the log shows (first and last index, term_at, reads under byte limits, hard state, snapshot
// metadata) with the model, recording each rule's verdict under `level`; `thorough` reads every entry and asks
// every term, otherwise samples. rule_for_entries, if set, files every failure but the hard state's under that
// rule. Returns whether all matched.
bool compare_with_model(const DurableLog& log, const ModelLog& model, Random& random, bool thorough,
                        const std::string& when, Results& results, const char* level,
                        const char* rule_for_entries = nullptr);
void run_model_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results);
// A second process (this executable with kLockProbeFlag) opens dir while this one has it open; "" if it got kLocked.
std::string probe_lock(const SuiteOptions& options, const std::string& dir);
// The probe's side: prints "LOCK <code> ..." (or "LOCK OK") and exits.
[[noreturn]] void run_lock_probe_child(const AdapterFactory& factory, const std::string& dir);
// The snapshot level's workload child: runs the steps, printing each acknowledgement, until killed.
void run_snapshot_child(const AdapterFactory& factory, const std::string& dir, std::uint64_t seed, std::size_t count);

inline constexpr const char* kChildFlag = "--raftkit-conformance-child";
inline constexpr const char* kCheckFlag = "--raftkit-conformance-check";
inline constexpr const char* kLockProbeFlag = "--raftkit-conformance-lock-probe";
inline constexpr const char* kSnapshotChildFlag = "--raftkit-conformance-snapshot-child";

// Starts this executable (options.executable, options.child_args, then `extra`) with its standard output on a pipe
// returned in `out`: fork + exec, never a bare fork of a process whose engine may have started threads. Returns the
// child's pid, or -1 if no pipe could be made.
pid_t spawn_self(const SuiteOptions& options, const std::vector<std::string>& extra, FILE*& out);

// Reads a workload child's acknowledgements ("<count>" lines, then "done"; "E ..." on error) and kills it with SIGKILL
// once kill_after are in, after a random extra moment of up to max_extra_us (so the kill lands inside an operation
// as often as between two). Reaps the child.
struct KilledWorkload {
  std::size_t acked = 0;
  std::string child_error;
};
KilledWorkload kill_during_workload(pid_t child, FILE* in, std::size_t kill_after, Random& random,
                                    std::uint64_t max_extra_us);

// Opens a (damaged) state and checks it in a child process (fork + exec of this executable), so an adapter or
// engine that crashes on bad data is reported instead of taking the suite down. Returns the verdict ("" if the
// state is allowed); sets opened, and crashed with the signal's description if the child died.
std::string check_state_isolated(const SuiteOptions& options, const std::string& dir, std::uint64_t seed,
                                 std::size_t acked, bool in_flight, bool& opened, std::string& crashed);
// The child side: prints "OPENED <0|1>" then the verdict line.
std::string check_state_here(const AdapterFactory& factory, const std::string& dir, const std::vector<WorkOp>& ops,
                             std::size_t acked, bool in_flight, bool& opened);

}  // namespace raftkit::conformance
