// Level "model": a boundary-seeking workload (workload.h) runs against the adapter and against a reference model of
// the contract side by side. After every operation, and again after every reopen, everything the adapter shows is
// compared with the model: first and last index, term_at at every index (the snapshot point included) and just
// outside the log, reads of random ranges under random byte limits, the hard state and the snapshot metadata.
// Between operations the log is closed and reopened at seeded moments, and a second process tries to open the
// directory while the log is open and in use: it must get kLocked.
//
// A mismatch names the operation, the index and both values. Deterministic from the seed.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "conformance/suite_internal.h"
#include "consensus/random.h"

namespace raftkit::conformance {
namespace {

constexpr const char* kLevel = "model";
constexpr const char* kRuleOps = "every valid operation is accepted";
constexpr const char* kRuleShape = "first and last index follow the writes";
constexpr const char* kRuleTerms = "term_at gives each entry's term and the snapshot point's term";
constexpr const char* kRuleReads = "reads return exactly what was written, as many as fit the byte limit";
constexpr const char* kRuleState = "hard state and snapshot metadata read back as written";
constexpr const char* kRuleReopen = "after a clean reopen the log is exactly as before";
constexpr const char* kRuleLong = "a long log (thousands of entries, tens of MiB) reopens whole";
constexpr const char* kRuleLocked = "a second process opening an open log gets kLocked";
constexpr const char* kRuleRefused = "invalid calls are refused (kInvalidArgument, kCompacted, kUnavailable) and change nothing";

std::string hs_text(const HardState& hs) {
  return "{term " + std::to_string(hs.term) + ", vote " + std::to_string(hs.voted_for) + ", commit " +
         std::to_string(hs.commit) + "}";
}

std::string meta_text(const SnapshotMeta& m) {
  std::string voters;
  for (NodeId v : m.configuration.voters) voters += (voters.empty() ? "" : ",") + std::to_string(v);
  std::string learners;
  for (NodeId v : m.configuration.learners) learners += (learners.empty() ? "" : ",") + std::to_string(v);
  return "{" + std::to_string(m.last_index) + "/" + std::to_string(m.last_term) + ", voters " + voters + ", learners " +
         learners + ", metadata \"" + m.configuration.metadata + "\"}";
}

std::string entry_text(const ModelEntry& e) {
  return "{index " + std::to_string(e.index) + ", term " + std::to_string(e.term) + ", kind " +
         std::to_string(static_cast<int>(e.kind)) + ", " + std::to_string(e.size) + " bytes, hash " +
         std::to_string(e.hash) + "}";
}

std::string term_text(const Result<Term>& t) { return t.is_ok() ? "term " + std::to_string(t.value()) : t.status().to_string(); }

// Checks one read(lo, hi, max_bytes) against the model; "" or the difference.
std::string check_read(const DurableLog& log, const ModelLog& m, Index lo, Index hi, std::uint64_t max_bytes,
                       std::size_t* returned = nullptr) {
  const std::string call = "read(" + std::to_string(lo) + ", " + std::to_string(hi) + ", " +
                           (max_bytes == UINT64_MAX ? std::string("unlimited") : std::to_string(max_bytes)) + ")";
  Result<std::vector<Entry>> got = log.read(lo, hi, max_bytes);
  if (!got.is_ok()) return call + " failed: " + got.status().to_string();
  // As many as fit in max_bytes by entry_size(), at least one.
  std::size_t want = 0;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const std::uint64_t size = m.entries[i - m.meta.last_index - 1].size + 24;
    if (want > 0 && (bytes + size > max_bytes || bytes + size < bytes)) break;
    bytes += size;
    ++want;
  }
  const std::vector<Entry>& entries = got.value();
  if (returned != nullptr) *returned = entries.size();
  for (std::size_t k = 0; k < entries.size() && k < want; ++k) {
    const ModelEntry& expected = m.entries[lo + k - m.meta.last_index - 1];
    const ModelEntry actual = model_of(entries[k]);
    if (!(actual == expected)) {
      return call + ": entry " + std::to_string(lo + k) + " read back as " + entry_text(actual) + ", written " +
             entry_text(expected);
    }
  }
  if (entries.size() != want) {
    return call + " returned " + std::to_string(entries.size()) + " entries, the model " + std::to_string(want) +
           " (as many as fit, at least one)";
  }
  return "";
}

// Compares everything observable; records each rule's verdict. `thorough` reads every entry and asks term_at of
// every index; otherwise term_at is sampled on long logs and three random ranges are read.
}  // namespace

