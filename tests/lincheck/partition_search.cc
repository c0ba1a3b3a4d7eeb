#include "tests/lincheck/partition_search.h"

#include <algorithm>
#include <cstring>

namespace raftkit::lincheck {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

PartitionSearch::PartitionSearch(std::vector<const Operation*> ops, const std::optional<std::string>& initial,
                                 std::size_t memo_limit_bytes)
    : ops_(std::move(ops)), memo_limit_bytes_(memo_limit_bytes) {
  const std::size_t n = ops_.size();
  values_.emplace_back();  // id 0: the absent value, never looked up by content
  compiled_.reserve(n);
  for (const Operation* op : ops_) {
    const bool preserves = op->kind == OpKind::kRead || (op->kind == OpKind::kCas && op->outcome == Outcome::kFail);
    compiled_.push_back({op->kind, op->outcome, intern_optional(op->value), intern_optional(op->expected), preserves});
  }
  state_ = intern_optional(initial);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (ops_[i]->kind == OpKind::kWrite || ops_[i]->kind == OpKind::kCas) resets_.push_back(i);
  }
  std::stable_sort(resets_.begin(), resets_.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return ops_[a]->invoke < ops_[b]->invoke; });

  // Calls sort before returns at equal times: operations that cannot be ordered are concurrent.
  std::vector<Event> order;
  order.reserve(2 * n);
  for (std::uint32_t i = 0; i < n; ++i) {
    order.push_back({true, i, 0, 0, 0});
    order.push_back({false, i, 0, 0, 0});
  }
  auto time_of = [&](const Event& e) { return e.is_call ? ops_[e.op]->invoke : ops_[e.op]->complete; };
  std::stable_sort(order.begin(), order.end(), [&](const Event& a, const Event& b) {
    if (time_of(a) != time_of(b)) return time_of(a) < time_of(b);
    return a.is_call && !b.is_call;
  });
  events_.resize(1 + 2 * n);
  std::vector<std::size_t> call_of(n), return_of(n);
  for (std::size_t i = 0; i < order.size(); ++i) {
    events_[i + 1] = order[i];
    (order[i].is_call ? call_of : return_of)[order[i].op] = i + 1;
  }
  for (std::size_t i = 0; i < events_.size(); ++i) {
    events_[i].prev = i == 0 ? kNone : i - 1;
    events_[i].next = i + 1 < events_.size() ? i + 1 : kNone;
  }
  for (std::size_t i = 0; i < n; ++i) {
    events_[call_of[i]].partner = return_of[i];
    events_[return_of[i]].partner = call_of[i];
  }
  entry_ = events_[0].next;

  words_ = (n + 63) / 64;
  linearized_.assign(words_, 0);
  op_hash_.resize(n);
  for (std::size_t i = 0; i < n; ++i) op_hash_[i] = splitmix64(i * 0x2545f4914f6cdd1dull + 1);
  table_.assign(1024, {0, 0});
}

