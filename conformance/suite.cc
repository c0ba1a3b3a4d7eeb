// The suite's driver, its report, and the ready-made main().
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "conformance/iotrace.h"
#include "conformance/suite_internal.h"

namespace raftkit::conformance {

void Results::check(const std::string& level, const std::string& rule, bool ok, const std::string& failure) {
  auto key = std::make_pair(level, rule);
  auto it = index_.find(key);
  if (it == index_.end()) {
    it = index_.emplace(key, rules_.size()).first;
    rules_.push_back(RuleResult{level, rule, true, 0, ""});
  }
  RuleResult& r = rules_[it->second];
  ++r.checks;
  if (!ok && r.passed) {
    r.passed = false;
    r.failure = failure;
  }
}

Report Results::finish(const std::string& adapter) { return Report{adapter, 0, false, rules_, notes_}; }

void record_verdict(Results& results, const std::string& level, const std::string& verdict,
                    const std::string& context) {
  static const std::vector<std::string> ordering = {kRuleHardState, kRuleVote, kRuleTermVote, kRuleHardStateOrder,
                                                    kRuleTruncate, kRuleCompaction};
  if (verdict.empty()) {
    results.check(level, kRuleEntries, true);
    for (const std::string& rule : ordering) results.check("ordering", rule, true);
    return;
  }
  const std::string rule = verdict.substr(0, verdict.find(':'));
  const bool is_ordering = std::find(ordering.begin(), ordering.end(), rule) != ordering.end();
  results.check(is_ordering ? "ordering" : level, rule, false, verdict + "; " + context);
}

std::string make_dir(const std::string& path) {
  std::filesystem::create_directories(path);
  return path;
}

void remove_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

namespace {

// The scratch files of the engines raftkit ships, by those engines' own naming: LMDB's reader table and SQLite's
// WAL index, both shared memory rebuilt on open. An adapter built on either needs no declaration.
const std::vector<std::string>& engine_scratch_files() {
  static const std::vector<std::string> names = {"lock.mdb", "*-shm"};
  return names;
}

bool matches(const std::string& name, const std::string& pattern) {
  if (pattern.size() > 1 && pattern[0] == '*') {
    const std::string suffix = pattern.substr(1);
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return name == pattern;
}

}  // namespace

bool is_non_durable(const std::string& file_name, const SuiteOptions& options) {
  for (const std::string& p : options.non_durable_files) {
    if (matches(file_name, p)) return true;
  }
  for (const std::string& p : engine_scratch_files()) {
    if (matches(file_name, p)) return true;
  }
  return false;
}

bool Report::passed() const {
  return std::all_of(rules.begin(), rules.end(), [](const RuleResult& r) { return r.passed; });
}

std::string Report::to_string() const {
  std::string s = "conformance: " + adapter + " (seed " + std::to_string(seed) + (deep ? ", deep" : ", default depth") +
                  "; the same seed repeats this run)\n";
  std::string level;
  int passed_count = 0, failed_count = 0;
  for (const RuleResult& r : rules) {
    if (r.level != level) {
      level = r.level;
      s += "  [" + level + "]\n";
    }
    s += std::string("    ") + (r.passed ? "PASS " : "FAIL ") + r.rule + " (" + std::to_string(r.checks) + " checks)\n";
    if (!r.passed) s += "         " + r.failure + "\n";
    (r.passed ? passed_count : failed_count)++;
  }
  for (const std::string& n : notes) s += "  note: " + n + "\n";
  s += "conformance: " + adapter + ": " + (passed() ? "PASS" : "FAIL") + " (" + std::to_string(passed_count) +
       " rules passed, " + std::to_string(failed_count) + " failed)\n";
  return s;
}

Report run_suite(const AdapterFactory& factory, const SuiteOptions& given) {
  SuiteOptions options = given;
  if (options.deep) {
    options.seeds = std::max(options.seeds, 20);
    options.operations = std::max<std::size_t>(options.operations, 60);
    options.crash_points_inside_ops = std::max(options.crash_points_inside_ops, 40);
  }
  if (options.work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    options.work_dir = std::string(tmp ? tmp : "/tmp") + "/raftkit-conformance-" + options.adapter_name + "-" +
                       std::to_string(::getpid());
  }
  options.work_dir = std::filesystem::absolute(options.work_dir).string();
  remove_dir(options.work_dir);
  make_dir(options.work_dir);
  Results results;
  auto wants = [&](const char* level) {
    return std::find(options.levels.begin(), options.levels.end(), level) != options.levels.end();
  };
  if (wants("api")) run_api_level(factory, options, results);
  if (wants("model")) run_model_level(factory, options, results);
  if (wants("process-crash")) run_process_crash_level(factory, options, results);
  if (wants("power-loss") || wants("ordering") || wants("corruption")) {
    if (!iotrace::interposition_works()) {
      results.check("power-loss", "the file-operation recorder is interposed", false,
                    "libraftkit_iotrace.so is not ahead of libc in this process: link it into the executable");
    } else {
      run_power_loss_levels(factory, options, results);
    }
  }
  if (wants("errors") && iotrace::interposition_works()) run_error_level(factory, options, results);
  if (wants("snapshots")) run_snapshot_level(factory, options, results);
  {
    std::string list;
    for (const std::string& f : options.non_durable_files) list += (list.empty() ? "" : ", ") + f;
    if (!list.empty()) results.note("declared non-durable (not checked): " + list);
  }
  Report report = results.finish(options.adapter_name);
  report.seed = options.seed;
  report.deep = options.deep;
  if (report.passed()) {
    remove_dir(options.work_dir);
  } else {
    report.notes.push_back("crash states of failures kept under " + options.work_dir);
  }
  return report;
}

int main_for(int argc, char** argv, const std::string& adapter_name, const AdapterFactory& factory,
             SuiteOptions options) {
  run_child_if_requested(argc, argv, factory);
  options.adapter_name = adapter_name;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](std::uint64_t lo, std::uint64_t hi) -> std::uint64_t {
      const std::string v = value();
      char* end = nullptr;
      const std::uint64_t n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0' || n < lo || n > hi) {
        std::fprintf(stderr, "%s takes a number from %llu to %llu, not %s\n", a.c_str(), static_cast<unsigned long long>(lo),
                     static_cast<unsigned long long>(hi), v.c_str());
        std::exit(2);
      }
      return n;
    };
    if (a == "--seed") {
      const std::string v = value();
      if (v == "random") {
        std::random_device device;
        options.seed = (static_cast<std::uint64_t>(device()) << 32 | device()) % 1000000000000ull;
      } else {
        char* end = nullptr;
        options.seed = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || v[0] == '-' || *end != '\0') {
          std::fprintf(stderr, "--seed takes a number or \"random\", not %s\n", v.c_str());
          return 2;
        }
      }
    } else if (a == "--seeds") {
      options.seeds = static_cast<int>(number(1, 100000));
    } else if (a == "--operations") {
      options.operations = number(1, 100000);
    } else if (a == "--deep") {
      options.deep = true;
    } else if (a == "--work-dir") {
      options.work_dir = value();
    } else if (a == "--non-durable") {
      options.non_durable_files.push_back(value());
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--levels") {
      options.levels.clear();
      std::string list = value();
      for (std::size_t pos = 0; pos <= list.size();) {
        const std::size_t comma = std::min(list.find(',', pos), list.size());
        options.levels.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seed S|random] [--seeds N] [--operations N] [--deep] [--levels api,model,process-crash,"
                   "power-loss,ordering,corruption,errors,snapshots] [--work-dir D] [--non-durable FILE] [--verbose]\n",
                   argv[0]);
      return 2;
    }
  }
  Report report = run_suite(factory, options);
  std::fputs(report.to_string().c_str(), stdout);
  return report.passed() ? 0 : 1;
}

}  // namespace raftkit::conformance
