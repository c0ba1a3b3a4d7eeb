// raftkit-lincheck: checks history files for linearizability.
//
//   raftkit-lincheck [--budget-ms N] [--threads N] [--memory-mb N] [--partitions] FILE...
//
// Formats (detected per file): Jepsen register logs, EDN key-value histories, raftkit JSON lines. Prints one
// verdict line per file (last, after the per-key lines that --partitions asks for: operations, verdict, search
// steps, seconds and memo size of each key). Exit status: 0 all linearizable, 1 some not linearizable, 2 unknown
// (budget or memory) or unreadable.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/lincheck/checker.h"

namespace {

constexpr const char* kUsage =
    "usage: raftkit-lincheck [--budget-ms N] [--threads N] [--memory-mb N] [--partitions] FILE...";

bool parse_number(const char* text, unsigned long long& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return errno == 0 && end != text && *end == '\0' && text[0] != '-';
}

}  // namespace

int main(int argc, char** argv) {
  using namespace raftkit::lincheck;
  CheckOptions options;
  bool partitions = false;
  int worst = 0;
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--budget-ms" || arg == "--threads" || arg == "--memory-mb") {
      unsigned long long n = 0;
      if (i + 1 >= argc || !parse_number(argv[i + 1], n)) {
        std::fprintf(stderr, "%s needs a non-negative number\n%s\n", arg.c_str(), kUsage);
        return 2;
      }
      ++i;
      if (arg == "--budget-ms") options.budget = std::chrono::milliseconds(n);
      if (arg == "--threads") options.threads = static_cast<unsigned>(std::min<unsigned long long>(n, 256));
      if (arg == "--memory-mb") options.memory_limit_bytes = static_cast<std::size_t>(std::min(n, 1ull << 40) << 20);
      continue;
    }
    if (arg == "--partitions") {
      partitions = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::puts(kUsage);
      return 0;
    }
    ++files;
    std::ifstream in(arg);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", arg.c_str());
      worst = 2;
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto history = parse_history(text.str());
    if (!history.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", arg.c_str(), history.status().to_string().c_str());
      worst = 2;
      continue;
    }
    CheckResult r = check(history.value(), options);
    double seconds = 0;
    for (const PartitionReport& p : r.partitions) {
      seconds += p.seconds;
      if (partitions) {
        std::printf("  key %s\t%zu operations\t%s\t%llu steps\t%.3f s\t%.1f MiB\n", p.key.c_str(), p.operations,
                    verdict_name(p.verdict), static_cast<unsigned long long>(p.steps), p.seconds,
                    static_cast<double>(p.memo_bytes) / (1 << 20));
      }
    }
    std::printf("%s\t%s\t%zu operations\t%zu keys\t%.3f s searching%s%s\n", arg.c_str(), verdict_name(r.verdict),
                r.operations, r.keys, seconds, r.detail.empty() ? "" : "\t", r.detail.c_str());
    const int code = r.verdict == Verdict::kLinearizable ? 0 : r.verdict == Verdict::kNotLinearizable ? 1 : 2;
    if (code == 2 || (code == 1 && worst == 0)) worst = code;
  }
  if (files == 0) {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  return worst;
}
