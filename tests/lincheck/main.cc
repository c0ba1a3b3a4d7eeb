// raftkit-lincheck: checks history files for linearizability.
//
//   raftkit-lincheck [--budget-ms N] FILE...
//
// Formats (detected per file): Jepsen register logs, EDN key-value histories, raftkit JSON lines. Prints one
// verdict per file. Exit status: 0 all linearizable, 1 some not linearizable, 2 unknown (budget) or unreadable.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/lincheck/checker.h"

int main(int argc, char** argv) {
  using namespace raftkit::lincheck;
  long budget_ms = 10000;
  int worst = 0;
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--budget-ms" && i + 1 < argc) {
      budget_ms = std::stol(argv[++i]);
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::puts("usage: raftkit-lincheck [--budget-ms N] FILE...");
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
    CheckResult r = check(history.value(), std::chrono::milliseconds(budget_ms));
    std::printf("%s\t%s\t%zu operations\t%zu keys%s%s\n", arg.c_str(), verdict_name(r.verdict), r.operations, r.keys,
                r.detail.empty() ? "" : "\t", r.detail.c_str());
    const int code = r.verdict == Verdict::kLinearizable ? 0 : r.verdict == Verdict::kNotLinearizable ? 1 : 2;
    if (code == 2 || (code == 1 && worst == 0)) worst = code;
  }
  if (files == 0) {
    std::fputs("usage: raftkit-lincheck [--budget-ms N] FILE...\n", stderr);
    return 2;
  }
  return worst;
}
