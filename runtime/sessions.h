// Client sessions (Raft thesis 6.3): the newest request applied per client and its result, so a retried write is
// applied at most once. Every peer applies the same entries in the same order, so every peer's sessions agree; they
// are part of the replicated state and travel in snapshots.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <string>

#include "consensus/status.h"

namespace raftkit {

class Sessions {
 public:
  void set_capacity(std::size_t max_sessions) { max_sessions_ = max_sessions; }
  // Runs `apply` for (client, request) unless that request was applied already (then its first result is
  // returned) or an older request is retried (kDropped). The least recently used session goes beyond capacity.
  Result<std::string> apply(std::uint64_t client, std::uint64_t request, const std::function<std::string()>& apply);

  // Snapshot section: encode() appends to a string; decode() replaces everything with what it reads.
  std::string encode() const;
  Status decode(std::istream& in);
  std::size_t size() const { return sessions_.size(); }

 private:
  struct Session {
    std::uint64_t request = 0;
    std::string result;
    std::uint64_t last_used = 0;
  };
  std::map<std::uint64_t, Session> sessions_;
  std::uint64_t clock_ = 0;
  std::size_t max_sessions_ = 100000;
};

}  // namespace raftkit
