#include "tests/lincheck/checker.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "tests/lincheck/partition_search.h"

namespace raftkit::lincheck {
namespace {

using Clock = std::chrono::steady_clock;

// Steps per slice: a few milliseconds, so that a failing partition is reached soon whatever the others cost.
constexpr std::uint64_t kSliceSteps = 1 << 14;
// Below this many operations in all, threads cost more than they save.
constexpr std::size_t kThreadedOperations = 1000;

struct Partition {
  PartitionReport report;
  std::vector<const Operation*> ops;
  std::unique_ptr<PartitionSearch> search;
  std::string detail;
};

// Shares slices of the partitions' searches among threads until all are decided, one fails, or a limit is hit.
class Scheduler {
 public:
  Scheduler(std::vector<Partition>& partitions, const CheckOptions& options)
      : partitions_(partitions), options_(options), deadline_(Clock::now() + options.budget) {
    for (std::size_t i = 0; i < partitions_.size(); ++i) queue_.push_back(i);
    std::stable_sort(queue_.begin(), queue_.end(), [&](std::size_t a, std::size_t b) {
      return partitions_[a].ops.size() < partitions_[b].ops.size();
    });
  }

  void run(unsigned threads) {
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) {
      try {
        workers.emplace_back([this] { work(); });
      } catch (...) {
        break;  // no thread to be had: the ones running (this one at least) share the work
      }
    }
    work();
    for (std::thread& t : workers) t.join();
  }

  // Index of the partition that failed first, or -1.
  long failed() const { return failed_; }
  const std::string& stopped_because() const { return stopped_because_; }

 private:
  // No exception leaves a worker: one (memory, most likely) stops the whole check, which answers unknown.
  void work() {
    try {
      work_slices();
    } catch (...) {
      std::lock_guard lock(mu_);
      stopped_ = true;
      try {
        if (stopped_because_.empty()) stopped_because_ = "the checker ran out of memory or failed";
      } catch (...) {
      }
    }
  }

  void work_slices() {
    for (;;) {
      std::size_t index;
      {
        std::lock_guard lock(mu_);
        if (stopped_ || queue_.empty()) return;
        index = queue_.front();
        queue_.pop_front();
      }
      Partition& p = partitions_[index];
      const auto start = Clock::now();
      const PartitionSearch::Progress progress = p.search->run(kSliceSteps);
      p.report.seconds += std::chrono::duration<double>(Clock::now() - start).count();
      p.report.steps = p.search->steps();
      std::lock_guard lock(mu_);
      memo_total_ -= p.report.memo_bytes;
      p.report.memo_bytes = p.search->memo_bytes();
      memo_total_ += p.report.memo_bytes;
      switch (progress) {
        case PartitionSearch::Progress::kRunning:
          if (memo_total_ > options_.memory_limit_bytes) {
            stop("memory limit of " + std::to_string(options_.memory_limit_bytes >> 20) + " MiB reached");
          } else if (Clock::now() > deadline_) {
            stop("time budget of " + std::to_string(options_.budget.count()) + " ms exhausted");
          } else {
            queue_.push_back(index);
          }
          break;
        case PartitionSearch::Progress::kLinearizable:
          finish(p, Verdict::kLinearizable);
          break;
        case PartitionSearch::Progress::kNotLinearizable:
          finish(p, Verdict::kNotLinearizable);
          if (failed_ < 0) failed_ = static_cast<long>(index);
          stop("");
          break;
        case PartitionSearch::Progress::kOutOfMemory:
          stop("memory limit reached searching key \"" + p.report.key + "\"");
          break;
      }
    }
  }

  // Called with mu_ held: records the verdict and frees the search's memory.
  void finish(Partition& p, Verdict verdict) {
    p.report.verdict = verdict;
    p.detail = p.search->detail();
    memo_total_ -= p.report.memo_bytes;
    p.search.reset();
  }

  void stop(std::string why) {
    if (!stopped_) stopped_because_ = std::move(why);
    stopped_ = true;
  }

  std::vector<Partition>& partitions_;
  const CheckOptions& options_;
  const Clock::time_point deadline_;
  std::mutex mu_;
  std::deque<std::size_t> queue_;
  std::size_t memo_total_ = 0;
  bool stopped_ = false;
  std::string stopped_because_;
  long failed_ = -1;
};

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable: return "linearizable";
    case Verdict::kNotLinearizable: return "not-linearizable";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

CheckResult check(const History& history, std::chrono::milliseconds budget) {
  CheckOptions options;
  options.budget = budget;
  return check(history, options);
}

CheckResult check(const History& history, const CheckOptions& options) {
  std::map<std::string, std::vector<const Operation*>> by_key;
  CheckResult result;
  for (const Operation& op : history.operations) {
    // A failed read or write, and a read of unknown outcome, constrain nothing and change nothing.
    if (op.outcome == Outcome::kFail && op.kind != OpKind::kCas) continue;
    if (op.outcome == Outcome::kUnknown && op.kind == OpKind::kRead) continue;
    by_key[op.key].push_back(&op);
    ++result.operations;
  }
  result.keys = by_key.size();
  if (by_key.empty()) return result;

  std::vector<Partition> partitions;
  partitions.reserve(by_key.size());
  for (auto& [key, ops] : by_key) {
    Partition p;
    p.report.key = key;
    p.report.operations = ops.size();
    p.search = std::make_unique<PartitionSearch>(std::move(ops), history.initial, options.memory_limit_bytes);
    partitions.push_back(std::move(p));
  }
  unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  if (result.operations < kThreadedOperations) threads = 1;
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, partitions.size()));

  Scheduler scheduler(partitions, options);
  scheduler.run(threads);

  bool unfinished = false;
  for (Partition& p : partitions) {
    if (p.report.verdict == Verdict::kUnknown) unfinished = true;
    result.partitions.push_back(std::move(p.report));
  }
  if (scheduler.failed() >= 0) {
    const auto bad = static_cast<std::size_t>(scheduler.failed());
    result.verdict = Verdict::kNotLinearizable;
    result.detail = "key \"" + result.partitions[bad].key + "\": " + partitions[bad].detail;
  } else if (unfinished) {
    result.verdict = Verdict::kUnknown;
    std::size_t open = 0;
    for (const PartitionReport& r : result.partitions) open += r.verdict == Verdict::kUnknown ? 1 : 0;
    result.detail = scheduler.stopped_because() + " with " + std::to_string(open) + " of " +
                    std::to_string(result.partitions.size()) + " keys undecided";
  }
  return result;
}

}  // namespace raftkit::lincheck
