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

Index model_last_index(const ModelLog& m) { return last_index(m); }
Term model_last_term(const ModelLog& m) { return last_term(m); }

std::vector<WorkOp> generate_boundary_workload(std::uint64_t seed, std::size_t count, BoundaryShape shape,
                                              std::size_t* long_log_from) {
  Random r(seed ^ 0xb0da5);
  ModelLog m;
  std::vector<WorkOp> ops;
  std::uint64_t salt = 0;  // each batch's payloads differ from every earlier batch's at the same index and term
  auto entries_from = [&](Index first, Term term, std::size_t n, std::size_t max_size) {
    std::vector<Entry> out;
    ++salt;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t size = r.below(max_size + 1);
      const auto kind = r.chance(50000) ? EntryKind::kNoop : (r.chance(30000) ? EntryKind::kConfiguration : EntryKind::kNormal);
      out.push_back(Entry{first + i, term, kind, payload_for(seed ^ (salt << 32), first + i, term, size)});
    }
    return out;
  };
  // A batch of one entry, a few, dozens, or several MiB in one write.
  auto some_entries = [&](Index first, Term term) {
    const std::uint64_t dice = r.below(100);
    if (dice < 25) return entries_from(first, term, 1, 200);
    if (dice < 75) return entries_from(first, term, 2 + r.below(10), 400);
    if (dice < 93) return entries_from(first, term, 20 + r.below(80), 2000);
    if (!shape.big_batches) return entries_from(first, term, 4 + r.below(8), 64u << 10);
    return entries_from(first, term, 8 + r.below(16), 512u << 10);  // 2-6 MiB on average
  };
  auto next_term = [&]() { return std::max({m.hard_state.term, last_term(m), Term{1}}); };
  auto push = [&](WorkOp op) {
    apply(m, op);
    ops.push_back(std::move(op));
  };
  std::size_t long_at = shape.long_log ? count / 2 : SIZE_MAX;
  if (long_log_from != nullptr) *long_log_from = SIZE_MAX;
  // Once per workload, whatever the dice say: each edge in turn.
  auto tour = [&]() {
    auto write = [&](std::optional<Index> truncate, std::size_t n, std::optional<HardState> hs) {
      WorkOp op;
      op.write.truncate_after = truncate;
      if (n > 0) op.write.entries = entries_from(std::min(last_index(m), truncate.value_or(last_index(m))) + 1, next_term(), n, 300);
      op.write.hard_state = hs;
      push(std::move(op));
    };
    auto compact = [&](Index at, Term term) {
      WorkOp op;
      op.is_compaction = true;
      op.meta.last_index = at;
      op.meta.last_term = std::max(term, m.meta.last_term);
      op.meta.configuration.voters = {1, 2, 3};
      push(std::move(op));
    };
    write(std::nullopt, 6, std::nullopt);
    if (shape.big_batches) {
      WorkOp big;  // 8 MiB in one write: an engine that writes it in pieces can run out of space part-way
      big.write.entries = entries_from(last_index(m) + 1, next_term(), 8, 0);
      for (Entry& e : big.write.entries) e.payload = payload_for(seed ^ (++salt << 32), e.index, e.term, 1u << 20);
      push(std::move(big));
    }
    compact(m.meta.last_index + 2, m.entries[1].term);
    write(m.meta.last_index, 0, std::nullopt);  // truncate to exactly the snapshot point
    write(std::nullopt, 5, std::nullopt);
    write(last_index(m), 0, std::nullopt);  // truncate at the last index: nothing goes
    write(std::nullopt, 0, std::nullopt);   // an empty write
    compact(last_index(m), last_term(m));   // compact at the last index
    HardState hs = m.hard_state;
    hs.term = next_term() + 1;
    hs.voted_for = 2;
    hs.commit = std::max(hs.commit, m.meta.last_index);
    write(std::nullopt, 0, hs);  // a hard-state-only write right after a compaction
    write(std::nullopt, 3, std::nullopt);
    compact(last_index(m) + 3, next_term());  // compact beyond the last index
    write(std::nullopt, 0, std::nullopt);
    write(std::nullopt, 2, std::nullopt);
  };
  std::size_t tour_at = count / 4;
  while (ops.size() < count) {
    if (ops.size() >= tour_at) {
      tour_at = SIZE_MAX;
      tour();
      continue;
    }
    if (ops.size() >= long_at) {
      long_at = SIZE_MAX;
      if (long_log_from != nullptr) *long_log_from = ops.size();
      // The long log: about 4,000 entries of up to 12 KiB, in batches of 128.
      for (std::size_t b = 0; b < kLongLogWrites; ++b) {
        WorkOp op;
        op.write.entries = entries_from(last_index(m) + 1, next_term(), 128, 12u << 10);
        push(std::move(op));
      }
      continue;
    }
    WorkOp op;
    const Index snap = m.meta.last_index;
    const Index last = last_index(m);
    const std::uint64_t pick = r.below(100);
    if (pick < 30 || last == snap) {
      op.write.entries = some_entries(last + 1, next_term());
      if (r.chance(250000)) {
        HardState hs = m.hard_state;
        hs.term = std::max(hs.term, op.write.entries.back().term);
        hs.commit = std::max(hs.commit, last);
        op.write.hard_state = hs;
      }
    } else if (pick < 42) {
      HardState hs = m.hard_state;
      const std::uint64_t what = r.below(3);
      if (what == 0 || hs.term == 0) {
        hs.term = next_term() + 1;
        hs.voted_for = r.chance(400000) ? kNoNode : 1 + r.below(5);
      } else if (what == 1 && hs.voted_for == kNoNode) {
        hs.voted_for = 1 + r.below(5);
      } else {
        hs.commit = std::max(hs.commit, snap + r.below(last - snap + 1));
      }
      op.write.hard_state = hs;
    } else if (pick < 46) {
      // An empty write: must succeed and change nothing.
    } else if (pick < 66) {
      // Truncate at a boundary: the snapshot point, just after it, just before or at the last index, past the end,
      // or anywhere; then (usually) append at the same indices, under the same or a new term.
      const Index candidates[] = {snap, snap + 1, last > snap ? last - 1 : snap, last, last + 1 + r.below(4),
                                  snap + r.below(last - snap + 1)};
      const Index at = std::max(snap, candidates[r.below(6)]);
      op.write.truncate_after = at;
      const Index keep = std::min(at, last);
      if (!r.chance(350000)) {
        const Term before = keep == snap ? m.meta.last_term : m.entries[keep - snap - 1].term;
        const bool same_term = r.chance(400000) && before >= m.hard_state.term;
        Term term = same_term ? std::max<Term>(before, 1) : next_term() + 1;
        if (!same_term) {
          HardState hs = m.hard_state;
          hs.term = term;
          hs.voted_for = kNoNode;
          op.write.hard_state = hs;
        }
        op.write.entries = some_entries(keep + 1, term);
      }
    } else if (pick < 86) {
      op.is_compaction = true;
      const std::uint64_t where = r.below(6);
      if (where == 0) {
        op.meta = m.meta;  // the current point again, with another configuration
      } else if (where == 1) {
        op.meta.last_index = snap + 1;
      } else if (where == 2) {
        op.meta.last_index = last;
      } else if (where == 3) {
        op.meta.last_index = last + 1 + r.below(3);
        op.meta.last_term = next_term() + r.below(2);
      } else {
        op.meta.last_index = snap + 1 + r.below(last - snap);
      }
      if (op.meta.last_index > snap && op.meta.last_index <= last) {
        op.meta.last_term = m.entries[op.meta.last_index - snap - 1].term;
        if (r.chance(150000)) op.meta.last_term += 1;  // onto another term: the log after it goes too
      }
      op.meta.last_term = std::max(op.meta.last_term, m.meta.last_term);
      if (op.meta.last_index > 0) op.meta.last_term = std::max<Term>(op.meta.last_term, 1);
      op.meta.configuration.voters = {1, 2, 3};
      if (r.chance(400000)) op.meta.configuration.learners = {4 + r.below(3)};
      if (r.chance(200000)) op.meta.configuration.metadata = "members " + std::to_string(r.below(1000));
    } else {
      // A hard-state-only write right after a compaction, or a lone vote in a new term.
      HardState hs = m.hard_state;
      hs.term = next_term() + 1;
      hs.voted_for = 1 + r.below(5);
      hs.commit = std::max(hs.commit, snap);
      if (!ops.empty() && ops.back().is_compaction) {
        op.write.hard_state = hs;
      } else {
        op.is_compaction = true;
        op.meta.last_index = snap + (last > snap ? 1 + r.below(last - snap) : 0);
        op.meta.last_term = op.meta.last_index == snap ? m.meta.last_term : m.entries[op.meta.last_index - snap - 1].term;
        op.meta.last_term = std::max(op.meta.last_term, m.meta.last_term);
        op.meta.configuration.voters = {1, 2, 3};
        push(std::move(op));
        if (ops.size() >= count) break;
        op = WorkOp{};
        op.write.hard_state = hs;
      }
    }
    push(std::move(op));
  }
  return ops;
}

