// Level "errors": I/O failures injected into the adapter's own calls (iotrace.h), at sampled positions of a
// boundary-seeking workload (several-MiB batches included):
//   - ENOSPC on a write call, also in the middle of the operation that makes the most write calls (a batch the
//     engine writes in pieces): the call gives exactly kNoSpace, and the log — as the same handle shows it and as
//     a reopen recovers it — is exactly as before the call;
//   - EIO on a write call and on a sync: never acknowledged, reported as kIo or kFailed, and every later write
//     fails until the log is reopened (after a failed fsync the kernel may have dropped the dirty pages: a retry
//     that "succeeds" acknowledges lost data); the reopened log is one a crash during the call could leave.
#include <cerrno>

#include "conformance/iotrace.h"
#include "conformance/suite_internal.h"
#include "consensus/random.h"

namespace raftkit::conformance {
namespace {

constexpr const char* kLevel = "errors";
constexpr const char* kRuleWorkload = "the workload runs (every valid operation is accepted)";
constexpr const char* kRuleEioNotAcked = "an I/O error (EIO) is never acknowledged and gives kIo or kFailed";
constexpr const char* kRuleEioSticky = "after an I/O error every write fails until the log is reopened";
constexpr const char* kRuleEioRecovers = "after an I/O error, a reopen recovers what a crash during the call could leave";
constexpr const char* kRuleEnospcCode = "a full disk (ENOSPC) gives kNoSpace";
constexpr const char* kRuleEnospcIntact = "a full disk leaves the log exactly as before the call";

enum class Fault { kEnospcWrite, kEioWrite, kEioSync };

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::kEnospcWrite: return "ENOSPC on write";
    case Fault::kEioWrite: return "EIO on write";
    case Fault::kEioSync: return "EIO on sync";
  }
  return "";
}

struct Injection {
  Fault fault;
  long nth;  // 1-based call count from arming
};

// The write and sync calls each operation makes, counted on a dry run (cumulative, from arming).
struct Profile {
  std::vector<iotrace::CallCounts> after;  // after operation k
  std::string error;
};

Profile profile_workload(const AdapterFactory& factory, const std::vector<WorkOp>& ops, const std::string& root) {
  Profile p;
  make_dir(root);
  iotrace::start(root);
  auto opened = factory(root + "/log");
  if (!opened.is_ok()) {
    p.error = "open failed: " + opened.status().to_string();
  } else {
    std::unique_ptr<DurableLog> log = std::move(opened).value();
    iotrace::fail_nth_write(0, 0);  // count, fail nothing
    for (std::size_t k = 0; k < ops.size(); ++k) {
      const Status st = run_op(*log, ops[k]);
      if (!st.is_ok()) {
        p.error = "operation " + std::to_string(k) + " (" + ops[k].describe() + "): " + st.to_string();
        break;
      }
      p.after.push_back(iotrace::armed_calls());
    }
  }
  iotrace::stop();
  remove_dir(root);
  return p;
}

std::vector<Injection> choose_injections(const Profile& p, Random& random) {
  std::vector<Injection> out;
  if (p.after.empty()) return out;
  const long writes = p.after.back().writes, syncs = p.after.back().syncs;
  // The operation with the most write calls, and a call in its middle.
  std::size_t widest = 0;
  long widest_calls = 0;
  for (std::size_t k = 0; k < p.after.size(); ++k) {
    const long before = k == 0 ? 0 : p.after[k - 1].writes;
    if (p.after[k].writes - before > widest_calls) {
      widest_calls = p.after[k].writes - before;
      widest = k;
    }
  }
  if (widest_calls > 0) {
    const long before = widest == 0 ? 0 : p.after[widest - 1].writes;
    out.push_back({Fault::kEnospcWrite, before + 1 + widest_calls / 2});
  }
  if (writes > 0) {
    out.push_back({Fault::kEnospcWrite, 1 + static_cast<long>(random.below(static_cast<std::uint64_t>(writes)))});
    out.push_back({Fault::kEnospcWrite, 1 + static_cast<long>(random.below(static_cast<std::uint64_t>(writes)))});
    out.push_back({Fault::kEioWrite, 1 + static_cast<long>(random.below(static_cast<std::uint64_t>(writes)))});
  }
  if (syncs > 0) {
    out.push_back({Fault::kEioSync, 1 + static_cast<long>(random.below(static_cast<std::uint64_t>(syncs)))});
    out.push_back({Fault::kEioSync, 1 + static_cast<long>(random.below(static_cast<std::uint64_t>(syncs)))});
  }
  return out;
}

