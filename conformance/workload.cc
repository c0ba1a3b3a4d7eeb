#include "conformance/workload.h"

#include <algorithm>
#include <functional>

#include "consensus/random.h"

namespace raftkit::conformance {
namespace {

std::string payload_for(std::uint64_t seed, Index index, Term term, std::size_t size) {
  Random r(seed * 0x9e3779b97f4a7c15ull ^ (index << 20) ^ term);
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t v = r.next();
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

Term last_term(const ModelLog& m) { return m.entries.empty() ? m.meta.last_term : m.entries.back().term; }
Index last_index(const ModelLog& m) { return m.entries.empty() ? m.meta.last_index : m.entries.back().index; }

std::string describe_hs(const HardState& hs) {
  return "{term " + std::to_string(hs.term) + ", vote " + std::to_string(hs.voted_for) + ", commit " +
         std::to_string(hs.commit) + "}";
}

bool same_meta(const SnapshotMeta& a, const SnapshotMeta& b) { return a == b; }

}  // namespace

std::string WorkOp::describe() const {
  if (is_compaction) return "compact to " + std::to_string(meta.last_index) + "/" + std::to_string(meta.last_term);
  std::string s = "write";
  if (write.truncate_after) s += " truncate>" + std::to_string(*write.truncate_after);
  if (!write.entries.empty()) {
    s += " append " + std::to_string(write.entries.front().index) + ".." + std::to_string(write.entries.back().index);
  }
  if (write.hard_state) s += " hard state " + describe_hs(*write.hard_state);
  return s;
}

ModelEntry model_of(const Entry& e) {
  return ModelEntry{e.index, e.term, e.kind, std::hash<std::string>()(e.payload), e.payload.size()};
}

void apply(ModelLog& log, const WorkOp& op) {
  if (op.is_compaction) {
    const SnapshotMeta& meta = op.meta;
    if (meta.last_index == log.meta.last_index) {
      log.meta = meta;
      return;
    }
    const bool holds = meta.last_index <= last_index(log) && meta.last_index > log.meta.last_index &&
                       log.entries[meta.last_index - log.meta.last_index - 1].term == meta.last_term;
    if (holds) {
      log.entries.erase(log.entries.begin(), log.entries.begin() + static_cast<std::ptrdiff_t>(meta.last_index - log.meta.last_index));
    } else {
      log.entries.clear();
    }
    log.meta = meta;
    return;
  }
  const LogWrite& w = op.write;
  if (w.truncate_after) {
    while (!log.entries.empty() && log.entries.back().index > *w.truncate_after) log.entries.pop_back();
  }
  for (const Entry& e : w.entries) log.entries.push_back(model_of(e));
  if (w.hard_state) log.hard_state = *w.hard_state;
}

std::vector<WorkOp> generate_workload(std::uint64_t seed, std::size_t count) {
  Random r(seed);
  ModelLog m;
  std::vector<WorkOp> ops;
  auto entries_from = [&](Index first, Term term) {
    std::vector<Entry> out;
    std::size_t bytes = 0;
    const std::size_t n = 1 + r.below(12);
    for (std::size_t i = 0; i < n && bytes < (1u << 20); ++i) {
      std::size_t size = r.below(300);
      if (r.chance(40000)) size = 65536 + r.below((1u << 20) - 65536);  // a big entry now and then
      size = std::min(size, (1u << 20) - bytes);
      bytes += size;
      const auto kind = r.chance(100000) ? EntryKind::kNoop : EntryKind::kNormal;
      out.push_back(Entry{first + i, term, kind, payload_for(seed, first + i, term, size)});
    }
    return out;
  };
  while (ops.size() < count) {
    WorkOp op;
    const std::uint64_t pick = r.below(100);
    const Term term = std::max(m.hard_state.term, last_term(m));
    if (pick < 45 || last_index(m) == m.meta.last_index) {
      op.write.entries = entries_from(last_index(m) + 1, std::max<Term>(term, 1));
      if (r.chance(300000)) {
        HardState hs = m.hard_state;
        hs.term = std::max<Term>(hs.term, op.write.entries.back().term);
        hs.commit = std::max(hs.commit, last_index(m));
        op.write.hard_state = hs;
      }
    } else if (pick < 60) {
      HardState hs = m.hard_state;
      const std::uint64_t what = r.below(3);
      if (what == 0 || hs.term == 0) {
        hs.term = term + 1;
        hs.voted_for = r.chance(500000) ? kNoNode : 1 + r.below(5);
      } else if (what == 1 && hs.voted_for == kNoNode) {
        hs.voted_for = 1 + r.below(5);
      } else {
        hs.commit = std::max(hs.commit, m.meta.last_index + r.below(last_index(m) - m.meta.last_index + 1));
      }
      op.write.hard_state = hs;
    } else if (pick < 80) {
      const Index span = last_index(m) - m.meta.last_index;
      const Index keep = m.meta.last_index + r.below(span + 1);
      op.write.truncate_after = keep;
      HardState hs = m.hard_state;
      hs.term = term + 1;
      hs.voted_for = kNoNode;
      op.write.entries = entries_from(keep + 1, hs.term);
      op.write.hard_state = hs;
    } else {
      const Index span = last_index(m) - m.meta.last_index;
      if (r.chance(100000)) {
        op.is_compaction = true;
        op.meta.last_index = last_index(m) + 1 + r.below(5);
        op.meta.last_term = std::max<Term>(term, 1) + 1;
      } else {
        op.is_compaction = true;
        op.meta.last_index = m.meta.last_index + 1 + r.below(span);
        op.meta.last_term = m.entries[op.meta.last_index - m.meta.last_index - 1].term;
      }
      op.meta.configuration.voters = {1, 2, 3};
      if (r.chance(300000)) op.meta.configuration.learners = {4};
    }
    apply(m, op);
    ops.push_back(std::move(op));
  }
  return ops;
}

Result<ModelLog> read_model(const DurableLog& log) {
  ModelLog m;
  m.meta = log.snapshot_meta();
  m.hard_state = log.hard_state();
  if (log.first_index() != m.meta.last_index + 1) {
    return Status(ErrorCode::kCorruption, "first_index " + std::to_string(log.first_index()) +
                                              " does not follow the snapshot point " + std::to_string(m.meta.last_index));
  }
  for (Index next = log.first_index(); next <= log.last_index();) {
    Result<std::vector<Entry>> page = log.read(next, log.last_index() + 1, 4u << 20);
    if (!page.is_ok()) return page.status();
    if (page.value().empty()) return Status(ErrorCode::kCorruption, "read returned no entries at " + std::to_string(next));
    for (const Entry& e : page.value()) {
      if (e.index != next) return Status(ErrorCode::kCorruption, "read returned entry " + std::to_string(e.index) + " for " + std::to_string(next));
      Result<Term> t = log.term_at(e.index);
      if (!t.is_ok() || t.value() != e.term) {
        return Status(ErrorCode::kCorruption, "term_at(" + std::to_string(e.index) + ") disagrees with read");
      }
      m.entries.push_back(model_of(e));
      ++next;
    }
  }
  return m;
}

std::string verify_recovery(const ModelLog& recovered, const std::vector<WorkOp>& ops, std::size_t acked,
                            bool in_flight) {
  ModelLog before;
  for (std::size_t i = 0; i < acked; ++i) apply(before, ops[i]);
  std::vector<ModelLog> candidates = {before};
  const WorkOp* pending = in_flight && acked < ops.size() ? &ops[acked] : nullptr;
  if (pending) {
    if (pending->is_compaction) {
      ModelLog after = before;
      apply(after, *pending);
      candidates.push_back(after);
    } else {
      // Truncation, then any prefix of the entries; the hard state only with all of them.
      ModelLog partial = before;
      WorkOp truncation;
      truncation.write.truncate_after = pending->write.truncate_after;
      apply(partial, truncation);
      candidates.push_back(partial);
      for (const Entry& e : pending->write.entries) {
        partial.entries.push_back(model_of(e));
        candidates.push_back(partial);
      }
      if (pending->write.hard_state) {
        partial.hard_state = *pending->write.hard_state;
        candidates.push_back(partial);
      }
    }
  }
  for (const ModelLog& c : candidates) {
    if (same_meta(c.meta, recovered.meta) && c.hard_state == recovered.hard_state && c.entries == recovered.entries) {
      return "";
    }
  }
  // Not an allowed state: name the most specific rule broken.
  const std::string at = " (after " + std::to_string(acked) + " acknowledged operations" +
                         (pending ? ", with \"" + pending->describe() + "\" in flight)" : ")");
  bool hs_ok = false, meta_ok = false;
  for (const ModelLog& c : candidates) {
    hs_ok = hs_ok || c.hard_state == recovered.hard_state;
    meta_ok = meta_ok || same_meta(c.meta, recovered.meta);
  }
  if (!hs_ok) {
    if (recovered.hard_state.term == before.hard_state.term && before.hard_state.voted_for != kNoNode &&
        recovered.hard_state.voted_for != before.hard_state.voted_for) {
      return std::string(kRuleVote) + ": recovered " + describe_hs(recovered.hard_state) + ", acknowledged " +
             describe_hs(before.hard_state) + at;
    }
    return std::string(kRuleHardState) + ": recovered " + describe_hs(recovered.hard_state) + ", acknowledged " +
           describe_hs(before.hard_state) + at;
  }
  if (!meta_ok) {
    return std::string(kRuleCompaction) + ": recovered snapshot point " + std::to_string(recovered.meta.last_index) +
           "/" + std::to_string(recovered.meta.last_term) + ", acknowledged " + std::to_string(before.meta.last_index) + at;
  }
  const Index rec_last = recovered.entries.empty() ? recovered.meta.last_index : recovered.entries.back().index;
  const Index ack_last = last_index(before);
  std::size_t same = 0;
  while (same < recovered.entries.size() && same < before.entries.size() && recovered.entries[same] == before.entries[same]) ++same;
  const std::string shape = ": recovered " + std::to_string(recovered.entries.size()) + " entries through " +
                            std::to_string(rec_last) + ", acknowledged through " + std::to_string(ack_last) +
                            ", first difference at entry " + std::to_string(recovered.meta.last_index + 1 + same);
  if (pending && !pending->is_compaction && pending->write.truncate_after) return std::string(kRuleTruncate) + shape + at;
  return std::string(kRuleEntries) + shape + at;
}

}  // namespace raftkit::conformance
