// The checker against hand-made histories and against the shared reference data (Jepsen etcd runs and key-value
// histories with known verdicts, written by nobody on this project).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/lincheck/checker.h"

namespace {

using namespace raftkit::lincheck;
namespace fs = std::filesystem;

Operation op(int client, OpKind kind, std::optional<std::string> value, std::uint64_t invoke, std::uint64_t complete,
             Outcome outcome = Outcome::kOk, std::optional<std::string> expected = std::nullopt) {
  Operation o;
  o.client = client;
  o.key = "k";
  o.kind = kind;
  o.value = std::move(value);
  o.expected = std::move(expected);
  o.invoke = invoke;
  o.complete = complete;
  o.outcome = outcome;
  return o;
}

Verdict verdict_of(std::vector<Operation> ops) {
  History h;
  h.operations = std::move(ops);
  return check(h).verdict;
}

TEST_CASE("lincheck: sequential and concurrent basics", "[lincheck]") {
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 1), op(2, OpKind::kRead, "1", 2, 3)}) == Verdict::kLinearizable);
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 1), op(2, OpKind::kRead, std::nullopt, 2, 3)}) ==
        Verdict::kNotLinearizable);  // stale read after the write completed
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 10), op(2, OpKind::kRead, std::nullopt, 2, 3),
                    op(3, OpKind::kRead, "1", 4, 5)}) == Verdict::kLinearizable);  // concurrent with the write
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 10), op(2, OpKind::kRead, "1", 2, 3),
                    op(3, OpKind::kRead, std::nullopt, 4, 5)}) == Verdict::kNotLinearizable);  // value went back
}

TEST_CASE("lincheck: compare-and-set, failed and unknown outcomes", "[lincheck]") {
  // A failed cas means the value was not `expected` at some point during it.
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 1), op(2, OpKind::kCas, "2", 2, 3, Outcome::kFail, "1")}) ==
        Verdict::kNotLinearizable);
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, 1), op(2, OpKind::kCas, "2", 2, 3, Outcome::kOk, "1"),
                    op(3, OpKind::kRead, "2", 4, 5)}) == Verdict::kLinearizable);
  // A write of unknown outcome may take effect late...
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, kNever, Outcome::kUnknown), op(2, OpKind::kRead, std::nullopt, 2, 3),
                    op(3, OpKind::kRead, "1", 40, 50)}) == Verdict::kLinearizable);
  // ...or never.
  CHECK(verdict_of({op(1, OpKind::kWrite, "1", 0, kNever, Outcome::kUnknown),
                    op(2, OpKind::kRead, std::nullopt, 20, 30)}) == Verdict::kLinearizable);
  // But not before it was invoked.
  CHECK(verdict_of({op(2, OpKind::kRead, "1", 0, 3), op(1, OpKind::kWrite, "1", 5, kNever, Outcome::kUnknown)}) ==
        Verdict::kNotLinearizable);
}

TEST_CASE("lincheck: histories are split by key", "[lincheck]") {
  History h;
  Operation a = op(1, OpKind::kWrite, "1", 0, 1);
  Operation b = op(2, OpKind::kRead, std::nullopt, 2, 3);
  b.key = "other";
  h.operations = {a, b};
  CheckResult r = check(h);
  CHECK(r.verdict == Verdict::kLinearizable);
  CHECK(r.keys == 2);
}

TEST_CASE("lincheck: JSON lines round trip", "[lincheck]") {
  History h;
  h.initial = "";
  h.operations = {op(1, OpKind::kCas, "2", 5, 9, Outcome::kFail, "1"), op(2, OpKind::kWrite, "x", 6, kNever, Outcome::kUnknown)};
  auto back = parse_history(to_json_lines(h));
  REQUIRE(back.is_ok());
  REQUIRE(back.value().operations.size() == 2);
  CHECK(back.value().initial == std::optional<std::string>(""));
  CHECK(back.value().operations[0].expected == std::optional<std::string>("1"));
  CHECK(back.value().operations[1].complete == kNever);
}

TEST_CASE("lincheck: a time budget answers unknown instead of hanging", "[lincheck]") {
  // Many concurrent writes and reads whose values force a wide search.
  History h;
  for (int i = 0; i < 60; ++i) h.operations.push_back(op(i, OpKind::kWrite, std::to_string(i), 0, 1000));
  for (int i = 0; i < 60; ++i) h.operations.push_back(op(100 + i, OpKind::kRead, std::to_string(59 - i), 1, 999));
  h.operations.push_back(op(999, OpKind::kRead, "never-written", 1001, 1002));
  CheckResult r = check(h, std::chrono::milliseconds(200));
  CHECK(r.verdict != Verdict::kLinearizable);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_CASE("lincheck: agrees with every verdict in the shared reference data", "[lincheck][reference]") {
  const fs::path root = fs::path(RAFTKIT_SOURCE_DIR) / ".." / "shared" / "data" / "linearizability";
  if (!fs::exists(root)) {
    WARN("SKIPPED: reference histories not found at " << root.string()
                                                      << " (they ship beside the project, not in a user's clone)");
    return;
  }
  int checked = 0;
  std::ifstream verdicts(root / "jepsen-etcd" / "VERDICTS.tsv");
  std::string file, expected;
  while (verdicts >> file >> expected) {
    auto h = parse_history(read_file(root / "jepsen-etcd" / file));
    REQUIRE(h.is_ok());
    CheckResult r = check(h.value(), std::chrono::seconds(60));
    INFO(file << ": " << r.detail);
    CHECK(std::string(verdict_name(r.verdict)) == expected);
    ++checked;
  }
  for (const auto& entry : fs::directory_iterator(root / "kv")) {
    const std::string name = entry.path().filename().string();
    auto h = parse_history(read_file(entry.path()));
    REQUIRE(h.is_ok());
    CheckResult r = check(h.value(), std::chrono::seconds(60));
    INFO(name << ": " << r.detail);
    const bool expect_ok = name.find("-ok") != std::string::npos;
    CHECK(r.verdict == (expect_ok ? Verdict::kLinearizable : Verdict::kNotLinearizable));
    ++checked;
  }
  CHECK(checked == 74);
}

}  // namespace
