// The key-value example's state machine: a copy-on-write hash map (cheap snapshots, examples/cow_map.h) applying
// the binary commands of kv_commands.h. It never throws on what it is given: a command or query it cannot decode
// is answered with an error result and changes nothing, on every replica alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "examples/cow_map.h"
#include "runtime/peer.h"

namespace raftkit::examples::kv {

class KvMachine : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override;
  // A kGet query answers an encoded Result; a kAll query answers state_summary().
  std::string handle_read(const std::string& query) override;
  std::unique_ptr<StateMachineSnapshot> snapshot() override;
  Status restore(std::istream& in) override;

  // {"keys": count, "digest": FNV-1a of the sorted pairs, "data": {...} when at most kStateDataMaxKeys keys of at
  // most kStateDataMaxBytes in all}: equal on two replicas that applied the same prefix of the log.
  std::string state_summary() const;
  static constexpr std::size_t kStateDataMaxKeys = 1000;
  static constexpr std::uint64_t kStateDataMaxBytes = 1 << 20;

 private:
  CowMap data_;
};

}  // namespace raftkit::examples::kv
