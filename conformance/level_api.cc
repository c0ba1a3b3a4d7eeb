// Level "api": the written contract, call by call, error cases included. Each rule runs on a fresh directory.
#include <functional>

#include "conformance/suite_internal.h"

namespace raftkit::conformance {
namespace {

Entry entry(Index index, Term term, std::size_t size = 16, EntryKind kind = EntryKind::kNormal) {
  return Entry{index, term, kind, std::string(size, static_cast<char>('a' + index % 26))};
}

std::vector<Entry> entries(Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) out.push_back(entry(i, term));
  return out;
}

// Each check returns "" or what went wrong.
using Check = std::function<std::string(DurableLog& log, const std::function<std::unique_ptr<DurableLog>()>& reopen)>;

std::string expect_code(const Status& s, ErrorCode code, const std::string& what) {
  if (s.code() == code) return "";
  return what + ": expected " + error_code_name(code) + ", got " + s.to_string();
}

std::string expect_ok(const Status& s, const std::string& what) {
  return s.is_ok() ? "" : what + " failed: " + s.to_string();
}

std::string expect_entries(const DurableLog& log, const std::vector<Entry>& want, const std::string& what) {
  auto got = log.read(log.first_index(), log.last_index() + 1, UINT64_MAX);
  if (!got.is_ok()) return what + ": read failed: " + got.status().to_string();
  if (got.value() != want) return what + ": read back " + std::to_string(got.value().size()) + " entries, not the " +
                                  std::to_string(want.size()) + " written";
  return "";
}

#define TRY(expr)                 \
  do {                            \
    std::string _e = (expr);      \
    if (!_e.empty()) return _e;   \
  } while (0)

const std::vector<std::pair<const char*, Check>>& api_rules() {
  static const std::vector<std::pair<const char*, Check>> rules = {
      {"an empty log has first 1, last 0, term_at(0) = 0, nothing to read",
       [](DurableLog& log, auto&) -> std::string {
         if (log.first_index() != 1 || log.last_index() != 0) return "empty log reports first/last wrongly";
         if (!log.term_at(0).is_ok() || log.term_at(0).value() != 0) return "term_at(0) of an empty log is not 0";
         TRY(expect_code(log.term_at(1).status(), ErrorCode::kUnavailable, "term_at(1) of an empty log"));
         TRY(expect_code(log.read(1, 2, 100).status(), ErrorCode::kUnavailable, "read(1,2) of an empty log"));
         if (!(log.hard_state() == HardState{}) || !(log.snapshot_meta() == SnapshotMeta{})) return "fresh log has state";
         return "";
       }},
      {"appended entries read back exactly (terms, kinds, payloads up to 1 MiB)",
       [](DurableLog& log, auto&) -> std::string {
         std::vector<Entry> batch = {entry(1, 1, 10, EntryKind::kConfiguration), entry(2, 1, 0, EntryKind::kNoop),
                                     entry(3, 2, 1 << 20), entry(4, 2, 300)};
         TRY(expect_ok(log.append(batch), "append"));
         TRY(expect_entries(log, batch, "after append"));
         if (log.term_at(3).value() != 2) return "term_at(3) is wrong";
         return "";
       }},
      {"reads honour the byte limit and return at least one entry",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 10, 1)), "append"));
         const std::uint64_t one = entry_size(entry(1, 1));
         auto a = log.read(1, 11, 0), b = log.read(1, 11, 3 * one), c = log.read(4, 7, UINT64_MAX);
         if (!a.is_ok() || a.value().size() != 1) return "read with a 0-byte limit must return exactly one entry";
         if (!b.is_ok() || b.value().size() != 3) return "read limited to three entries' bytes did not return three";
         if (!c.is_ok() || c.value().size() != 3 || c.value().front().index != 4) return "read(4,7) is wrong";
         return "";
       }},
      {"reads outside the log give kCompacted, kUnavailable or kInvalidArgument",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 10, 1)), "append"));
         TRY(expect_ok(log.compact(SnapshotMeta{3, 1, {}}), "compact"));
         TRY(expect_code(log.read(2, 5, 100).status(), ErrorCode::kCompacted, "read below the snapshot point"));
         TRY(expect_code(log.read(5, 12, 100).status(), ErrorCode::kUnavailable, "read past the end"));
         TRY(expect_code(log.read(6, 5, 100).status(), ErrorCode::kInvalidArgument, "reversed range"));
         TRY(expect_code(log.term_at(2).status(), ErrorCode::kCompacted, "term_at below the snapshot point"));
         return "";
       }},
      {"non-contiguous appends are refused and change nothing",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 3, 2)), "append"));
         TRY(expect_code(log.append({entry(5, 2)}), ErrorCode::kInvalidArgument, "append with a hole"));
         TRY(expect_code(log.append({entry(3, 2)}), ErrorCode::kInvalidArgument, "overlapping append"));
         TRY(expect_code(log.append({entry(4, 2), entry(6, 2)}), ErrorCode::kInvalidArgument, "batch with a hole"));
         TRY(expect_entries(log, entries(1, 3, 2), "after refused appends"));
         return "";
       }},
      {"terms going backwards (or term 0) are refused",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 3, 2)), "append"));
         TRY(expect_code(log.append({entry(4, 1)}), ErrorCode::kInvalidArgument, "lower term than the last entry"));
         TRY(expect_code(log.append({entry(4, 3), entry(5, 2)}), ErrorCode::kInvalidArgument, "term decreasing in a batch"));
         TRY(expect_code(log.append({entry(4, 0)}), ErrorCode::kInvalidArgument, "term 0"));
         if (log.last_index() != 3) return "a refused append changed the log";
         return "";
       }},
      {"truncation removes the suffix (past the end removes nothing)",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 10, 1)), "append"));
         TRY(expect_ok(log.truncate_suffix(20), "truncate past the end"));
         if (log.last_index() != 10) return "truncating past the end removed entries";
         TRY(expect_ok(log.truncate_suffix(6), "truncate"));
         TRY(expect_entries(log, entries(1, 6, 1), "after truncation"));
         TRY(expect_ok(log.append(entries(7, 8, 3)), "append after truncation"));
         TRY(expect_ok(log.truncate_suffix(0), "truncate everything"));
         if (log.last_index() != 0) return "truncate_suffix(0) left entries";
         return "";
       }},
      {"one write truncates, appends and saves the hard state",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 5, 1)), "append"));
         LogWrite w;
         w.truncate_after = 3;
         w.entries = entries(4, 6, 2);
         w.hard_state = HardState{2, 7, 3};
         TRY(expect_ok(log.write(w), "combined write"));
         std::vector<Entry> want = entries(1, 3, 1);
         for (const Entry& e : entries(4, 6, 2)) want.push_back(e);
         TRY(expect_entries(log, want, "after combined write"));
         if (!(log.hard_state() == HardState{2, 7, 3})) return "hard state not saved by the combined write";
         LogWrite bad;
         bad.truncate_after = 2;
         bad.entries = {entry(7, 2)};
         TRY(expect_code(log.write(bad), ErrorCode::kInvalidArgument, "append not following the truncation point"));
         return "";
       }},
      {"a refused write changes nothing, in memory or on disk",
       [](DurableLog& log, auto& reopen) -> std::string {
         TRY(expect_ok(log.append(entries(1, 5, 1)), "append"));
         const HardState hs{1, 1, 2};
         TRY(expect_ok(log.save_hard_state(hs), "save hard state"));
         // Each is refused for one part while its other parts are valid alone: none of them may be applied.
         std::vector<std::pair<const char*, LogWrite>> refused(3);
         refused[0].first = "a truncation and a new term followed by an append with a hole";
         refused[0].second.truncate_after = 3;
         refused[0].second.entries = {entry(5, 2)};
         refused[0].second.hard_state = HardState{2, 1, 2};
         refused[1].first = "a truncation and an append with a commit going backwards";
         refused[1].second.truncate_after = 2;
         refused[1].second.entries = {entry(3, 2)};
         refused[1].second.hard_state = HardState{2, 1, 1};
         refused[2].first = "a new term and vote with an entry of term 0";
         refused[2].second.entries = {entry(6, 0)};
         refused[2].second.hard_state = HardState{2, 3, 2};
         auto unchanged = [&](const DurableLog& l, const std::string& when) -> std::string {
           TRY(expect_entries(l, entries(1, 5, 1), when));
           if (!(l.hard_state() == hs)) return when + ": the hard state changed";
           return "";
         };
         for (const auto& [what, w] : refused) {
           TRY(expect_code(log.write(w), ErrorCode::kInvalidArgument, what));
           TRY(unchanged(log, std::string("after refusing ") + what));
         }
         std::unique_ptr<DurableLog> again = reopen();
         if (!again) return "reopen failed";
         return unchanged(*again, "after refused writes and a reopen");
       }},
      {"hard state: term never backwards, one vote per term, commit never backwards",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.save_hard_state(HardState{3, 2, 0}), "save"));
         TRY(expect_code(log.save_hard_state(HardState{2, 2, 0}), ErrorCode::kInvalidArgument, "term backwards"));
         TRY(expect_code(log.save_hard_state(HardState{3, 5, 0}), ErrorCode::kInvalidArgument, "second vote in a term"));
         TRY(expect_ok(log.save_hard_state(HardState{3, 2, 4}), "commit forward"));
         TRY(expect_code(log.save_hard_state(HardState{3, 2, 1}), ErrorCode::kInvalidArgument, "commit backwards"));
         TRY(expect_ok(log.save_hard_state(HardState{4, kNoNode, 4}), "new term"));
         TRY(expect_ok(log.save_hard_state(HardState{4, 9, 4}), "vote in the new term"));
         if (!(log.hard_state() == HardState{4, 9, 4})) return "hard state not as saved";
         return "";
       }},
      {"compaction removes the prefix and records the snapshot point with its term",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 10, 1)), "append"));
         SnapshotMeta meta{4, 1, Configuration{{1, 2, 3}, {}, {4}}};
         TRY(expect_ok(log.compact(meta), "compact"));
         if (log.first_index() != 5 || log.last_index() != 10) return "first/last wrong after compaction";
         if (!(log.snapshot_meta() == meta)) return "snapshot metadata not as given";
         if (!log.term_at(4).is_ok() || log.term_at(4).value() != 1) return "term_at(snapshot point) must give its term";
         TRY(expect_entries(log, entries(5, 10, 1), "after compaction"));
         TRY(expect_code(log.truncate_suffix(3), ErrorCode::kCompacted, "truncating below the snapshot point"));
         TRY(expect_code(log.compact(SnapshotMeta{2, 1, {}}), ErrorCode::kInvalidArgument, "compacting backwards"));
         return "";
       }},
      {"compaction past the last index, or onto a different term, empties the log after it",
       [](DurableLog& log, auto&) -> std::string {
         TRY(expect_ok(log.append(entries(1, 8, 1)), "append"));
         TRY(expect_ok(log.compact(SnapshotMeta{5, 2, {}}), "compact onto a different term"));
         if (log.first_index() != 6 || log.last_index() != 5) return "log after a mismatching snapshot point survived";
         TRY(expect_ok(log.compact(SnapshotMeta{20, 3, Configuration{{1}, {}, {}}}), "compact past the end"));
         if (log.first_index() != 21 || log.last_index() != 20) return "first/last wrong after compaction past the end";
         TRY(expect_code(log.append({entry(22, 3)}), ErrorCode::kInvalidArgument, "append with a gap after the snapshot"));
         TRY(expect_ok(log.append({entry(21, 3)}), "append after the snapshot"));
         return "";
       }},
      {"everything survives close and reopen",
       [](DurableLog& log, auto& reopen) -> std::string {
         TRY(expect_ok(log.append(entries(1, 50, 1)), "append"));
         TRY(expect_ok(log.truncate_suffix(40), "truncate"));
         TRY(expect_ok(log.append(entries(41, 45, 2)), "append"));
         SnapshotMeta meta{10, 1, Configuration{{1, 2}, {}, {3}}};
         TRY(expect_ok(log.compact(meta), "compact"));
         TRY(expect_ok(log.save_hard_state(HardState{2, 1, 30}), "save hard state"));
         std::unique_ptr<DurableLog> again = reopen();
         if (!again) return "reopen failed";
         std::vector<Entry> want = entries(11, 40, 1);
         for (const Entry& e : entries(41, 45, 2)) want.push_back(e);
         TRY(expect_entries(*again, want, "after reopen"));
         if (!(again->hard_state() == HardState{2, 1, 30})) return "hard state lost across reopen";
         if (!(again->snapshot_meta() == meta)) return "snapshot metadata lost across reopen";
         return "";
       }},
  };
  return rules;
}

}  // namespace

void run_api_level(const AdapterFactory& factory, const SuiteOptions& options, Results& results) {
  int n = 0;
  for (const auto& [rule, check] : api_rules()) {
    const std::string dir = options.work_dir + "/api-" + std::to_string(n++);
    auto opened = factory(dir);
    if (!opened.is_ok()) {
      results.check("api", rule, false, "open " + dir + " failed: " + opened.status().to_string());
      continue;
    }
    std::unique_ptr<DurableLog> log = std::move(opened).value();
    std::string open_error;
    auto reopen = [&]() -> std::unique_ptr<DurableLog> {
      log.reset();  // close first: an adapter may lock its directory
      auto again = factory(dir);
      if (!again.is_ok()) {
        open_error = again.status().to_string();
        return nullptr;
      }
      return std::move(again).value();
    };
    std::string failure = check(*log, reopen);
    if (!open_error.empty()) failure += " (" + open_error + ")";
    results.check("api", rule, failure.empty(), failure + " [directory " + dir + "]");
    log.reset();
    if (failure.empty()) remove_dir(dir);
  }
}

}  // namespace raftkit::conformance
