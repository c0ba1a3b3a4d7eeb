#include "consensus/progress.h"

#include <algorithm>

namespace raftkit {

void Inflights::add(Index last_index, std::uint64_t bytes) {
  flights_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::free_le(Index index) {
  while (!flights_.empty() && flights_.front().last_index <= index) {
    bytes_ -= flights_.front().bytes;
    flights_.pop_front();
  }
}

void Inflights::free_first() {
  if (flights_.empty()) return;
  bytes_ -= flights_.front().bytes;
  flights_.pop_front();
}

void Progress::become_probe() {
  // After a snapshot, start probing right after it; otherwise right after what we know matches.
  if (state == State::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = State::kProbe;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_replicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = State::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.reset();
}

bool Progress::maybe_update(Index index) {
  bool updated = false;
  if (match < index) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

void Progress::sent_entries(Index last_index, std::uint64_t bytes) {
  if (state == State::kReplicate) {
    next = last_index + 1;
    inflights.add(last_index, bytes);
  } else if (state == State::kProbe) {
    probe_sent = true;
  }
}

bool Progress::maybe_decrease_to(Index rejected, Index match_hint) {
  if (state == State::kReplicate) {
    // Only a rejection above what is known to match is news; anything else answers an older message.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe state only the answer to the outstanding probe (which sent next - 1) counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max<Index>(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::is_paused() const {
  switch (state) {
    case State::kProbe: return probe_sent;
    case State::kReplicate: return inflights.full();
    case State::kSnapshot: return true;
  }
  return true;
}

const char* Progress::state_name() const {
  switch (state) {
    case State::kProbe: return "probe";
    case State::kReplicate: return "replicate";
    case State::kSnapshot: return "snapshot";
  }
  return "?";
}

}  // namespace raftkit