std::uint32_t PartitionSearch::intern(std::string_view value) {
  auto it = value_ids_.find(value);
  if (it != value_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(values_.size());
  values_.emplace_back(value);
  value_ids_.emplace(values_.back(), id);
  value_bytes_ += value.size() + 64;  // the string, its deque slot and its index entry, roughly
  return id;
}

std::optional<std::uint32_t> PartitionSearch::step(std::uint32_t state, std::uint32_t op) {
  const CompiledOp& c = compiled_[op];
  switch (c.kind) {
    case OpKind::kRead:
      if (c.outcome == Outcome::kUnknown || c.value == state) return state;
      return std::nullopt;
    case OpKind::kWrite: return c.value;
    case OpKind::kAppend: {
      const std::uint64_t key = (std::uint64_t{state} << 32) | op;
      auto it = appended_.find(key);
      if (it != appended_.end()) return it->second;
      std::string next = state == kNil ? std::string() : values_[state];
      next += ops_[op]->value.value_or("");
      const std::uint32_t id = intern(next);
      appended_.emplace(key, id);
      return id;
    }
    case OpKind::kCas:
      if (c.outcome == Outcome::kFail) return state != c.expected ? std::optional<std::uint32_t>(state) : std::nullopt;
      if (state == c.expected) return c.value;
      // An acknowledged compare-and-set must have matched; one of unknown outcome simply did nothing here.
      return c.outcome == Outcome::kUnknown ? std::optional<std::uint32_t>(state) : std::nullopt;
  }
  return std::nullopt;
}

bool PartitionSearch::is_prefix(std::uint32_t prefix, std::uint32_t value) const {
  if (prefix == value || prefix == kNil) return value != kNil || prefix == kNil;
  if (value == kNil) return false;
  return std::string_view(values_[value]).substr(0, values_[prefix].size()) == values_[prefix];
}

bool PartitionSearch::satisfiable(std::uint32_t read) const {
  const CompiledOp& r = compiled_[read];
  if (r.outcome == Outcome::kUnknown || is_prefix(state_, r.value)) return true;
  const std::uint64_t deadline = ops_[read]->complete;
  for (std::uint32_t w : resets_) {
    // Invoked at the instant the read returned counts as concurrent with it (calls sort before returns).
    if (ops_[w]->invoke > deadline) break;
    if (linearized(w)) continue;
    if (compiled_[w].kind == OpKind::kCas || is_prefix(compiled_[w].value, r.value)) return true;
  }
  return false;
}

void PartitionSearch::lift(std::size_t call) {
  const Event& c = events_[call];
  events_[c.prev].next = c.next;
  if (c.next != kNone) events_[c.next].prev = c.prev;
  const Event& r = events_[c.partner];
  events_[r.prev].next = r.next;
  if (r.next != kNone) events_[r.next].prev = r.prev;
}

void PartitionSearch::unlift(std::size_t call) {
  const Event& c = events_[call];
  const Event& r = events_[c.partner];
  events_[r.prev].next = c.partner;
  if (r.next != kNone) events_[r.next].prev = c.partner;
  events_[c.prev].next = call;
  if (c.next != kNone) events_[c.next].prev = call;
}

std::size_t PartitionSearch::memo_bytes() const {
  return arena_.capacity() * sizeof(std::uint64_t) + table_.capacity() * sizeof(table_[0]) + value_bytes_ +
         appended_.size() * 32;
}

bool PartitionSearch::remember(std::uint32_t state) {
  const std::uint64_t hash = linearized_hash_ ^ splitmix64(state);
  const std::size_t mask = table_.size() - 1;
  const std::size_t stride = words_ + 1;
  std::size_t slot = hash & mask;
  for (; table_[slot].second != 0; slot = (slot + 1) & mask) {
    if (table_[slot].first != hash) continue;
    const std::uint64_t* e = &arena_[(table_[slot].second - 1) * stride];
    if (e[words_] == state && std::memcmp(e, linearized_.data(), words_ * sizeof(std::uint64_t)) == 0) return false;
  }
  arena_.insert(arena_.end(), linearized_.begin(), linearized_.end());
  arena_.push_back(state);
  table_[slot] = {hash, static_cast<std::uint32_t>(++entries_)};
  if (entries_ * 2 > table_.size()) grow_memo();
  if (memo_bytes() > memo_limit_bytes_) progress_ = Progress::kOutOfMemory;
  return true;
}

void PartitionSearch::grow_memo() {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> bigger(table_.size() * 2, {0, 0});
  const std::size_t mask = bigger.size() - 1;
  for (const auto& e : table_) {
    if (e.second == 0) continue;
    std::size_t slot = e.first & mask;
    while (bigger[slot].second != 0) slot = (slot + 1) & mask;
    bigger[slot] = e;
  }
  table_.swap(bigger);
}

void PartitionSearch::linearize(std::size_t call, std::uint32_t next_state, bool forced) {
  stack_.push_back({call, state_, forced});
  state_ = next_state;
  lift(call);
  entry_ = events_[0].next;
}

bool PartitionSearch::backtrack() {
  while (!stack_.empty()) {
    const Frame f = stack_.back();
    stack_.pop_back();
    const std::uint32_t op = events_[f.call].op;
    linearized_[op / 64] &= ~(1ull << (op % 64));
    linearized_hash_ ^= op_hash_[op];
    state_ = f.state;
    unlift(f.call);
    if (!f.forced) {
      entry_ = events_[f.call].next;
      return true;
    }
  }
  return false;
}

PartitionSearch::Progress PartitionSearch::run(std::uint64_t max_steps) {
  auto mark = [&](std::uint32_t op) {
    linearized_[op / 64] |= 1ull << (op % 64);
    linearized_hash_ ^= op_hash_[op];
  };
  auto unmark = [&](std::uint32_t op) {
    linearized_[op / 64] &= ~(1ull << (op % 64));
    linearized_hash_ ^= op_hash_[op];
  };
  for (std::uint64_t i = 0; i < max_steps && progress_ == Progress::kRunning; ++i) {
    if (events_[0].next == kNone) return progress_ = Progress::kLinearizable;
    ++steps_;
    if (entry_ == events_[0].next) {
      // A new prefix (or the start): abandon it if a read in flight can no longer be satisfied; linearize a
      // state-preserving operation now if one can go (see the header).
      bool dead = false;
      for (std::size_t e = entry_; e != kNone && events_[e].is_call && !dead; e = events_[e].next) {
        const std::uint32_t op = events_[e].op;
        dead = compiled_[op].kind == OpKind::kRead && !satisfiable(op);
      }
      if (dead) {
        if (!backtrack()) return progress_ = Progress::kNotLinearizable;
        continue;
      }
      bool forced = false, known = false;
      for (std::size_t e = entry_; e != kNone && events_[e].is_call; e = events_[e].next) {
        const std::uint32_t op = events_[e].op;
        if (!compiled_[op].preserves_state || !step(state_, op)) continue;
        mark(op);
        if (remember(state_)) {
          linearize(e, state_, true);
          forced = true;
        } else {
          unmark(op);
          known = true;
        }
        break;
      }
      if (forced) continue;
      if (known) {
        // The configuration after it failed before, so this prefix fails.
        if (!backtrack()) return progress_ = Progress::kNotLinearizable;
        continue;
      }
    }
    const Event& ev = events_[entry_];
    if (ev.is_call) {
      const std::uint32_t op = ev.op;
      if (!compiled_[op].preserves_state) {
        if (std::optional<std::uint32_t> next = step(state_, op)) {
          mark(op);
          if (remember(*next)) {
            linearize(entry_, *next, false);
            continue;
          }
          unmark(op);
        }
      }
      entry_ = ev.next;
      continue;
    }
    // A return event: its operation should have been linearized before now. Undo the last choice.
    if (stack_.size() >= deepest_) {
      deepest_ = stack_.size();
      stuck_op_ = ev.op;
    }
    if (!backtrack()) return progress_ = Progress::kNotLinearizable;
  }
  return progress_;
}

std::string PartitionSearch::detail() const {
  if (progress_ != Progress::kNotLinearizable || ops_.empty()) return "";
  return "no valid order for " + describe(*ops_[stuck_op_]);
}

}  // namespace raftkit::lincheck
