// A small deterministic generator (SplitMix64). The core and the simulator draw every random choice from one of
// these so that a seed replays a run exactly, on any platform and standard library.
#pragma once

#include <cstdint>

namespace raftkit {

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  // Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  // True with probability per_million / 1e6.
  bool chance(std::uint64_t per_million) { return below(1000000) < per_million; }

 private:
  std::uint64_t state_;
};

}  // namespace raftkit
