// A timer clock for fault injection (kv_server --timer-clock-file PATH; PeerOptions::timer_clock): real monotonic
// time run at a rate and shifted by an offset, both read from PATH as "RATE OFFSET_MS" (re-read at most every
// 100 ms; a missing or unreadable file means "1 0"). A new rate applies from the moment it is read; a new offset
// jumps the clock by the difference — forward (as after a suspended machine: timers fire at once) or backward
// (the peer's timers stall until real time catches up). The Jepsen harness's clock nemesis writes the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>

namespace raftkit::examples {

class FaultClock {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FaultClock(std::string path) : path_(std::move(path)) {
    anchor_real_ = anchor_fake_ = last_read_ = Clock::now();
  }

  Clock::time_point now() {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point real = Clock::now();
    if (real - last_read_ >= std::chrono::milliseconds(100)) {
      last_read_ = real;
      double rate = 1;
      std::int64_t offset_ms = 0;
      std::ifstream in(path_);
      if (!(in >> rate >> offset_ms) || rate <= 0) rate = 1, offset_ms = 0;
      if (rate != rate_ || offset_ms != offset_ms_) {
        anchor_fake_ = fake(real) + std::chrono::milliseconds(offset_ms - offset_ms_);
        anchor_real_ = real;
        rate_ = rate;
        offset_ms_ = offset_ms;
      }
    }
    return fake(real);
  }

 private:
  Clock::time_point fake(Clock::time_point real) const {
    const auto elapsed = std::chrono::duration<double, std::nano>(real - anchor_real_) * rate_;
    return anchor_fake_ + std::chrono::duration_cast<Clock::duration>(elapsed);
  }

  std::mutex mu_;
  const std::string path_;
  double rate_ = 1;
  std::int64_t offset_ms_ = 0;
  Clock::time_point anchor_real_, anchor_fake_, last_read_;
};

}  // namespace raftkit::examples
