// Levels "power-loss", "ordering" and "corruption": the workload runs in this process with every file operation
// recorded (iotrace.h); crash states are rebuilt from the trace (disk_model.h) and opened with the adapter.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "conformance/disk_model.h"
#include "conformance/iotrace.h"
#include "conformance/suite_internal.h"
#include "consensus/random.h"

namespace raftkit::conformance {
namespace fs = std::filesystem;
namespace {

struct Recorded {
  std::vector<iotrace::Op> trace;
  std::vector<WorkOp> ops;
  std::string error;  // an operation the adapter refused, or a failed open
};

void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Runs the workload with every file operation recorded, comparing the log with the model after each operation.
Recorded record_workload(const AdapterFactory& factory, const std::string& root, std::vector<WorkOp> ops,
                         std::uint64_t seed, Results& results) {
  Recorded r;
  r.ops = std::move(ops);
  make_dir(root);
  sync_path(root);
  sync_path(fs::path(root).parent_path().string());
  iotrace::start(root);
  {
    auto opened = factory(root + "/log");
    if (!opened.is_ok()) {
      r.error = "open: " + opened.status().to_string();
    } else {
      std::unique_ptr<DurableLog> log = std::move(opened).value();
      ModelLog model;
      Random random(seed ^ 0x9e11);
      for (std::size_t k = 0; k < r.ops.size(); ++k) {
        Status s = run_op(*log, r.ops[k]);
        if (!s.is_ok()) {
          r.error = "operation " + std::to_string(k) + " (" + r.ops[k].describe() + "): " + s.to_string();
          break;
        }
        iotrace::mark(static_cast<std::int64_t>(k + 1));
        apply(model, r.ops[k]);
        const std::string when = "(seed " + std::to_string(seed) + ", after operation " + std::to_string(k) + ": " +
                                 r.ops[k].describe() + ", before any crash)";
        if (!compare_with_model(*log, model, random, false, when, results, "power-loss")) break;
      }
    }  // the adapter closes here, still recorded
  }
  r.trace = iotrace::stop();
  return r;
}

bool ignored(const std::string& path, const SuiteOptions& options) {
  return is_non_durable(fs::path(path).filename().string(), options);
}

std::map<std::string, std::string> snapshot_files(const std::string& root, const SuiteOptions& options,
                                                  std::set<std::string>* left_out = nullptr) {
  std::map<std::string, std::string> files;
  if (!fs::exists(root)) return files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    if (ignored(e.path().string(), options)) {
      if (left_out != nullptr) left_out->insert(e.path().filename().string());
      continue;
    }
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    files[e.path().string().substr(root.size())] = s.str();
  }
  return files;
}

// The recorder must have seen every write: replaying the whole trace must give the real directory.
std::string self_check(const Recorded& r, const std::string& root, const std::string& check_dir,
                       const SuiteOptions& options, std::set<std::string>& left_out) {
  DiskModel model(root);
  std::string uncovered;
  for (const iotrace::Op& op : r.trace) {
    model.apply(op);
    if (op.type == iotrace::OpType::kUncovered && !ignored(op.path, options)) {
      uncovered += " " + op.path2 + " on " + op.path.substr(root.size()) + ";";
    }
  }
  Random unused(0);
  if (Status s = model.materialize(check_dir, PersistenceModel::kEverything, unused); !s.is_ok()) return s.to_string();
  const auto real = snapshot_files(root, options, &left_out);
  const auto replayed = snapshot_files(check_dir, options);
  remove_dir(check_dir);
  std::string diff;
  for (const auto& [path, bytes] : real) {
    auto it = replayed.find(path);
    if (it == replayed.end()) {
      diff += " " + path + " exists but was never seen created;";
    } else if (it->second != bytes) {
      diff += " " + path + " differs from its recorded writes;";
    }
  }
  for (const auto& [path, bytes] : replayed) {
    if (!real.count(path)) diff += " " + path + " recorded but absent;";
  }
  if (diff.empty()) return "";
  return "I/O path not covered:" + diff + (uncovered.empty() ? "" : " (seen:" + uncovered + ")");
}

}  // namespace