// Opens the log again (with nothing injected) and compares it with what the contract allows.
std::string reopen_and_verify(const AdapterFactory& factory, const std::string& dir, const std::vector<WorkOp>& ops,
                              std::size_t failed_at, bool in_flight) {
  auto again = factory(dir);
  if (!again.is_ok()) return "reopen failed: " + again.status().to_string();
  auto model = read_model(*again.value());
  if (!model.is_ok()) return "reading the reopened log failed: " + model.status().to_string();
  return verify_recovery(model.value(), ops, failed_at, in_flight);
}

void run_injection(const AdapterFactory& factory, const std::vector<WorkOp>& ops, const Injection& inj,
                   const std::string& root, std::uint64_t seed, Results& results) {
  make_dir(root);
  iotrace::start(root);
  auto opened = factory(root + "/log");
  if (!opened.is_ok()) {
    iotrace::stop();
    results.check(kLevel, kRuleWorkload, false, "open failed: " + opened.status().to_string());
    return;
  }
  std::unique_ptr<DurableLog> log = std::move(opened).value();
  const int err = inj.fault == Fault::kEnospcWrite ? ENOSPC : EIO;
  if (inj.fault == Fault::kEioSync) {
    iotrace::fail_nth_sync(static_cast<int>(inj.nth), err);
  } else {
    iotrace::fail_nth_write(static_cast<int>(inj.nth), err);
  }
  ModelLog model;
  std::size_t failed_at = ops.size();
  Status failure;
  for (std::size_t k = 0; k < ops.size(); ++k) {
    const int before = iotrace::injected_failures();
    const Status st = run_op(*log, ops[k]);
    if (iotrace::injected_failures() == before) {
      results.check(kLevel, kRuleWorkload, st.is_ok(), st.to_string() + " (seed " + std::to_string(seed) + ", operation " +
                                                          std::to_string(k) + ": " + ops[k].describe() + ")");
      if (!st.is_ok()) break;
      apply(model, ops[k]);
      continue;
    }
    failed_at = k;
    failure = st;
    break;
  }
  iotrace::fail_nth_write(0, 0);
  iotrace::fail_nth_sync(0, 0);
  if (failed_at == ops.size()) {
    log.reset();
    iotrace::stop();
    remove_dir(root);
    return;  // the injection fell outside the workload (an engine's calls vary between runs)
  }
  const std::string context = "seed " + std::to_string(seed) + ", " + fault_name(inj.fault) + " #" +
                              std::to_string(inj.nth) + " during operation " + std::to_string(failed_at) + " (" +
                              ops[failed_at].describe() + "), state kept in " + root;
  bool passed = true;
  auto check = [&](const char* rule, bool ok, const std::string& what) {
    results.check(kLevel, rule, ok, what + "; " + context);
    passed = passed && ok;
  };
  if (inj.fault == Fault::kEnospcWrite) {
    check(kRuleEnospcCode, failure.code() == ErrorCode::kNoSpace, "the call returned " + failure.to_string());
    // The same handle shows the log as before the call, or — if the adapter failed itself — refuses to read.
    std::string now;
    auto seen = read_model(*log);
    if (!seen.is_ok()) {
      const ErrorCode code = seen.status().code();
      if (code != ErrorCode::kIo && code != ErrorCode::kFailed) {
        now = "reading the log after the error gave " + seen.status().to_string();
      }
    } else if (!(seen.value().meta == model.meta) || !(seen.value().hard_state == model.hard_state) ||
               seen.value().entries != model.entries) {
      now = "after the error the log shows " + std::to_string(seen.value().entries.size()) + " entries through " +
            std::to_string(model_last_index(seen.value())) + ", before the call it held " +
            std::to_string(model.entries.size()) + " through " + std::to_string(model_last_index(model)) +
            (seen.value().hard_state == model.hard_state ? "" : " (and its hard state changed)");
    }
    check(kRuleEnospcIntact, now.empty(), now);
    // Space is back: an adapter that did not fail itself takes the call again, and what it acknowledges must
    // then be recovered: nothing of the refused attempt may get in the way (pieces of it left in a file, with the
    // retry written after them, make the next recovery find damage). Then the rest of the workload, and again.
    std::size_t acked = failed_at;
    if (run_op(*log, ops[acked]).is_ok()) ++acked;
    log.reset();
    iotrace::stop();
    std::string verdict = reopen_and_verify(factory, root + "/log", ops, acked, false);
    if (verdict.empty() && acked > failed_at) {
      auto again = factory(root + "/log");
      if (again.is_ok()) {
        while (acked < ops.size() && run_op(*again.value(), ops[acked]).is_ok()) ++acked;
        again.value().reset();
        verdict = reopen_and_verify(factory, root + "/log", ops, acked, false);
      } else {
        verdict = "a second reopen failed: " + again.status().to_string();
      }
    }
    check(kRuleEnospcIntact, verdict.empty(),
          "after a reopen (" + std::to_string(acked - failed_at) + " operations acknowledged after the error): " + verdict);
  } else {
    const bool io = failure.code() == ErrorCode::kIo || failure.code() == ErrorCode::kFailed;
    check(kRuleEioNotAcked, io, "the call returned " + failure.to_string());
    // Keep writing: nothing may succeed any more. A rewrite of the current hard state is valid whatever the
    // failed call left; the workload's next operations may not be.
    std::string sticky;
    LogWrite same_state;
    same_state.hard_state = log->hard_state();
    if (log->write(same_state).is_ok()) sticky = "a hard-state write returned OK without a reopen";
    if (sticky.empty() && log->write(LogWrite{}).is_ok()) sticky = "an empty write returned OK without a reopen";
    if (sticky.empty() && log->last_index() >= log->first_index()) {
      // A compaction to the first entry the log holds: valid whatever the failed call left.
      const Index at = log->first_index();
      Result<Term> term = log->term_at(at);
      if (term.is_ok() && log->compact(SnapshotMeta{at, term.value(), log->snapshot_meta().configuration}).is_ok()) {
        sticky = "a compaction returned OK without a reopen";
      }
    }
    for (std::size_t j = failed_at + 1; j < std::min(ops.size(), failed_at + 4) && sticky.empty(); ++j) {
      if (run_op(*log, ops[j]).is_ok()) sticky = "operation " + std::to_string(j) + " returned OK without a reopen";
    }
    check(kRuleEioSticky, sticky.empty(), sticky);
    log.reset();
    iotrace::stop();
    const std::string verdict = reopen_and_verify(factory, root + "/log", ops, failed_at, true);
    check(kRuleEioRecovers, verdict.empty(), verdict);
  }
  if (passed) remove_dir(root);
}

}  // namespace

void run_error_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    Random random(seed ^ 0xe10);
    const std::vector<WorkOp> ops = generate_boundary_workload(seed, options.operations, {false, true});
    const std::string base = options.work_dir + "/errors-" + std::to_string(seed);
    const Profile profile = profile_workload(factory, ops, base + "-profile");
    if (!profile.error.empty()) {
      results.check(kLevel, kRuleWorkload, false, profile.error + " (seed " + std::to_string(seed) + ")");
      continue;
    }
    const std::vector<Injection> injections = choose_injections(profile, random);
    for (std::size_t i = 0; i < injections.size(); ++i) {
      run_injection(factory, ops, injections[i], base + "-" + std::to_string(i), seed, results);
    }
  }
}

}  // namespace raftkit::conformance
