#include "tests/lincheck/checker.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

namespace raftkit::lincheck {
namespace {

using State = std::optional<std::string>;

// The sequential specification: applies op to state, or returns nullopt if op could not have happened there.
std::optional<State> step(const State& state, const Operation& op) {
  switch (op.kind) {
    case OpKind::kRead:
      if (op.outcome == Outcome::kUnknown || op.value == state) return state;
      return std::nullopt;
    case OpKind::kWrite: return op.value;
    case OpKind::kAppend: return State(state.value_or("") + op.value.value_or(""));
    case OpKind::kCas:
      if (op.outcome == Outcome::kFail) return state != op.expected ? std::optional<State>(state) : std::nullopt;
      if (state == op.expected) return op.value;
      // An acknowledged compare-and-set must have matched; one of unknown outcome simply did nothing here.
      return op.outcome == Outcome::kUnknown ? std::optional<State>(state) : std::nullopt;
  }
  return std::nullopt;
}

class Bitset {
 public:
  explicit Bitset(std::size_t n) : words_((n + 63) / 64, 0) {}
  void set(std::size_t i) { words_[i / 64] |= 1ull << (i % 64); }
  void clear(std::size_t i) { words_[i / 64] &= ~(1ull << (i % 64)); }
  bool operator==(const Bitset&) const = default;
  std::size_t hash() const {
    std::size_t h = 1469598103934665603ull;
    for (std::uint64_t w : words_) h = (h ^ w) * 1099511628211ull;
    return h;
  }

 private:
  std::vector<std::uint64_t> words_;
};

struct KeyResult {
  Verdict verdict;
  std::string detail;
};

// One key's operations. The Wing-Gong-Lowe search over a doubly linked list of call and return events.
KeyResult check_key(const std::vector<const Operation*>& ops, const State& initial,
                    std::chrono::steady_clock::time_point deadline) {
  const std::size_t n = ops.size();
  struct Event {
    bool is_call;
    std::size_t op;
    std::uint64_t time;
    std::size_t prev, next, partner;  // indices into events; 0 is the head sentinel
  };
  std::vector<Event> events(1 + 2 * n);
  std::vector<Event> order;
  order.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    order.push_back({true, i, ops[i]->invoke, 0, 0, 0});
    order.push_back({false, i, ops[i]->complete, 0, 0, 0});
  }
  // Calls sort before returns at equal times: operations that cannot be ordered are concurrent.
  std::stable_sort(order.begin(), order.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  std::vector<std::size_t> call_of(n), return_of(n);
  for (std::size_t i = 0; i < order.size(); ++i) {
    events[i + 1] = order[i];
    (order[i].is_call ? call_of : return_of)[order[i].op] = i + 1;
  }
  const std::size_t end = events.size();  // "null"
  for (std::size_t i = 0; i < events.size(); ++i) {
    events[i].prev = i == 0 ? end : i - 1;
    events[i].next = i + 1 < events.size() ? i + 1 : end;
  }
  for (std::size_t i = 0; i < n; ++i) {
    events[call_of[i]].partner = return_of[i];
    events[return_of[i]].partner = call_of[i];
  }
  auto lift = [&](std::size_t call) {
    Event& c = events[call];
    events[c.prev].next = c.next;
    if (c.next != end) events[c.next].prev = c.prev;
    Event& r = events[c.partner];
    events[r.prev].next = r.next;
    if (r.next != end) events[r.next].prev = r.prev;
  };
  auto unlift = [&](std::size_t call) {
    Event& c = events[call];
    Event& r = events[c.partner];
    events[r.prev].next = c.partner;
    if (r.next != end) events[r.next].prev = c.partner;
    events[c.prev].next = call;
    if (c.next != end) events[c.next].prev = call;
  };

  struct CacheEntry {
    Bitset linearized;
    State state;
  };
  std::unordered_map<std::size_t, std::vector<CacheEntry>> cache;
  auto remember = [&](const Bitset& b, const State& s) {
    auto& bucket = cache[b.hash() ^ std::hash<std::string>()(s.value_or("\x01nil"))];
    for (const CacheEntry& e : bucket) {
      if (e.linearized == b && e.state == s) return false;
    }
    bucket.push_back({b, s});
    return true;
  };

  struct Frame {
    std::size_t call;
    State state;
  };
  std::vector<Frame> stack;
  Bitset linearized(n);
  State state = initial;
  std::size_t entry = events[0].next;
  std::size_t deepest = 0, stuck_op = 0;
  std::uint64_t iterations = 0;
  while (events[0].next != end) {
    if ((++iterations & 0xfff) == 0 && std::chrono::steady_clock::now() > deadline) {
      return {Verdict::kUnknown, "time budget exhausted after " + std::to_string(iterations) + " steps"};
    }
    const Event& ev = events[entry];
    if (ev.is_call) {
      std::optional<State> next = step(state, *ops[ev.op]);
      if (next) {
        Bitset candidate = linearized;
        candidate.set(ev.op);
        if (remember(candidate, *next)) {
          stack.push_back({entry, state});
          state = std::move(*next);
          linearized = std::move(candidate);
          lift(entry);
          entry = events[0].next;
          continue;
        }
      }
      entry = ev.next;
      continue;
    }
    // A return event: its operation should have been linearized before now. Undo the last choice.
    if (stack.size() >= deepest) {
      deepest = stack.size();
      stuck_op = ev.op;
    }
    if (stack.empty()) {
      return {Verdict::kNotLinearizable, "no valid order for " + describe(*ops[stuck_op])};
    }
    Frame f = std::move(stack.back());
    stack.pop_back();
    state = std::move(f.state);
    linearized.clear(events[f.call].op);
    unlift(f.call);
    entry = events[f.call].next;
  }
  return {Verdict::kLinearizable, ""};
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kLinearizable: return "linearizable";
    case Verdict::kNotLinearizable: return "not-linearizable";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

CheckResult check(const History& history, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  std::map<std::string, std::vector<const Operation*>> by_key;
  CheckResult result;
  for (const Operation& op : history.operations) {
    // A failed read or write, and a read of unknown outcome, constrain nothing and change nothing.
    if (op.outcome == Outcome::kFail && op.kind != OpKind::kCas) continue;
    if (op.outcome == Outcome::kUnknown && op.kind == OpKind::kRead) continue;
    by_key[op.key].push_back(&op);
    ++result.operations;
  }
  result.keys = by_key.size();
  bool unknown = false;
  for (const auto& [key, ops] : by_key) {
    KeyResult r = check_key(ops, history.initial, deadline);
    if (r.verdict == Verdict::kNotLinearizable) {
      result.verdict = Verdict::kNotLinearizable;
      result.detail = "key \"" + key + "\": " + r.detail;
      return result;
    }
    if (r.verdict == Verdict::kUnknown) {
      unknown = true;
      result.detail = "key \"" + key + "\": " + r.detail;
    }
  }
  if (unknown) result.verdict = Verdict::kUnknown;
  return result;
}

}  // namespace raftkit::lincheck