// Opens a crash state and checks it. Returns "" or the verdict; `opened` tells whether the adapter opened it.
std::string check_state_here(const AdapterFactory& factory, const std::string& dir, const std::vector<WorkOp>& ops,
                             std::size_t acked, bool in_flight, bool& opened) {
  auto log = factory(dir + "/log");
  opened = log.is_ok();
  if (!opened) return std::string(kRuleRecovers) + ": " + log.status().to_string();
  auto model = read_model(*log.value());
  log.value().reset();
  if (!model.is_ok()) return std::string(kRuleEntries) + ": reading the recovered log failed: " + model.status().to_string();
  return verify_recovery(model.value(), ops, acked, in_flight);
}

namespace {

std::string check_state(const AdapterFactory& factory, const std::string& dir, const std::vector<WorkOp>& ops,
                        std::size_t acked, bool in_flight, bool& opened) {
  return check_state_here(factory, dir, ops, acked, in_flight, opened);
}

void run_crash_states(const AdapterFactory& factory, const SuiteOptions& options, const Recorded& r,
                      const std::string& root, std::uint64_t seed, Results& results) {
  Random random(seed ^ 0xc4a54);
  for_each_crash_state(
      r.trace, root, options.crash_points_inside_ops, random,
      [&](const CrashState& c) {
        bool opened = false;
        const std::string verdict = check_state(factory, c.dir, r.ops, c.acked, true, opened);
        const std::string context = std::string("seed ") + std::to_string(seed) + ", crash at trace position " +
                                    std::to_string(c.position) + " of " + std::to_string(c.trace_size) + " after " +
                                    std::to_string(c.acked) + " acknowledgements, " + model_name(c.model) +
                                    " model, crash state kept in " + c.dir;
        if (!opened) {
          results.check("power-loss", kRuleRecovers, false, verdict + "; " + context);
        } else {
          results.check("power-loss", kRuleRecovers, true);
          record_verdict(results, "power-loss", verdict, context);
        }
        return verdict.empty();
      },
      [&](const Status& s) { results.check("power-loss", "crash states can be rebuilt", false, s.to_string()); });
}

// Whether a verdict is the adapter's own report of damage, as the contract asks: open, or a read, failing with
// kCorruption. Any other refusal (kIo, kWrongOwner, ...) misnames it, and a log that merely contradicts itself
// when read (kSelfContradiction) went unreported.
bool reported_as_corruption(const std::string& verdict) {
  const std::string code = std::string(error_code_name(ErrorCode::kCorruption)) + ": ";
  const std::string open_refused = std::string(kRuleRecovers) + ": " + code;
  const std::string read_refused = std::string(kRuleEntries) + ": reading the recovered log failed: " + code;
  if (verdict.rfind(open_refused, 0) == 0) return true;
  return verdict.rfind(read_refused, 0) == 0 && verdict.compare(read_refused.size(), std::strlen(kSelfContradiction),
                                                                kSelfContradiction) != 0;
}

struct Damage {
  const char* rule;
  int kind;  // 0 flip a bit, 1 zero a sector, 2 drop the write
};

void run_corruption(const SuiteOptions& options, const Recorded& r,
                    const std::string& root, std::uint64_t seed, Results& results) {
  Random random(seed ^ 0xbad);
  // Synced writes whose bytes are still in a live file at the end, and the acknowledgement count before each.
  DiskModel final_model(root);
  for (const iotrace::Op& op : r.trace) final_model.apply(op);
  struct Candidate {
    std::size_t trace_index;
    std::string path;
    std::size_t acked_before;
  };
  std::vector<Candidate> candidates;
  std::size_t acked = 0;
  std::set<std::uint64_t> synced_later;
  for (std::size_t i = r.trace.size(); i-- > 0;) {
    if (r.trace[i].type == iotrace::OpType::kSync) synced_later.insert(r.trace[i].file_id);
  }
  std::map<std::uint64_t, std::size_t> last_sync;
  for (std::size_t i = 0; i < r.trace.size(); ++i) {
    if (r.trace[i].type == iotrace::OpType::kSync) last_sync[r.trace[i].file_id] = i;
  }
  for (std::size_t i = 0; i < r.trace.size(); ++i) {
    const iotrace::Op& op = r.trace[i];
    if (op.type == iotrace::OpType::kMark) acked = static_cast<std::size_t>(op.mark);
    if (op.type != iotrace::OpType::kWrite || op.data.empty()) continue;
    const bool synced = op.synced || (last_sync.count(op.file_id) && last_sync[op.file_id] > i);
    auto path = final_model.path_of(op.file_id);
    if (!synced || !path || ignored(*path, options)) continue;
    const std::string now = final_model.current_content(op.file_id);
    if (now.size() < op.offset + op.data.size() || now.compare(op.offset, op.data.size(), op.data) != 0) continue;
    candidates.push_back(Candidate{i, *path, acked});
  }
  const Damage damages[] = {{"a flipped bit in synced data is reported, never silently trimmed", 0},
                            {"a zeroed 512-byte sector in synced data is reported, never silently trimmed", 1},
                            {"a dropped synced write is reported, never silently trimmed", 2}};
  if (candidates.empty()) {
    for (const Damage& d : damages) results.check("corruption", d.rule, false, "no synced write found to damage");
    return;
  }
  const std::size_t total_acked = r.ops.size();
  for (const Damage& d : damages) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const Candidate& c = candidates[random.below(candidates.size())];
      const iotrace::Op& op = r.trace[c.trace_index];
      const std::string dir = root + "-damage-" + std::to_string(d.kind) + "-" + std::to_string(attempt);
      std::uint64_t damaged_byte = op.offset;
      if (d.kind == 2) {
        DiskModel without(root);
        for (std::size_t i = 0; i < r.trace.size(); ++i) {
          if (i != c.trace_index) without.apply(r.trace[i]);
        }
        (void)without.materialize(dir, PersistenceModel::kEverything, random);
      } else {
        (void)final_model.materialize(dir, PersistenceModel::kEverything, random);
        const std::string file = dir + c.path.substr(root.size());
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        const std::uint64_t at = op.offset + random.below(op.data.size());
        damaged_byte = at;
        if (d.kind == 0) {
          f.seekg(static_cast<std::streamoff>(at));
          char byte = 0;
          f.read(&byte, 1);
          byte = static_cast<char>(byte ^ (1 << random.below(8)));
          f.seekp(static_cast<std::streamoff>(at));
          f.write(&byte, 1);
        } else {
          const std::uint64_t sector = at / 512 * 512;
          const std::uint64_t size = fs::file_size(file);
          const std::string zeros(std::min<std::uint64_t>(512, size - sector), '\0');
          f.seekp(static_cast<std::streamoff>(sector));
          f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
        }
      }
      // The damaged bytes, at sector granularity.
      std::uint64_t lo = op.offset, hi = op.offset + op.data.size();
      if (d.kind == 0) lo = hi = damaged_byte;
      if (d.kind == 1) lo = damaged_byte / 512 * 512;
      if (d.kind != 2) hi = lo + (d.kind == 0 ? 1 : 512);
      bool opened = false;
      std::string crashed;
      std::string verdict = check_state_isolated(options, dir, seed, total_acked, false, opened, crashed);
      results.check("corruption", "damaged data is reported as an error, never by crashing", crashed.empty(),
                    crashed + "; seed " + std::to_string(seed) + ", damaged " + c.path.substr(root.size()) +
                        ", state kept in " + dir);
      if (!crashed.empty()) continue;
      bool ok = verdict.empty() || reported_as_corruption(verdict);
      if (!ok) {
        // A torn tail may be trimmed: damage in sectors holding bytes of the last acknowledged write, or in a
        // file's last written sector, may make the adapter drop the writes whose bytes lie in those sectors (a
        // torn sector write can take the earlier bytes of its sector along).
        std::uint64_t data_end = 0;  // the end of what was written to this file (preallocated zeros do not count)
        for (const iotrace::Op& w : r.trace) {
          if (w.type == iotrace::OpType::kWrite && w.file_id == op.file_id) data_end = std::max<std::uint64_t>(data_end, w.offset + w.data.size());
        }
        const std::uint64_t sector_lo = lo / 512 * 512, sector_hi = (hi + 511) / 512 * 512;
        std::size_t earliest = total_acked, latest = 0;
        for (const Candidate& other : candidates) {
          const iotrace::Op& w = r.trace[other.trace_index];
          if (w.file_id == op.file_id && w.offset < sector_hi && w.offset + w.data.size() > sector_lo) {
            earliest = std::min(earliest, other.acked_before);
            latest = std::max(latest, other.acked_before);
          }
        }
        const bool tail = latest + 1 >= total_acked || sector_hi + 512 > data_end;
        for (std::size_t k = earliest; tail && k < total_acked && !ok; ++k) {
          ok = check_state_isolated(options, dir, seed, k, true, opened, crashed).empty();
        }
      }
      const std::string context = "seed " + std::to_string(seed) + ", damaged " + c.path.substr(root.size()) +
                                  " at offset " + std::to_string(op.offset) + " (write #" +
                                  std::to_string(c.trace_index) + "), state kept in " + dir;
      results.check("corruption", d.rule, ok, "neither reported as kCorruption nor only a torn tail trimmed: " + verdict + "; " + context);
      if (ok) remove_dir(dir);
    }
  }
}

}  // namespace

