// The checker against hand-made histories and against the shared reference data (Jepsen etcd runs and key-value
// histories with known verdicts, written by nobody on this project).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include "consensus/random.h"
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

TEST_CASE("lincheck: one failing key decides the history, however hard the others", "[lincheck]") {
  History h;
  // Key "k": appends all concurrent, read back in one order late; expensive to search, linearizable.
  std::string all;
  for (int i = 0; i < 14; ++i) {
    h.operations.push_back(op(i, OpKind::kAppend, "<" + std::to_string(i) + ">", 0, 1000));
    all += "<" + std::to_string(13 - i) + ">";
  }
  h.operations.push_back(op(99, OpKind::kRead, all, 2000, 2001));
  // Key "z-bad" (after "k" in key order): a stale read.
  for (Operation o : {op(1, OpKind::kWrite, "1", 0, 1), op(2, OpKind::kRead, std::nullopt, 2, 3)}) {
    o.key = "z-bad";
    h.operations.push_back(o);
  }
  CheckResult r = check(h, std::chrono::seconds(30));
  CHECK(r.verdict == Verdict::kNotLinearizable);
  CHECK(r.detail.rfind("key \"z-bad\"", 0) == 0);
  REQUIRE(r.partitions.size() == 2);
  CHECK(r.partitions[1].key == "z-bad");
  CHECK(r.partitions[1].verdict == Verdict::kNotLinearizable);
}

TEST_CASE("lincheck: a read in flight that no remaining write can satisfy ends the search", "[lincheck]") {
  // The read of "ab" overlaps the appends, but "b" was appended before "a" could be: ["b", "ba"], never "ab".
  CHECK(verdict_of({op(1, OpKind::kAppend, "b", 0, 1), op(2, OpKind::kAppend, "a", 2, 10),
                    op(3, OpKind::kRead, "ab", 3, 20)}) == Verdict::kNotLinearizable);
  // A write invoked at the instant the read returns is concurrent with it, so it may still come first.
  CHECK(verdict_of({op(1, OpKind::kWrite, "a", 0, 1), op(2, OpKind::kRead, "x", 2, 5),
                    op(3, OpKind::kWrite, "x", 5, 10)}) == Verdict::kLinearizable);
  // A write that may still come first makes it possible again.
  CHECK(verdict_of({op(1, OpKind::kAppend, "b", 0, 1), op(4, OpKind::kWrite, "a", 2, 30),
                    op(2, OpKind::kAppend, "b", 2, 40), op(3, OpKind::kRead, "ab", 3, 50)}) ==
        Verdict::kLinearizable);
}

