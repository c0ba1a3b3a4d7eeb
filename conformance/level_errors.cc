// Level "errors": I/O failures injected into the adapter's own calls (iotrace.h). A failed fsync (EIO) must never
// be acknowledged, and the adapter must refuse writes until reopened (after a failed fsync the kernel may have
// dropped the dirty pages: a retry that "succeeds" acknowledges lost data). ENOSPC must give an error and leave
// the log exactly as before the call.
#include <cerrno>

#include "conformance/iotrace.h"
#include "conformance/suite_internal.h"
#include "consensus/random.h"

namespace raftkit::conformance {
namespace {

Status run_op(DurableLog& log, const WorkOp& op) { return op.is_compaction ? log.compact(op.meta) : log.write(op.write); }

constexpr const char* kRuleEioNotAcked = "a failed fsync (EIO) is never acknowledged";
constexpr const char* kRuleEioSticky = "after a failed fsync every write fails until the log is reopened";
constexpr const char* kRuleEnospcError = "a full disk (ENOSPC) gives an error";
constexpr const char* kRuleEnospcIntact = "a full disk corrupts nothing";

}  // namespace

void run_error_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  const char* level = "errors";
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    Random random(seed ^ 0xe10);
    const std::vector<WorkOp> ops = generate_workload(seed, options.operations);
    for (int kind = 0; kind < 2; ++kind) {
      const bool eio = kind == 0;
      const std::string root = options.work_dir + (eio ? "/eio-" : "/enospc-") + std::to_string(seed);
      make_dir(root);
      iotrace::start(root);
      auto opened = factory(root + "/log");
      if (!opened.is_ok()) {
        iotrace::stop();
        results.check(level, eio ? kRuleEioNotAcked : kRuleEnospcError, false, "open failed: " + opened.status().to_string());
        continue;
      }
      std::unique_ptr<DurableLog> log = std::move(opened).value();
      const int nth = 1 + static_cast<int>(random.below(ops.size()));
      if (eio) {
        iotrace::fail_nth_sync(nth, EIO);
      } else {
        iotrace::fail_nth_write(nth, ENOSPC);
      }
      std::size_t failed_at = ops.size();
      std::string context;
      for (std::size_t k = 0; k < ops.size(); ++k) {
        const int before = iotrace::injected_failures();
        Status st = run_op(*log, ops[k]);
        if (iotrace::injected_failures() == before) {
          if (!st.is_ok()) {
            results.check(level, "the workload runs (every valid operation is accepted)", false, st.to_string());
            break;
          }
          continue;
        }
        failed_at = k;
        context = "seed " + std::to_string(seed) + ", " + (eio ? "EIO on sync" : "ENOSPC on write") + " #" +
                  std::to_string(nth) + " during operation " + std::to_string(k) + " (" + ops[k].describe() + ")";
        if (eio) {
          results.check(level, kRuleEioNotAcked, !st.is_ok(), "the operation returned OK; " + context);
          // Keep writing: nothing may succeed any more.
          bool sticky = true;
          for (std::size_t j = k + 1; j < std::min(ops.size(), k + 4); ++j) sticky = sticky && !run_op(*log, ops[j]).is_ok();
          results.check(level, kRuleEioSticky, sticky, "a later write returned OK without a reopen; " + context);
        } else {
          results.check(level, kRuleEnospcError, !st.is_ok() && !st.message().empty(), "the operation returned OK; " + context);
        }
        break;
      }
      log.reset();
      iotrace::stop();
      if (failed_at == ops.size()) {
        results.note(std::string(eio ? "EIO" : "ENOSPC") + " injection #" + std::to_string(nth) + " never fired for seed " +
                     std::to_string(seed) + " (fewer calls than that)");
        remove_dir(root);
        continue;
      }
      if (!eio) {
        auto again = factory(root + "/log");
        std::string verdict;
        if (!again.is_ok()) {
          verdict = "reopen failed: " + again.status().to_string();
        } else {
          auto model = read_model(*again.value());
          verdict = model.is_ok() ? verify_recovery(model.value(), ops, failed_at, false)
                                  : "read failed: " + model.status().to_string();
        }
        results.check(level, kRuleEnospcIntact, verdict.empty(), verdict + "; " + context + ", state kept in " + root);
        if (!verdict.empty()) continue;
      }
      remove_dir(root);
    }
  }
}

}  // namespace raftkit::conformance
