#include "runtime/metrics.h"

#include <algorithm>
#include <cmath>

namespace raftkit {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

std::vector<double> Histogram::latency_bounds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> Histogram::size_bounds(int max_power) {
  std::vector<double> b;
  for (int p = 0; p <= max_power; ++p) b.push_back(std::ldexp(1.0, p));
  return b;
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;  // would poison the sum for good
  // The first bucket whose bound is >= value.
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  counts_[static_cast<std::size_t>(at - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.count = count_.load(std::memory_order_relaxed);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.buckets.push_back(std::min(running, s.count));
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace raftkit
