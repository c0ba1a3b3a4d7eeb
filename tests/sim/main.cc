// raftkit-sim: runs the deterministic cluster simulation over many seeds.
//
//   raftkit-sim --seeds N [--from S]        run seeds S..S+N-1 (S defaults to a time-derived base, printed)
//   raftkit-sim --regression                run the fixed regression seeds (tests/sim/regression_seeds.txt)
//   raftkit-sim --seed S [--verbose]        replay one seed exactly, printing every fault and operation
//   raftkit-sim --minutes M                 long mode: random seeds until M minutes have passed
//   --history FILE                          with --seed: write the client history as JSON lines
//   --bug ack-before-persist|local-reads    inject a deliberate bug (to prove the checks catch it)
//   --expect-violations [--min-catch-percent P]
//                                           exit 0 only if at least one seed (or P% of the seeds) FAILED, for the
//                                           bug tests; prints the catch rate
//   --lease-reads                           lease-based reads, with equal tick rates and no pauses (their assumption)
//   --no-snapshots                          never snapshot or compact (by default every seed picks tiny thresholds)
//   --no-churn                              fixed membership (by default learners are added and promoted, voters
//                                           removed and replaced during the fault phase)
//   --majority-power-loss                   also power off a majority right after acknowledgements (SimOptions)
//
// Prints one summary line ("simulation: ...") and, for every failing seed, the seed and the violation.
// Exit status 0 only if every seed passed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/sim/simulator.h"

