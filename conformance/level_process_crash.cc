// Level "process-crash": a child (fork, then exec of this same executable: never a bare fork of a process whose
// engine may have started threads) runs a seeded workload and reports each acknowledgement over a pipe; the parent
// kills it with SIGKILL at a random moment, reopens the log and checks it against what was acknowledged.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "consensus/random.h"
#include "conformance/suite_internal.h"

namespace raftkit::conformance {

void run_child_if_requested(int argc, char** argv, const AdapterFactory& factory) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], kLockProbeFlag) == 0) run_lock_probe_child(factory, argv[i + 1]);
  }
  for (int i = 1; i + 3 < argc; ++i) {
    if (std::strcmp(argv[i], kSnapshotChildFlag) == 0) {
      run_snapshot_child(factory, argv[i + 1], std::strtoull(argv[i + 2], nullptr, 10), std::strtoul(argv[i + 3], nullptr, 10));
    }
  }
  for (int i = 1; i + 5 < argc; ++i) {
    if (std::strcmp(argv[i], kCheckFlag) != 0) continue;
    const std::string dir = argv[i + 1];
    const std::vector<WorkOp> ops = generate_workload(std::strtoull(argv[i + 2], nullptr, 10), std::strtoul(argv[i + 3], nullptr, 10));
    bool opened = false;
    const std::string verdict = check_state_here(factory, dir, ops, std::strtoul(argv[i + 4], nullptr, 10),
                                                 std::strcmp(argv[i + 5], "1") == 0, opened);
    std::printf("OPENED %d\n%s\n", opened ? 1 : 0, verdict.c_str());
    std::fflush(stdout);
    std::_Exit(0);
  }
  for (int i = 1; i + 3 < argc; ++i) {
    if (std::strcmp(argv[i], kChildFlag) != 0) continue;
    const std::string dir = argv[i + 1];
    const std::uint64_t seed = std::strtoull(argv[i + 2], nullptr, 10);
    const std::size_t count = std::strtoul(argv[i + 3], nullptr, 10);
    const std::vector<WorkOp> ops = generate_workload(seed, count);
    auto opened = factory(dir);
    if (!opened.is_ok()) {
      std::printf("E open %s\n", opened.status().to_string().c_str());
      std::fflush(stdout);
      std::_Exit(1);
    }
    std::unique_ptr<DurableLog> log = std::move(opened).value();
    for (std::size_t k = 0; k < ops.size(); ++k) {
      Status s = run_op(*log, ops[k]);
      if (!s.is_ok()) {
        std::printf("E %zu %s\n", k, s.to_string().c_str());
        std::fflush(stdout);
        std::_Exit(1);
      }
      std::printf("%zu\n", k + 1);
      std::fflush(stdout);
    }
    std::printf("done\n");
    std::fflush(stdout);
    for (;;) pause();  // wait for the parent's SIGKILL
  }
}

pid_t spawn_self(const SuiteOptions& options, const std::vector<std::string>& extra, FILE*& out) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    std::vector<std::string> args = {options.executable};
    args.insert(args.end(), options.child_args.begin(), options.child_args.end());
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(options.executable.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  out = ::fdopen(pipe_fds[0], "r");
  return child;
}

KilledWorkload kill_during_workload(pid_t child, FILE* in, std::size_t kill_after, Random& random,
                                    std::uint64_t max_extra_us) {
  KilledWorkload run;
  char line[4096];
  bool killed = false;
  while (std::fgets(line, sizeof line, in) != nullptr) {
    if (line[0] == 'E') {
      run.child_error = line;
      break;
    }
    const bool done = std::strncmp(line, "done", 4) == 0;
    if (!done) run.acked = std::strtoul(line, nullptr, 10);
    if (!killed && (run.acked >= kill_after || done)) {
      std::this_thread::sleep_for(std::chrono::microseconds(random.below(max_extra_us)));
      ::kill(child, SIGKILL);
      killed = true;
    }
  }
  if (!killed) ::kill(child, SIGKILL);
  std::fclose(in);
  int status = 0;
  ::waitpid(child, &status, 0);
  return run;
}

std::string check_state_isolated(const SuiteOptions& options, const std::string& dir, std::uint64_t seed,
                                 std::size_t acked, bool in_flight, bool& opened, std::string& crashed) {
  opened = false;
  crashed.clear();
  FILE* in = nullptr;
  const pid_t child = spawn_self(options, {kCheckFlag, dir, std::to_string(seed), std::to_string(options.operations),
                                           std::to_string(acked), in_flight ? "1" : "0"}, in);
  if (child < 0) return "pipe failed";
  std::string output;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, in) != nullptr) output += buf;
  std::fclose(in);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) {
    crashed = std::string("the adapter crashed (") + strsignal(WTERMSIG(status)) + ")";
    return crashed;
  }
  if (output.rfind("OPENED ", 0) != 0) return "the check child printed nothing (exit " + std::to_string(WEXITSTATUS(status)) + ")";
  opened = output[7] == '1';
  std::string verdict = output.substr(output.find('\n') + 1);
  while (!verdict.empty() && verdict.back() == '\n') verdict.pop_back();
  return verdict;
}

void run_process_crash_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  const char* level = "process-crash";
  for (int s = 0; s < options.seeds; ++s) {
    const std::uint64_t seed = options.seed + static_cast<std::uint64_t>(s);
    Random random(seed ^ 0x5eed);
    const std::string dir = options.work_dir + "/process-crash-" + std::to_string(seed);
    const std::vector<WorkOp> ops = generate_workload(seed, options.operations);
    const std::size_t kill_after = 1 + random.below(ops.size());
    FILE* in = nullptr;
    const pid_t child = spawn_self(options, {kChildFlag, dir, std::to_string(seed), std::to_string(ops.size())}, in);
    if (child < 0) {
      results.check(level, "the workload child starts", false, "pipe failed");
      return;
    }
    const KilledWorkload run = kill_during_workload(child, in, kill_after, random, 3000);
    const std::size_t acked = run.acked;
    const std::string& child_error = run.child_error;
    const std::string context = "seed " + std::to_string(seed) + ", killed after " + std::to_string(acked) +
                                " acknowledged operations, state kept in " + dir;
    if (!child_error.empty()) {
      results.check(level, "the workload runs (every valid operation is accepted)", false,
                    "child reported: " + child_error + "; " + context);
      continue;
    }
    results.check(level, "the workload runs (every valid operation is accepted)", true);
    // Reopen in this process (the child is gone, and with it any lock).
    auto reopened = factory(dir);
    if (!reopened.is_ok()) {
      results.check(level, kRuleRecovers, false, reopened.status().to_string() + "; " + context);
      continue;
    }
    results.check(level, kRuleRecovers, true);
    auto model = read_model(*reopened.value());
    reopened.value().reset();
    if (!model.is_ok()) {
      results.check(level, kRuleEntries, false, "reading the recovered log failed: " + model.status().to_string() + "; " + context);
      continue;
    }
    const std::string verdict = verify_recovery(model.value(), ops, acked, true);
    record_verdict(results, level, verdict, context);
    if (verdict.empty()) remove_dir(dir);
  }
}

}  // namespace raftkit::conformance
