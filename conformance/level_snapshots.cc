// Level "snapshots": a durable log together with the snapshot store beside it, as the runtime uses them, under
// process crashes and power loss. The workload appends entries, takes snapshots (snapshot committed, then the log
// compacted behind it, keeping a few trailing entries) and installs snapshots "from a leader" past the log's end
// (received, verified, installed, then the log compacted to it). After every crash the pair must be usable:
//
//   - the store and the log reopen; the newest snapshot is whole and holds what was written; an acknowledged
//     snapshot is never lost;
//   - the log is never compacted past the newest durable snapshot;
//   - an install interrupted between the snapshot and the log's compaction is finished by compacting to it;
//   - snapshot plus log hold every acknowledged entry, with no gap between them.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <set>

#include "adapters/snapshot/snapshot_store.h"
#include "conformance/disk_model.h"
#include "conformance/iotrace.h"
#include "conformance/suite_internal.h"
#include "consensus/random.h"

namespace raftkit::conformance {
namespace {

constexpr const char* kLevel = "snapshots";
constexpr const char* kRuleReopen = "the log and the snapshot store reopen after a crash";
constexpr const char* kRuleSnapshot = "the newest snapshot is whole, and an acknowledged snapshot survives";
constexpr const char* kRuleNotPast = "the log is never compacted past the newest durable snapshot";
constexpr const char* kRuleFinish = "an interrupted install is finished by compacting the log to the snapshot";
constexpr const char* kRuleCovered = "snapshot plus log hold every acknowledged entry, with no gap";

struct Step {
  enum class Kind { kAppend, kSnapshot, kInstall } kind = Kind::kAppend;
  LogWrite write;                      // kAppend
  SnapshotMeta snapshot;               // kSnapshot, kInstall
  std::optional<SnapshotMeta> compact;  // the log's new compaction point, if it moves
  std::string describe() const {
    switch (kind) {
      case Kind::kAppend: return "append " + std::to_string(write.entries.size()) + " entries";
      case Kind::kSnapshot: return "snapshot at " + std::to_string(snapshot.last_index);
      case Kind::kInstall: return "install snapshot " + std::to_string(snapshot.last_index);
    }
    return "?";
  }
};

const Configuration kConfig{{1, 2, 3}, {}, {}};

// The state machine's bytes at a snapshot: a function of its metadata, large enough to span many pages.
std::string snapshot_body(const SnapshotMeta& m) {
  std::string body(2000 + (m.last_index * 7919) % 60000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 31 + m.last_index * 7 + m.last_term) & 0xff);
  return body;
}

std::vector<Step> generate(std::uint64_t seed, std::size_t count) {
  Random random(seed ^ 0x5a995);
  std::vector<Step> steps;
  std::map<Index, Term> terms{{0, 0}};
  Index last = 0, start = 0, snapshot = 0;
  Term term = 1;
  while (steps.size() < count) {
    Step s;
    const std::uint64_t r = random.below(100);
    if (last == 0 || r < 60) {
      if (random.chance(150000)) ++term;
      const std::size_t n = 1 + random.below(4);
      for (std::size_t i = 0; i < n; ++i) {
        const Index index = ++last;
        std::string payload = "s" + std::to_string(seed) + "-e" + std::to_string(index) + "-";
        payload.append(random.below(400), static_cast<char>('a' + index % 26));
        s.write.entries.push_back(Entry{index, term, EntryKind::kNormal, payload});
        terms[index] = term;
      }
      s.write.hard_state = HardState{term, kNoNode, last};
    } else if (r < 85 && last > snapshot) {
      s.kind = Step::Kind::kSnapshot;
      snapshot = snapshot + 1 + random.below(last - snapshot);
      s.snapshot = SnapshotMeta{snapshot, terms[snapshot], kConfig};
      const Index trailing = random.below(4);
      const Index point = snapshot > trailing ? snapshot - trailing : 0;
      if (point > start) {
        start = point;
        s.compact = SnapshotMeta{point, terms[point], kConfig};
      }
    } else {
      s.kind = Step::Kind::kInstall;
      ++term;
      last = snapshot = start = last + 1 + random.below(10);
      terms[last] = term;
      s.snapshot = SnapshotMeta{last, term, kConfig};
      s.compact = s.snapshot;
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

// Runs one step; the snapshot "sent by the leader" is built in scratch, outside the traced directory.
Status run_step(DurableLog& log, SnapshotStore& store, const Step& step, const std::string& scratch) {
  switch (step.kind) {
    case Step::Kind::kAppend: return log.write(step.write);
    case Step::Kind::kSnapshot: {
      auto w = store.create(step.snapshot);
      if (!w.is_ok()) return w.status();
      const std::string body = snapshot_body(step.snapshot);
      w.value()->stream().write(body.data(), static_cast<std::streamsize>(body.size()));
      if (Status s = w.value()->commit(); !s.is_ok()) return s;
      return step.compact ? log.compact(*step.compact) : Status::ok();
    }
    case Step::Kind::kInstall: {
      auto leader = SnapshotStore::open(scratch);
      if (!leader.is_ok()) return leader.status();
      auto w = leader.value()->create(step.snapshot);
      if (!w.is_ok()) return w.status();
      const std::string body = snapshot_body(step.snapshot);
      w.value()->stream().write(body.data(), static_cast<std::streamsize>(body.size()));
      if (Status s = w.value()->commit(); !s.is_ok()) return s;
      auto source = leader.value()->open_latest();
      if (!source.is_ok()) return source.status();
      const std::uint64_t size = source.value()->file_size();
      auto in = store.receive(step.snapshot, size);
      if (!in.is_ok()) return in.status();
      for (std::uint64_t off = in.value()->received(); off < size;) {
        auto chunk = source.value()->read_raw(off, 8192);
        if (!chunk.is_ok()) return chunk.status();
        if (Status s = in.value()->write(off, chunk.value()); !s.is_ok()) return s;
        off += chunk.value().size();
      }
      if (Status s = in.value()->finish(); !s.is_ok()) return s;
      if (Status s = store.install(step.snapshot); !s.is_ok()) return s;
      return log.compact(*step.compact);
    }
  }
  return Status(ErrorCode::kInvalidArgument, "unknown step");
}

// Checks a crash state where steps [0, acked) returned OK and step `acked` may have been under way. Like the
// runtime's boot, it finishes an interrupted install by compacting the log. Sets `rule` to the rule checked last.
std::string verify(const AdapterFactory& factory, const std::string& dir, const std::vector<Step>& steps,
                   std::size_t acked, std::string& rule) {
  rule = kRuleReopen;
  auto store = SnapshotStore::open(dir + "/snapshots");
  if (!store.is_ok()) return "snapshot store: " + store.status().to_string();
  auto opened = factory(dir + "/log");
  if (!opened.is_ok()) return "log: " + opened.status().to_string();
  DurableLog& log = *opened.value();

  // What was acknowledged, and what the step under way may have added.
  std::optional<SnapshotMeta> acked_snapshot, maybe_snapshot;
  std::map<Index, Entry> entries;
  for (std::size_t i = 0; i < acked && i < steps.size(); ++i) {
    const Step& s = steps[i];
    if (s.kind == Step::Kind::kAppend) {
      for (const Entry& e : s.write.entries) entries[e.index] = e;
    } else {
      acked_snapshot = s.snapshot;
      if (s.kind == Step::Kind::kInstall) entries.erase(entries.begin(), entries.upper_bound(s.snapshot.last_index));
    }
  }
  if (acked < steps.size() && steps[acked].kind != Step::Kind::kAppend) maybe_snapshot = steps[acked].snapshot;

  rule = kRuleSnapshot;
  const std::optional<SnapshotFile> latest = store.value()->latest();
  if (acked_snapshot && !latest) return "acknowledged snapshot " + std::to_string(acked_snapshot->last_index) + " is gone";
  SnapshotMeta snap;
  if (latest) {
    snap = latest->meta;
    const bool known = (acked_snapshot && snap == *acked_snapshot) || (maybe_snapshot && snap == *maybe_snapshot);
    if (!known) {
      return "the newest snapshot is " + std::to_string(snap.last_index) + "/" + std::to_string(snap.last_term) +
             (acked_snapshot ? ", not the acknowledged " + std::to_string(acked_snapshot->last_index) : "");
    }
    auto reader = store.value()->open_latest();
    if (!reader.is_ok()) return reader.status().to_string();
    std::string body((std::istreambuf_iterator<char>(reader.value()->body())), std::istreambuf_iterator<char>());
    if (Status s = reader.value()->verify(); !s.is_ok()) return s.to_string();
    if (body != snapshot_body(snap)) return "snapshot " + std::to_string(snap.last_index) + " holds other bytes";
  }

  rule = kRuleNotPast;
  if (log.snapshot_meta().last_index > snap.last_index) {
    return "log compacted to " + std::to_string(log.snapshot_meta().last_index) + " but the newest snapshot is " +
           std::to_string(snap.last_index);
  }

  rule = kRuleFinish;
  Result<Term> t = log.term_at(snap.last_index);
  if (log.snapshot_meta().last_index < snap.last_index && (!t.is_ok() || t.value() != snap.last_term)) {
    if (Status s = log.compact(snap); !s.is_ok()) return "compacting to snapshot " + std::to_string(snap.last_index) + ": " + s.to_string();
  }

  rule = kRuleCovered;
  if (log.first_index() > snap.last_index + 1) {
    return "gap: the snapshot ends at " + std::to_string(snap.last_index) + ", the log starts at " +
           std::to_string(log.first_index());
  }
  for (const auto& [index, e] : entries) {
    if (index <= snap.last_index) continue;
    auto got = log.read(index, index + 1, UINT64_MAX);
    if (!got.is_ok() || got.value().size() != 1 || !(got.value()[0] == e)) {
      return "acknowledged entry " + std::to_string(index) + " is missing or different after snapshot " +
             std::to_string(snap.last_index) + (got.is_ok() ? "" : ": " + got.status().to_string());
    }
  }
  return "";
}

void record(Results& results, const std::string& rule, const std::string& verdict, const std::string& context) {
  if (!verdict.empty()) return results.check(kLevel, rule, false, verdict + "; " + context);
  for (const char* r : {kRuleReopen, kRuleSnapshot, kRuleNotPast, kRuleFinish, kRuleCovered}) results.check(kLevel, r, true);
}

struct Recorded {
  std::vector<iotrace::Op> trace;
  std::string error;
};

Recorded record_steps(const AdapterFactory& factory, const std::string& root, const std::string& scratch,
                      const std::vector<Step>& steps) {
  Recorded r;
  make_dir(root);
  iotrace::start(root);
  {
    auto store = SnapshotStore::open(root + "/snapshots");
    auto log = factory(root + "/log");
    if (!store.is_ok() || !log.is_ok()) {
      r.error = "open: " + (store.is_ok() ? log.status() : store.status()).to_string();
    } else {
      for (std::size_t k = 0; k < steps.size(); ++k) {
        remove_dir(scratch);
        if (Status s = run_step(*log.value(), *store.value(), steps[k], scratch); !s.is_ok()) {
          r.error = "step " + std::to_string(k) + " (" + steps[k].describe() + "): " + s.to_string();
          break;
        }
        iotrace::mark(static_cast<std::int64_t>(k + 1));
      }
    }
  }
  r.trace = iotrace::stop();
  remove_dir(scratch);
  return r;
}

void power_loss(const AdapterFactory& factory, const SuiteOptions& options, std::uint64_t seed, Results& results) {
  const std::string root = options.work_dir + "/snapshots-" + std::to_string(seed);
  const std::string scratch = options.work_dir + "/leader-" + std::to_string(seed);
  const std::vector<Step> steps = generate(seed, options.operations);
  Recorded r = record_steps(factory, root, scratch, steps);
  results.check(kLevel, "the workload runs (every valid step is accepted)", r.error.empty(),
                r.error + "; seed " + std::to_string(seed));
  if (!r.error.empty()) return;
  Random random(seed ^ 0x51a9);
  for_each_crash_state(
      r.trace, root, options.crash_points_inside_ops * 2, random,
      [&](const CrashState& c) {
        std::string rule;
        const std::string verdict = verify(factory, c.dir, steps, c.acked, rule);
        const std::string step = c.acked < steps.size() ? ", during step " + steps[c.acked].describe() : "";
        record(results, rule, verdict,
               "power loss, seed " + std::to_string(seed) + ", trace position " + std::to_string(c.position) + " of " +
                   std::to_string(c.trace_size) + " after " + std::to_string(c.acked) + " steps" + step + ", " +
                   model_name(c.model) + " model, state kept in " + c.dir);
        return verdict.empty();
      },
      [&](const Status& s) { results.check(kLevel, "crash states can be rebuilt", false, s.to_string()); });
  if (results.finish("").passed()) remove_dir(root);
}

void process_crash(const AdapterFactory& factory, const SuiteOptions& options, std::uint64_t seed, Results& results) {
  Random random(seed ^ 0x6b1ll);
  const std::string dir = options.work_dir + "/snapshots-kill-" + std::to_string(seed);
  const std::vector<Step> steps = generate(seed, options.operations);
  const std::size_t kill_after = random.below(steps.size());
  FILE* in = nullptr;
  const pid_t child = spawn_self(options, {kSnapshotChildFlag, dir, std::to_string(seed), std::to_string(steps.size())}, in);
  if (child < 0) return results.check(kLevel, "the workload child starts", false, "pipe failed");
  const KilledWorkload run = kill_during_workload(child, in, kill_after, random, 4000);
  const std::size_t acked = run.acked;
  const std::string& child_error = run.child_error;
  const std::string context = "process crash, seed " + std::to_string(seed) + ", killed after " +
                              std::to_string(acked) + " steps, state kept in " + dir;
  results.check(kLevel, "the workload runs (every valid step is accepted)", child_error.empty(), child_error + "; " + context);
  if (!child_error.empty()) return;
  std::string rule;
  const std::string verdict = verify(factory, dir, steps, acked, rule);
  record(results, rule, verdict, context);
  if (verdict.empty()) remove_dir(dir);
}

}  // namespace

void run_snapshot_child(const AdapterFactory& factory, const std::string& dir, std::uint64_t seed, std::size_t count) {
  const std::vector<Step> steps = generate(seed, count);
  make_dir(dir);
  auto store = SnapshotStore::open(dir + "/snapshots");
  auto log = factory(dir + "/log");
  if (!store.is_ok() || !log.is_ok()) {
    std::printf("E open %s\n", (store.is_ok() ? log.status() : store.status()).to_string().c_str());
    std::fflush(stdout);
    std::_Exit(1);
  }
  const std::string scratch = dir + "-leader";
  for (std::size_t k = 0; k < steps.size(); ++k) {
    remove_dir(scratch);
    if (Status s = run_step(*log.value(), *store.value(), steps[k], scratch); !s.is_ok()) {
      std::printf("E %zu %s\n", k, s.to_string().c_str());
      std::fflush(stdout);
      std::_Exit(1);
    }
    std::printf("%zu\n", k + 1);
    std::fflush(stdout);
  }
  std::printf("done\n");
  std::fflush(stdout);
  for (;;) pause();
}

void run_snapshot_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    process_crash(factory, options, seed, results);
    if (iotrace::interposition_works()) {
      power_loss(factory, options, seed, results);
    } else {
      results.check(kLevel, "the file-operation recorder is interposed", false,
                    "libraftkit_iotrace.so is not ahead of libc in this process: link it into the executable");
    }
  }
}

}  // namespace raftkit::conformance
