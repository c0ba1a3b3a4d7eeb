// Fuzz target: the linearizability checker's history parsers (Jepsen logs, EDN, JSON lines), which read files
// written by other tools. Whatever the text, parsing must not crash or throw; a history that parses must survive a
// round trip through JSON lines unchanged; and the checker must give a verdict on any small history it is handed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/lincheck/checker.h"
#include "tests/lincheck/history.h"

using namespace raftkit::lincheck;

namespace {

void check_parsed(const raftkit::Result<History>& parsed) {
  if (!parsed.is_ok()) return;
  const History& h = parsed.value();
  const std::string once = to_json_lines(h);
  auto again = parse_json_lines(once);
  if (!again.is_ok() || to_json_lines(again.value()) != once) std::abort();
  for (const Operation& op : h.operations) (void)describe(op);
  if (h.operations.size() <= 12) (void)check(h, std::chrono::milliseconds(50));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_parsed(parse_history(text));
  check_parsed(parse_jepsen_log(text));
  check_parsed(parse_edn_kv(text));
  check_parsed(parse_json_lines(text));
  return 0;
}