Result<ModelLog> read_model(const DurableLog& log) {
  ModelLog m;
  m.meta = log.snapshot_meta();
  m.hard_state = log.hard_state();
  if (log.first_index() != m.meta.last_index + 1) {
    return Status(ErrorCode::kCorruption, kSelfContradiction + std::string("first_index ") + std::to_string(log.first_index()) +
                                              " does not follow the snapshot point " + std::to_string(m.meta.last_index));
  }
  for (Index next = log.first_index(); next <= log.last_index();) {
    Result<std::vector<Entry>> page = log.read(next, log.last_index() + 1, 4u << 20);
    if (!page.is_ok()) return page.status();
    if (page.value().empty()) return Status(ErrorCode::kCorruption, kSelfContradiction + std::string("read returned no entries at ") + std::to_string(next));
    for (const Entry& e : page.value()) {
      if (e.index != next) return Status(ErrorCode::kCorruption, kSelfContradiction + std::string("read returned entry ") + std::to_string(e.index) + " for " + std::to_string(next));
      Result<Term> t = log.term_at(e.index);
      if (!t.is_ok() || t.value() != e.term) {
        return Status(ErrorCode::kCorruption, kSelfContradiction + std::string("term_at(") + std::to_string(e.index) + ") disagrees with read");
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
  const HardState* written = pending && !pending->is_compaction && pending->write.hard_state
                                 ? &*pending->write.hard_state
                                 : nullptr;
  if (written != nullptr && written->term != before.hard_state.term) {
    // A new term and its vote: one of them recovered without the other (either order of writing them).
    const bool new_term_old_vote = recovered.hard_state.term == written->term &&
                                   recovered.hard_state.voted_for != written->voted_for;
    const bool old_term_new_vote = recovered.hard_state.term == before.hard_state.term &&
                                   recovered.hard_state.voted_for == written->voted_for &&
                                   written->voted_for != before.hard_state.voted_for;
    if (new_term_old_vote || old_term_new_vote) {
      return std::string(kRuleTermVote) + ": recovered " + describe_hs(recovered.hard_state) + ", written " +
             describe_hs(*written) + " over " + describe_hs(before.hard_state) + at;
    }
  }
  const ModelLog& whole = candidates.back();  // with a hard state in flight: the write complete
  // The log itself is one the crash may leave, only the hard state came too early.
  const bool allowed_log = std::any_of(candidates.begin(), candidates.end(), [&](const ModelLog& c) {
    return same_meta(c.meta, recovered.meta) && c.entries == recovered.entries;
  });
  if (written != nullptr && recovered.hard_state == *written && !(before.hard_state == recovered.hard_state) &&
      !pending->write.entries.empty() && allowed_log) {
    const Index rec_last = recovered.entries.empty() ? recovered.meta.last_index : recovered.entries.back().index;
    return std::string(kRuleHardStateOrder) + ": recovered the in-flight write's hard state " +
           describe_hs(recovered.hard_state) + " with the log through " + std::to_string(rec_last) + ", not through " +
           std::to_string(last_index(whole)) + at;
  }
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