namespace {

std::vector<std::uint64_t> regression_seeds(const std::string& file) {
  std::vector<std::uint64_t> seeds;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    seeds.push_back(std::stoull(line));
  }
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace raftkit::sim;
  std::vector<std::uint64_t> seeds;
  std::uint64_t count = 0, from = 0;
  bool from_given = false, verbose = false, expect_violations = false, lease_reads = false, snapshots = true;
  bool churn = true, majority_power_loss = false;
  double min_catch_percent = 0;
  InjectedBug bug = InjectedBug::kNone;
  double minutes = 0;
  std::string history_file, regression_file;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seeds") {
      count = std::stoull(next());
    } else if (a == "--from") {
      from = std::stoull(next());
      from_given = true;
    } else if (a == "--seed") {
      seeds.push_back(std::stoull(next()));
    } else if (a == "--regression") {
      regression_file = next();
    } else if (a == "--minutes") {
      minutes = std::stod(next());
    } else if (a == "--bug") {
      const std::string b = next();
      if (b == "ack-before-persist") {
        bug = InjectedBug::kAcknowledgeBeforePersist;
      } else if (b == "local-reads") {
        bug = InjectedBug::kReadFromLocalState;
      } else {
        std::fprintf(stderr, "unknown bug %s\n", b.c_str());
        return 2;
      }
    } else if (a == "--lease-reads") {
      lease_reads = true;
    } else if (a == "--no-snapshots") {
      snapshots = false;
    } else if (a == "--no-churn") {
      churn = false;
    } else if (a == "--expect-violations") {
      expect_violations = true;
    } else if (a == "--min-catch-percent") {
      min_catch_percent = std::stod(next());
    } else if (a == "--majority-power-loss") {
      majority_power_loss = true;
    } else if (a == "--verbose") {
      verbose = true;
    } else if (a == "--history") {
      history_file = next();
    } else {
      std::fprintf(stderr, "usage: raftkit-sim [--seeds N [--from S]] [--seed S [--verbose] [--history F]] "
                           "[--regression FILE] [--minutes M]\n");
      return 2;
    }
  }
  if (!regression_file.empty()) {
    auto r = regression_seeds(regression_file);
    if (r.empty()) {
      std::fprintf(stderr, "no seeds in %s\n", regression_file.c_str());
      return 2;
    }
    seeds.insert(seeds.end(), r.begin(), r.end());
  }
  if (count > 0) {
    if (!from_given) {
      from = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000ull;
    }
    std::printf("simulation: random seeds %llu..%llu\n", static_cast<unsigned long long>(from),
                static_cast<unsigned long long>(from + count - 1));
    for (std::uint64_t s = from; s < from + count; ++s) seeds.push_back(s);
  }
  const auto start = std::chrono::steady_clock::now();
  const bool long_mode = minutes > 0;
  std::uint64_t long_seed = from_given ? from : static_cast<std::uint64_t>(start.time_since_epoch().count()) % 1000000000ull;
  if (seeds.empty() && !long_mode) {
    std::fprintf(stderr, "nothing to run: give --seeds, --seed, --regression or --minutes\n");
    return 2;
  }
  SimStats total;
  std::uint64_t runs = 0, failures = 0;
  std::size_t next_index = 0;
  while (true) {
    std::uint64_t seed;
    if (next_index < seeds.size()) {
      seed = seeds[next_index++];
    } else if (long_mode && std::chrono::steady_clock::now() - start < std::chrono::duration<double, std::ratio<60>>(minutes)) {
      seed = long_seed++;
    } else {
      break;
    }
    SimOptions options;
    options.seed = seed;
    options.verbose = verbose;
    options.bug = bug;
    options.lease_reads = lease_reads;
    options.snapshots = snapshots;
    options.churn = churn;
    options.majority_power_loss = majority_power_loss;
    SimResult r = run_simulation(options);
    ++runs;
    total.events += r.stats.events;
    total.messages_delivered += r.stats.messages_delivered;
    total.messages_dropped += r.stats.messages_dropped;
    total.messages_duplicated += r.stats.messages_duplicated;
    total.faults += r.stats.faults;
    total.crashes += r.stats.crashes;
    total.majority_power_losses += r.stats.majority_power_losses;
    total.invariant_checks += r.stats.invariant_checks;
    total.ops_ok += r.stats.ops_ok;
    total.ops_failed += r.stats.ops_failed;
    total.ops_unknown += r.stats.ops_unknown;
    total.leaders_elected += r.stats.leaders_elected;
    total.snapshots_taken += r.stats.snapshots_taken;
    total.snapshots_installed += r.stats.snapshots_installed;
    total.configuration_changes += r.stats.configuration_changes;
    if (!history_file.empty()) {
      std::ofstream out(history_file);
      out << raftkit::lincheck::to_json_lines(r.history);
    }
    if (!r.ok) {
      ++failures;
      std::printf("FAILED %s\n  replay: raftkit-sim --seed %llu --verbose\n", r.failure.c_str(),
                  static_cast<unsigned long long>(seed));
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("simulation: %llu seeds, %llu events, %llu messages delivered (%llu dropped, %llu duplicated), "
              "%llu faults injected (%llu crashes, %llu majority power losses), %llu leaders elected, %llu snapshots taken / %llu installed, %llu configuration changes, "
              "%llu invariant checks, %llu ops ok / %llu failed / %llu unknown, %llu violations, %.1fs\n",
              static_cast<unsigned long long>(runs), static_cast<unsigned long long>(total.events),
              static_cast<unsigned long long>(total.messages_delivered),
              static_cast<unsigned long long>(total.messages_dropped),
              static_cast<unsigned long long>(total.messages_duplicated), static_cast<unsigned long long>(total.faults),
              static_cast<unsigned long long>(total.crashes),
              static_cast<unsigned long long>(total.majority_power_losses),
              static_cast<unsigned long long>(total.leaders_elected),
              static_cast<unsigned long long>(total.snapshots_taken),
              static_cast<unsigned long long>(total.snapshots_installed),
              static_cast<unsigned long long>(total.configuration_changes),
              static_cast<unsigned long long>(total.invariant_checks), static_cast<unsigned long long>(total.ops_ok),
              static_cast<unsigned long long>(total.ops_failed), static_cast<unsigned long long>(total.ops_unknown),
              static_cast<unsigned long long>(failures), secs);
  if (expect_violations) {
    const double rate = runs == 0 ? 0 : 100.0 * static_cast<double>(failures) / static_cast<double>(runs);
    const bool enough = failures > 0 && rate >= min_catch_percent;
    std::printf("simulation: injected bug %s: %llu of %llu seeds caught it (catch rate %.1f%%, required %s%.1f%%)\n",
                enough ? "detected" : "NOT detected often enough", static_cast<unsigned long long>(failures),
                static_cast<unsigned long long>(runs), rate, min_catch_percent > 0 ? "" : "> ", min_catch_percent);
    return enough ? 0 : 1;
  }
  return failures == 0 ? 0 : 1;
}
