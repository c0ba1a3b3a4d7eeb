// The adapter conformance suite: proves that a durable log (adapters/durable_log.h) keeps its contract through
// process crashes, power loss, corruption and I/O errors. Adapter authors point it at their own adapter:
//
//   #include "conformance/conformance.h"
//   RAFTKIT_CONFORMANCE_MAIN("mylog", [](const std::string& dir) -> raftkit::Result<std::unique_ptr<raftkit::DurableLog>> {
//     return MyLog::open(dir);   // open or create the log in dir
//   })
//
// (a third argument, raftkit::conformance::NonDurableFiles{"mylog.lock"}, declares files that hold no durable state)
//
// and link raftkit::conformance (which brings libraftkit_iotrace.so, the file-operation recorder, loaded before
// libc). Or build the adapter as a shared library with the C entry point in conformance/adapter_entry.h and run
// `raftkit-conformance --adapter libmylog.so`. docs/conformance.md is the guide.
//
// Levels, each reporting pass or fail per rule:
//   api            the whole written contract, error cases included;
//   model          a boundary-seeking workload checked against a reference model after every operation and every
//                  reopen (indices, every term, reads under byte limits, hard state, snapshot metadata), a long log
//                  of thousands of entries reopened whole, and kLocked for a second process while the log is in use;
//   process-crash  a child process (fork + exec of this binary) runs a seeded workload and is killed with SIGKILL
//                  at a random moment; the log is reopened and checked against what was acknowledged;
//   power-loss     every file operation is recorded; crash states are rebuilt at every acknowledgement and inside
//                  operations under three persistence models (pessimistic, torn sectors, reordered writes) and
//                  opened; a self-check first proves the recorder saw every write ("I/O path not covered" if not);
//   ordering       hard state, votes, truncate-then-append and compaction recover only as the contract allows;
//   corruption     bit flips, zeroed sectors and dropped writes in synced data are reported, never silently
//                  trimmed (a torn tail of the last write may be);
//   errors         a failed fsync (EIO) is never acknowledged and stops the adapter; ENOSPC gives an error and
//                  corrupts nothing;
//   snapshots      the log with the snapshot store beside it (adapters/snapshot/snapshot_store.h), as the runtime
//                  uses them: snapshots taken and the log compacted behind them, snapshots installed past the
//                  log's end, under process crashes and power loss; after every crash the newest snapshot is
//                  whole, the log never compacted past it, and snapshot plus log hold every acknowledged entry.
// Every failure names the rule, the seed and the crash point, and leaves the crash state on disk.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "adapters/durable_log.h"

namespace raftkit::conformance {

using AdapterFactory = std::function<Result<std::unique_ptr<DurableLog>>(const std::string& dir)>;

struct SuiteOptions {
  std::string adapter_name = "adapter";
  std::uint64_t seed = 1;          // first seed; each level runs `seeds` workloads from here. The same seed gives the
                                   // same workloads, crash states and verdicts (the process-crash level's kill
                                   // moments aside: they fall where the child happens to be)
  int seeds = 2;
  std::size_t operations = 24;     // operations per workload
  int crash_points_inside_ops = 12;  // power loss: random trace positions besides every acknowledgement
  bool deep = false;               // 20 seeds, 60 operations, 40 inner crash points
  std::string work_dir;            // default: $TMPDIR/raftkit-conformance-<name>-<pid>
  std::vector<std::string> levels = {"api", "model", "process-crash", "power-loss", "ordering", "corruption", "errors", "snapshots"};
  // File names the adapter declares as not holding durable state (rebuilt on open): left out of the power-loss
  // self-check and of damage. "*-suffix" matches by suffix. Besides these, the suite knows the scratch files of
  // the engines raftkit ships, by their engines' own naming: LMDB's lock.mdb and SQLite's WAL index "*-shm". The
  // report lists every one it left out.
  std::vector<std::string> non_durable_files;
  // How the process-crash level re-creates this adapter in a child: this executable plus these arguments.
  std::string executable = "/proc/self/exe";
  std::vector<std::string> child_args;
  bool verbose = false;
};

struct RuleResult {
  std::string level;
  std::string rule;
  bool passed = true;
  std::uint64_t checks = 0;
  std::string failure;  // the first failure: what, seed, crash point, saved state
};

struct Report {
  std::string adapter;
  std::uint64_t seed = 0;
  bool deep = false;
  std::vector<RuleResult> rules;
  std::vector<std::string> notes;
  bool passed() const;
  std::string to_string() const;
};

Report run_suite(const AdapterFactory& factory, const SuiteOptions& options);

// The child side of the process-crash level. If argv asks for it, runs the workload and never returns.
void run_child_if_requested(int argc, char** argv, const AdapterFactory& factory);

// A complete main(): parses --seed (a number, or "random"), --seeds, --deep, --levels, --work-dir, --non-durable, --verbose; prints the
// report; exit status 0 only if every rule passed.
int main_for(int argc, char** argv, const std::string& adapter_name, const AdapterFactory& factory,
             SuiteOptions defaults = {});

// The scratch files an adapter declares (SuiteOptions::non_durable_files), for RAFTKIT_CONFORMANCE_MAIN.
struct NonDurableFiles {
  std::vector<std::string> names;
  NonDurableFiles(std::initializer_list<std::string> list) : names(list) {}
};
inline int main_for_adapter(int argc, char** argv, const std::string& adapter_name, const AdapterFactory& factory,
                            const NonDurableFiles& scratch = {}) {
  SuiteOptions options;
  options.non_durable_files = scratch.names;
  return main_for(argc, argv, adapter_name, factory, options);
}

// Marks the message of a failed open whose adapter gave no error code (a C entry point whose message does not
// start with the code's name): the suite then accepts any refusal where it would ask for a particular code.
inline constexpr const char* kNoErrorCode = "[no error code] ";

// True if the file name is one the suite leaves out: declared in options, or a shipped engine's scratch file.
bool is_non_durable(const std::string& file_name, const SuiteOptions& options);

}  // namespace raftkit::conformance

// RAFTKIT_CONFORMANCE_MAIN(NAME, FACTORY) or RAFTKIT_CONFORMANCE_MAIN(NAME, FACTORY, NonDurableFiles{"a", "*-b"}).
#define RAFTKIT_CONFORMANCE_MAIN(NAME, ...) \
  int main(int argc, char** argv) { return ::raftkit::conformance::main_for_adapter(argc, argv, NAME, __VA_ARGS__); }