bool compare_with_model(const DurableLog& log, const ModelLog& m, Random& random, bool thorough,
                        const std::string& when, Results& results, const char* level, const char* rule_for_entries) {
  const Index snap = m.meta.last_index;
  const Index last = model_last_index(m);
  bool ok = true;
  auto verdict = [&](const char* rule, const std::string& failure) {
    const char* r = rule_for_entries && rule != kRuleState ? rule_for_entries : rule;
    results.check(level, r, failure.empty(), failure + " " + when);
    ok = ok && failure.empty();
  };
  std::string shape;
  if (log.first_index() != snap + 1 || log.last_index() != last) {
    shape = "first/last index " + std::to_string(log.first_index()) + "/" + std::to_string(log.last_index()) +
            ", the model " + std::to_string(snap + 1) + "/" + std::to_string(last);
  }
  verdict(kRuleShape, shape);
  std::string state;
  if (!(log.hard_state() == m.hard_state)) {
    state = "hard state " + hs_text(log.hard_state()) + ", written " + hs_text(m.hard_state);
  } else if (!(log.snapshot_meta() == m.meta)) {
    state = "snapshot metadata " + meta_text(log.snapshot_meta()) + ", written " + meta_text(m.meta);
  }
  verdict(kRuleState, state);
  if (!shape.empty()) return false;

  std::string terms;
  auto check_term = [&](Index i) {
    if (!terms.empty()) return;
    const Result<Term> t = log.term_at(i);
    const Term want = i == snap ? m.meta.last_term : m.entries[i - snap - 1].term;
    if (!t.is_ok() || t.value() != want) {
      terms = "term_at(" + std::to_string(i) + ") gave " + term_text(t) + ", the model term " + std::to_string(want) +
              (i == snap ? " (the snapshot point)" : "");
    }
  };
  const Index span = last - snap;
  if (thorough || span <= 512) {
    for (Index i = snap; i <= last; ++i) check_term(i);
  } else {
    check_term(snap);
    check_term(last);
    for (int k = 0; k < 64; ++k) check_term(snap + random.below(span + 1));
  }
  if (terms.empty()) {
    const Result<Term> past = log.term_at(last + 1);
    if (past.status().code() != ErrorCode::kUnavailable) {
      terms = "term_at(" + std::to_string(last + 1) + ") past the end gave " + term_text(past) + ", not kUnavailable";
    } else if (snap > 0 && log.term_at(snap - 1).status().code() != ErrorCode::kCompacted) {
      terms = "term_at(" + std::to_string(snap - 1) + ") below the snapshot point gave " + term_text(log.term_at(snap - 1)) +
              ", not kCompacted";
    }
  }
  verdict(kRuleTerms, terms);

  std::string reads;
  if (thorough) {
    for (Index next = snap + 1; next <= last && reads.empty();) {
      const std::uint64_t limit = random.chance(300000) ? UINT64_MAX : random.below(8u << 20);
      std::size_t returned = 0;
      reads = check_read(log, m, next, last + 1, limit, &returned);
      next += std::max<std::size_t>(1, returned);
    }
  } else if (span > 0) {
    for (int k = 0; k < 3 && reads.empty(); ++k) {
      const Index lo = snap + 1 + random.below(span);
      const Index hi = lo + 1 + random.below(std::min<Index>(last + 1 - lo, 300));
      const std::uint64_t limits[] = {0, 1 + random.below(4096), random.below(1u << 20), UINT64_MAX};
      reads = check_read(log, m, lo, hi, limits[random.below(4)]);
    }
  }
  if (reads.empty() && span > 0) {
    if (log.read(last + 1, last + 2, 100).status().code() != ErrorCode::kUnavailable) {
      reads = "read past the end did not give kUnavailable";
    } else if (snap > 0 && log.read(snap, last + 1, 100).status().code() != ErrorCode::kCompacted) {
      reads = "read from the snapshot point did not give kCompacted";
    }
  }
  verdict(kRuleReads, reads);
  return ok;
}

