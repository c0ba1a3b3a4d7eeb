// The suite proving itself: deliberately broken adapters must FAIL, each naming the broken rule with its seed and
// crash point and leaving the crash state on disk (removed here once the failure is the expected one); the same
// adapter without the breakage must PASS.
//
//   raftkit_conformance_broken            runs every case, prints each report's failures, exit 0 if all as expected
//   raftkit_conformance_broken VARIANT …  (internal) the suite on one variant, for the process-crash child
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance/conformance.h"
#include "tests/conformance/simple_file_log.h"

namespace {

using namespace raftkit;
using raftkit::testing::Breakage;
using raftkit::testing::SimpleFileLog;

struct Variant {
  const char* name;
  Breakage breakage;
  const char* expected_rule;  // a substring of the rule that must fail ("" for the correct adapter)
  std::vector<std::string> levels;
};

std::vector<Variant> variants() {
  Breakage none;
  Breakage no_fsync;
  no_fsync.no_fsync = true;
  Breakage vote;
  vote.vote_not_synced = true;
  Breakage truncation;
  truncation.non_atomic_truncation = true;
  Breakage nth;
  nth.ack_before_sync_every_nth = 3;
  Breakage trims;
  trims.trims_corruption = true;
  Breakage dir;
  dir.no_dir_sync = true;
  Breakage cache;
  cache.stale_read_cache = true;
  Breakage snapshot_term;
  snapshot_term.forgets_snapshot_term = true;
  Breakage volatile_truncation;
  volatile_truncation.volatile_truncation_to_snapshot = true;
  Breakage capped;
  capped.caps_recovery = true;
  Breakage enospc;
  enospc.enospc_as_io = true;
  Breakage hs_first;
  hs_first.hard_state_first = true;
  Breakage unlock;
  unlock.unlocks_after_open = true;
  Breakage second_vote;
  second_vote.accepts_second_vote = true;
  Breakage split;
  split.splits_term_and_vote = true;
  Breakage compaction;
  compaction.compaction_entries_first = true;
  Breakage eio;
  eio.not_failed_after_eio = true;
  Breakage partial;
  partial.leaves_partial_batch = true;
  Breakage compacts;
  compacts.compacts_after_eio = true;
  Breakage as_io;
  as_io.corruption_as_io = true;
  Breakage in_part;
  in_part.applies_refused_in_part = true;
  return {
      {"correct", none, "", {"api", "model", "process-crash", "power-loss", "ordering", "corruption", "errors"}},
      {"no-fsync", no_fsync, "acknowledged entries survive", {"power-loss", "ordering"}},
      {"vote-not-synced", vote, "hard state", {"power-loss", "ordering"}},
      {"non-atomic-truncation", truncation, "", {"power-loss", "ordering"}},
      {"ack-before-sync-every-3rd", nth, "acknowledged entries survive", {"power-loss", "ordering"}},
      {"trims-corruption", trims, "silently", {"corruption"}},
      {"no-directory-sync", dir, "", {"power-loss", "ordering"}},
      {"stale-read-cache", cache, "reads return exactly what was written", {"model"}},
      {"forgets-snapshot-term", snapshot_term, "after a clean reopen", {"model"}},
      {"volatile-truncation-to-snapshot", volatile_truncation, "after a clean reopen", {"model"}},
      {"caps-recovery", capped, "a long log", {"model"}},
      {"enospc-as-io", enospc, "gives kNoSpace", {"errors"}},
      {"hard-state-before-entries", hs_first, "hard state is durable only with all its entries", {"power-loss", "ordering"}},
      {"unlocks-after-open", unlock, "kLocked", {"model"}},
      {"accepts-second-vote", second_vote, "one vote per term", {"api", "model"}},
      {"splits-term-and-vote", split, "term and vote recover together", {"power-loss", "ordering"}},
      {"compaction-entries-first", compaction, "", {"power-loss", "ordering"}},
      {"not-failed-after-eio", eio, "every write fails until the log is reopened", {"errors"}},
      {"leaves-partial-batch", partial, "exactly as before the call", {"errors"}},
      {"corruption-as-io", as_io, "reported", {"corruption"}},
      {"compacts-after-eio", compacts, "every write fails until the log is reopened", {"errors"}},
      {"applies-refused-in-part", in_part, "a refused write changes nothing", {"api"}},
  };
}

conformance::AdapterFactory factory_for(const Breakage& b) {
  return [b](const std::string& dir) -> Result<std::unique_ptr<DurableLog>> {
    auto r = SimpleFileLog::open(dir, b);
    if (!r.is_ok()) return r.status();
    return std::unique_ptr<DurableLog>(std::move(r).value());
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strncmp(argv[1], "--", 2) != 0) {
    // One variant (the process-crash level's child comes through here).
    for (const Variant& v : variants()) {
      if (v.name != std::string(argv[1])) continue;
      conformance::SuiteOptions options;
      options.child_args = {v.name};
      options.levels = v.levels;
      return conformance::main_for(argc - 1, argv + 1, std::string("simplefile-") + v.name, factory_for(v.breakage), options);
    }
    std::fprintf(stderr, "unknown variant %s\n", argv[1]);
    return 2;
  }
  int unexpected = 0;
  for (const Variant& v : variants()) {
    conformance::SuiteOptions options;
    options.adapter_name = std::string("simplefile-") + v.name;
    options.child_args = {v.name};
    options.levels = v.levels;
    options.seeds = 3;
    const char* tmp = std::getenv("TMPDIR");
    options.work_dir = std::string(tmp ? tmp : "/tmp") + "/raftkit-conformance-" + options.adapter_name + "-" +
                       std::to_string(::getpid());
    const conformance::Report report = conformance::run_suite(factory_for(v.breakage), options);
    const bool should_pass = std::string(v.name) == "correct";
    bool as_expected = report.passed() == should_pass;
    std::string named;
    for (const auto& r : report.rules) {
      if (!r.passed && (named.empty() || r.rule.find(v.expected_rule) != std::string::npos)) {
        named = "[" + r.level + "] " + r.rule + ": " + r.failure;
      }
    }
    if (!should_pass && *v.expected_rule && named.find(v.expected_rule) == std::string::npos) as_expected = false;
    std::printf("%s %-28s %s\n", as_expected ? "as expected:" : "UNEXPECTED: ", v.name,
                report.passed() ? "PASS" : "FAIL");
    if (!named.empty()) std::printf("    %s\n", named.c_str());
    if (!as_expected) {
      std::fputs(report.to_string().c_str(), stdout);
      ++unexpected;
    } else {
      // The crash states an expected failure leaves (hundreds of MB) teach nothing: only a surprise keeps them.
      std::error_code ec;
      std::filesystem::remove_all(options.work_dir, ec);
    }
  }
  std::printf("conformance self-proof: %s\n", unexpected ? "some broken adapters were not caught" : "every broken adapter FAILED and the correct one PASSED");
  return unexpected ? 1 : 0;
}