TEST_CASE("lincheck: a memory bound answers unknown", "[lincheck]") {
  History h;
  for (int i = 0; i < 12; ++i) h.operations.push_back(op(i, OpKind::kAppend, std::to_string(i), 0, 1000));
  h.operations.push_back(op(99, OpKind::kRead, "never", 2000, 2001));
  CheckOptions options;
  options.memory_limit_bytes = 1;
  CheckResult r = check(h, options);
  CHECK(r.verdict == Verdict::kUnknown);
  CHECK(r.detail.find("memory limit") != std::string::npos);
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

namespace {

// A key-value history of the kind in Porcupine's test data: `clients` clients issue get, put and append on ten keys,
// each operation taking effect at a random instant within its interval, so the history is linearizable by
// construction. With `stale_read`, one get instead returns a value its key held at an instant when no operation on
// the key was in flight, before a state-changing operation that completed before the get began: no linearization can
// produce it (values are unique, so the key never holds it again).
struct GeneratedHistory {
  History history;
  std::string bad_key;  // with stale_read: the key of the stale get
};

GeneratedHistory generate_kv_history(std::uint32_t seed, int clients, int ops_per_client, bool stale_read) {
  raftkit::Random random(seed);
  struct Timed {
    Operation op;
    std::uint64_t effect;
  };
  std::vector<Timed> ops;
  for (int c = 0; c < clients; ++c) {
    std::uint64_t t = random.between(0, 2000);
    for (int i = 0; i < ops_per_client; ++i) {
      Operation o;
      o.client = c;
      o.key = std::to_string(random.below(10));
      const std::uint64_t roll = random.below(100);
      o.kind = roll < 45 ? OpKind::kAppend : roll < 90 ? OpKind::kRead : OpKind::kWrite;
      if (o.kind != OpKind::kRead) o.value = "x " + std::to_string(c) + " " + std::to_string(i) + " y";
      o.invoke = t;
      o.complete = t + random.between(2, 1000);
      ops.push_back({o, random.between(o.invoke + 1, o.complete - 1)});
      t = o.complete + random.between(1, 100);
    }
  }
  std::sort(ops.begin(), ops.end(), [](const Timed& a, const Timed& b) { return a.effect < b.effect; });
  std::map<std::string, std::string> state;
  for (Timed& t : ops) {
    std::string& v = state[t.op.key];
    if (t.op.kind == OpKind::kRead) t.op.value = v;
    if (t.op.kind == OpKind::kWrite) v = *t.op.value;
    if (t.op.kind == OpKind::kAppend) v += *t.op.value;
  }
  GeneratedHistory out;
  out.history.initial = "";
  if (stale_read) {
    // Value of a key at instant q if no operation on it is in flight then; replay in effect order up to q.
    auto quiet_value = [&](const std::string& key, std::uint64_t q) -> std::optional<std::string> {
      std::string v;
      for (const Timed& t : ops) {
        if (t.op.key != key) continue;
        if (t.op.invoke <= q && q <= t.op.complete) return std::nullopt;
        if (t.effect < q && t.op.kind == OpKind::kWrite) v = *t.op.value;
        if (t.effect < q && t.op.kind == OpKind::kAppend) v += *t.op.value;
      }
      return v;
    };
    for (int attempt = 0; attempt < 100000 && out.bad_key.empty(); ++attempt) {
      Timed& r = ops[random.below(ops.size())];
      if (r.op.kind != OpKind::kRead) continue;
      // A state-changing operation on the key that completed before r began, and a quiet instant before it began.
      for (const Timed& w : ops) {
        if (w.op.key != r.op.key || w.op.kind == OpKind::kRead || w.op.complete >= r.op.invoke) continue;
        if (w.op.invoke < 2) continue;
        std::optional<std::string> v = quiet_value(r.op.key, w.op.invoke - 1);
        if (!v || v == r.op.value) continue;
        r.op.value = *v;
        out.bad_key = r.op.key;
        break;
      }
    }
  }
  for (Timed& t : ops) out.history.operations.push_back(std::move(t.op));
  return out;
}

TEST_CASE("lincheck: generated 50-client key-value histories are decided, correct and with one stale read",
          "[lincheck][generated]") {
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    const GeneratedHistory ok = generate_kv_history(seed, 50, 40, false);
    CheckResult good = check(ok.history, std::chrono::seconds(30));
    INFO("seed " << seed << ": " << good.detail);
    CHECK(good.verdict == Verdict::kLinearizable);
    CHECK(good.partitions.size() == 10);

    const GeneratedHistory bad = generate_kv_history(seed, 50, 40, true);
    REQUIRE(!bad.bad_key.empty());
    CheckResult found = check(bad.history, std::chrono::seconds(30));
    INFO("seed " << seed << ": " << found.detail);
    CHECK(found.verdict == Verdict::kNotLinearizable);
    CHECK(found.detail.rfind("key \"" + bad.bad_key + "\"", 0) == 0);
    double slowest = 0;
    for (const PartitionReport& p : found.partitions) slowest = std::max(slowest, p.seconds);
    std::printf("lincheck: 50 clients, seed %u: linearizable history %zu operations in %.3f s searching; stale read "
                "on key %s found (slowest key %.3f s)\n",
                seed, good.operations, [&] {
                  double s = 0;
                  for (const PartitionReport& p : good.partitions) s += p.seconds;
                  return s;
                }(), bad.bad_key.c_str(), slowest);
  }
}

}  // namespace