void run_power_loss_levels(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  const bool want_corruption = std::find(options.levels.begin(), options.levels.end(), "corruption") != options.levels.end();
  std::set<std::string> left_out;  // scratch files found and not checked
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    const std::string root = options.work_dir + "/power-loss-" + std::to_string(seed);
    Recorded r = record_workload(factory, root, generate_workload(seed, options.operations), seed, results);
    if (!r.error.empty()) {
      results.check("power-loss", "the workload runs (every valid operation is accepted)", false,
                    r.error + "; seed " + std::to_string(seed));
      continue;
    }
    results.check("power-loss", "the workload runs (every valid operation is accepted)", true);
    const std::string problem = self_check(r, root, root + "-selfcheck", options, left_out);
    results.check("power-loss", "self-check: the recorder saw every write", problem.empty(),
                  problem + "; seed " + std::to_string(seed));
    if (!problem.empty()) continue;  // crash states from an incomplete trace would prove nothing
    run_crash_states(factory, options, r, root, seed, results);
    if (want_corruption) run_corruption(options, r, root, seed, results);
    if (results.finish("").passed()) remove_dir(root);
  }
  // The contract's edges under power loss too (truncation to the snapshot point, compaction at and past the last
  // index, empty and hard-state-only writes after a compaction): must be as durable as any other write.
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    const std::string root = options.work_dir + "/power-loss-edges-" + std::to_string(seed);
    Recorded r = record_workload(factory, root, generate_boundary_workload(seed, options.operations, {false, false}),
                                 seed, results);
    const std::string context = "; seed " + std::to_string(seed) + ", the boundary workload";
    results.check("power-loss", "the workload runs (every valid operation is accepted)", r.error.empty(), r.error + context);
    if (!r.error.empty()) continue;
    const std::string problem = self_check(r, root, root + "-selfcheck", options, left_out);
    results.check("power-loss", "self-check: the recorder saw every write", problem.empty(), problem + context);
    if (!problem.empty()) continue;
    run_crash_states(factory, options, r, root, seed, results);
    if (results.finish("").passed()) remove_dir(root);
  }
  if (!left_out.empty()) {
    std::string list;
    for (const std::string& name : left_out) list += (list.empty() ? "" : ", ") + name;
    results.note("scratch files left out of the power-loss checks (declared, or a shipped engine's): " + list);
  }
}

}  // namespace raftkit::conformance