namespace {

bool compare(const DurableLog& log, const ModelLog& m, Random& random, bool thorough, const std::string& when,
             Results& results, const char* rule_for_entries = nullptr) {
  return compare_with_model(log, m, random, thorough, when, results, kLevel, rule_for_entries);
}

// Operations at the contract's edges, each followed by a reopen: truncating to the snapshot point or at or past the
// last index, compacting onto the current point or at or past the last index, empty writes, and a hard-state-only
// write right after a compaction.
bool is_boundary(const WorkOp& op, const ModelLog& before, bool after_compaction) {
  const Index snap = before.meta.last_index;
  const Index last = model_last_index(before);
  if (op.is_compaction) return op.meta.last_index == snap || op.meta.last_index >= last;
  const LogWrite& w = op.write;
  if (w.empty()) return true;
  if (w.truncate_after && (*w.truncate_after == snap || *w.truncate_after >= last)) return true;
  return after_compaction && w.hard_state && w.entries.empty() && !w.truncate_after;
}

// An operation the contract says must be refused in the model's present state, or nothing if none applies.
std::optional<std::pair<std::string, WorkOp>> invalid_operation(const ModelLog& m, Random& random) {
  const Index snap = m.meta.last_index;
  const Index last = model_last_index(m);
  const Term term = model_last_term(m);
  std::vector<std::pair<std::string, WorkOp>> choices;
  auto append = [&](const std::string& what, Index at, Term t) {
    WorkOp op;
    op.write.entries = {Entry{at, t, EntryKind::kNormal, "refused"}};
    choices.emplace_back(what, op);
  };
  append("an append leaving a hole", last + 2, std::max<Term>(term, 1));
  append("an append with term 0", last + 1, 0);
  if (last > snap) append("an append overlapping the last entry", last, std::max<Term>(term, 1));
  if (term > 1) append("an append whose term goes backwards", last + 1, term - 1);
  if (snap > 0) {
    WorkOp cut;
    cut.write.truncate_after = snap - 1;
    choices.emplace_back("a truncation below the snapshot point", cut);
    WorkOp back;
    back.is_compaction = true;
    back.meta.last_index = snap - 1;
    back.meta.last_term = std::max<Term>(m.meta.last_term, 1);
    choices.emplace_back("a compaction below the snapshot point", back);
  }
  const HardState& hs = m.hard_state;
  auto state = [&](const std::string& what, HardState h) {
    WorkOp op;
    op.write.hard_state = h;
    choices.emplace_back(what, op);
  };
  if (hs.term > 0) state("a hard state whose term goes backwards", HardState{hs.term - 1, hs.voted_for, hs.commit});
  if (hs.voted_for != kNoNode) state("a second vote in one term", HardState{hs.term, hs.voted_for + 1, hs.commit});
  if (hs.commit > 0) state("a commit index going backwards", HardState{hs.term, hs.voted_for, hs.commit - 1});
  return choices[random.below(choices.size())];
}

}  // namespace

std::string probe_lock(const SuiteOptions& options, const std::string& dir) {
  FILE* out = nullptr;
  const pid_t child = spawn_self(options, {kLockProbeFlag, dir}, out);
  if (child < 0 || out == nullptr) return "could not start a second process";
  // The verdict is the line starting "LOCK "; anything the adapter prints before it is skipped. One deadline for
  // all of it: an open that blocks instead of failing is a failure too.
  std::string line, pending;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool ended = false;
  while (line.empty() && !ended) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fileno(out), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fileno(out), buf, sizeof buf);
    if (n <= 0) {
      ended = true;
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; line.empty() && (nl = pending.find('\n')) != std::string::npos;) {
      std::string l = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (l.rfind("LOCK ", 0) == 0) line = l;
    }
  }
  ::kill(child, SIGKILL);  // done with it either way (a child that opened the log must not keep it)
  std::fclose(out);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (line.empty()) {
    return ended ? "the second process ended without a verdict (it crashed, or could not be started)"
                 : "the second process's open neither returned nor failed within 20 s (it must fail at once)";
  }
  if (line.rfind(std::string("LOCK ") + error_code_name(ErrorCode::kLocked) + " ", 0) == 0) return "";
  if (line.find(kNoErrorCode) != std::string::npos) return "";  // refused; the adapter cannot say with what code
  if (line.rfind("LOCK OK", 0) == 0) return "a second process opened the log while this one had it open";
  return "a second process's open gave " + line.substr(5) + ", not kLocked";
}

[[noreturn]] void run_lock_probe_child(const AdapterFactory& factory, const std::string& dir) {
  auto opened = factory(dir);
  if (opened.is_ok()) {
    std::printf("LOCK OK\n");
  } else {
    std::printf("LOCK %s %s\n", error_code_name(opened.status().code()), opened.status().to_string().c_str());
  }
  std::fflush(stdout);
  std::_Exit(0);
}

