// The copy-on-write map as a state machine's snapshot: freeze() on the apply thread, write on the snapshot thread.
#pragma once

#include <memory>

#include "examples/cow_map.h"
#include "runtime/peer.h"

namespace raftkit::examples {

class CowMapSnapshot : public StateMachineSnapshot {
 public:
  explicit CowMapSnapshot(const CowMap& map) : view_(map.freeze()) {}
  Status write(std::ostream& out) override {
    return CowMap::write(view_, out) ? Status::ok() : Status(ErrorCode::kIo, "snapshot write failed");
  }

 private:
  CowMap::Frozen view_;
};

// StateMachine::restore for a CowMap.
inline Status restore_cow_map(CowMap& map, std::istream& in) {
  return map.read(in) ? Status::ok() : Status(ErrorCode::kCorruption, "snapshot does not hold a key-value map");
}

}  // namespace raftkit::examples