void run_model_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    // The first seed builds the long log; --deep gives every seed one.
    const bool long_log = s == 0 || options.deep;
    std::size_t long_from = SIZE_MAX;
    const std::vector<WorkOp> ops = generate_boundary_workload(seed, options.operations * 4, {long_log, true}, &long_from);
    const std::string dir = options.work_dir + "/model-" + std::to_string(seed);
    Random random(seed ^ 0x30de1);
    auto opened = factory(dir);
    if (!opened.is_ok()) {
      results.check(kLevel, kRuleOps, false, "open " + dir + " failed: " + opened.status().to_string());
      continue;
    }
    std::unique_ptr<DurableLog> log = std::move(opened).value();
    ModelLog model;
    bool failed = false;
    int probes = 0;
    auto reopen = [&](const std::string& when, const char* rule) {
      log.reset();
      auto again = factory(dir);
      if (!again.is_ok()) {
        results.check(kLevel, rule, false, "reopen failed: " + again.status().to_string() + " " + when);
        return false;
      }
      log = std::move(again).value();
      return compare(*log, model, random, true, when, results, rule);
    };
    for (std::size_t k = 0; k < ops.size() && !failed; ++k) {
      const std::string when = "(seed " + std::to_string(seed) + ", after operation " + std::to_string(k) + ": " +
                               ops[k].describe() + "; directory " + dir + ")";
      // Read the entries a truncation is about to replace, so that a read cache holds them, and again after.
      const Index cut = !ops[k].is_compaction && ops[k].write.truncate_after ? *ops[k].write.truncate_after : UINT64_MAX;
      auto focus_read = [&](const char* moment) {
        const Index last = model_last_index(model);
        if (cut == UINT64_MAX || cut >= last) return true;
        const std::string failure = check_read(*log, model, cut + 1, std::min(last, cut + 8) + 1, UINT64_MAX);
        results.check(kLevel, kRuleReads, failure.empty(), failure + " [" + moment + " the truncation] " + when);
        return failure.empty();
      };
      if (!focus_read("before")) {
        failed = true;
        break;
      }
      if (random.chance(150000)) {
        // A call the contract refuses: the right code, and the log as it was.
        const auto bad = invalid_operation(model, random);
        const Status refused = run_op(*log, bad->second);
        const ErrorCode c = refused.code();
        const bool right = c == ErrorCode::kInvalidArgument || c == ErrorCode::kCompacted || c == ErrorCode::kUnavailable;
        const std::string bad_when = "(seed " + std::to_string(seed) + ", " + bad->first + " (" + bad->second.describe() +
                                     ") before operation " + std::to_string(k) + "; directory " + dir + ")";
        results.check(kLevel, kRuleRefused, right, "it gave " + refused.to_string() + " " + bad_when);
        if (!right || !compare(*log, model, random, false, bad_when, results, kRuleRefused)) {
          failed = true;
          break;
        }
      }
      const bool boundary = is_boundary(ops[k], model, k > 0 && ops[k - 1].is_compaction);
      const Status st = run_op(*log, ops[k]);
      results.check(kLevel, kRuleOps, st.is_ok(), st.to_string() + " " + when);
      if (!st.is_ok()) {
        failed = true;
        break;
      }
      apply(model, ops[k]);
      const bool in_long_stretch = long_from != SIZE_MAX && k >= long_from && k < long_from + kLongLogWrites;
      if (in_long_stretch && k + 1 == long_from + kLongLogWrites) {
        failed = !reopen("(seed " + std::to_string(seed) + ", reopened after the long log of " +
                             std::to_string(model_last_index(model) - model.meta.last_index) + " entries; directory " +
                             dir + ")",
                         kRuleLong);
        continue;
      }
      if (in_long_stretch) continue;  // compared as a whole after the stretch
      failed = !compare(*log, model, random, false, when, results) || !focus_read("after");
      if (failed) break;
      if (boundary || random.chance(150000)) failed = !reopen("(seed " + std::to_string(seed) + ", reopened after operation " +
                                                      std::to_string(k) + ": " + ops[k].describe() + "; directory " +
                                                      dir + ")",
                                                  kRuleReopen);
      // Twice per workload, with the log open and in use: another process must be refused.
      if (!failed && probes < 2 && k >= 3 + static_cast<std::size_t>(probes) * ops.size() / 2) {
        ++probes;
        const std::string verdict = probe_lock(options, dir);
        results.check(kLevel, kRuleLocked, verdict.empty(), verdict + " " + when);
        failed = !compare(*log, model, random, false, when + " [after the second process's attempt]", results);
      }
    }
    if (!failed) {
      failed = !reopen("(seed " + std::to_string(seed) + ", reopened at the end; directory " + dir + ")", kRuleReopen);
    }
    log.reset();
    if (!failed) remove_dir(dir);
  }
}

}  // namespace raftkit::conformance
