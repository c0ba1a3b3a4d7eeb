// A peer's metrics in the Prometheus text exposition format (version 0.0.4), for a service's `GET /metrics`.
// Written here because Debian ships no Prometheus C++ client. Names follow Prometheus conventions: `raftkit_`
// prefix, base units (`_seconds`, `_bytes`), `_total` on counters; every family has HELP and TYPE lines.
#pragma once

#include <map>
#include <string>

#include "runtime/metrics.h"

namespace raftkit {

// Labels every sample carries (engine="rocksdb", say); names must match [a-zA-Z_][a-zA-Z0-9_]*, values are escaped.
using MetricLabels = std::map<std::string, std::string>;

// The Content-Type of what prometheus_text() writes.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string prometheus_text(const PeerMetrics& m, const MetricLabels& labels = {});

// Building blocks, for a service that adds families of its own to the same page.
class PrometheusWriter {
 public:
  explicit PrometheusWriter(MetricLabels common = {}) : common_(std::move(common)) {}
  // One family: HELP and TYPE, then its samples (each with the common labels and its own).
  void gauge(const std::string& name, const std::string& help, double value, const MetricLabels& labels = {});
  void counter(const std::string& name, const std::string& help, double value, const MetricLabels& labels = {});
  // A family of several labelled samples: declare it once, then add samples.
  void family(const std::string& name, const std::string& type, const std::string& help);
  void sample(const std::string& name, double value, const MetricLabels& labels = {});
  void histogram(const std::string& name, const std::string& help, const HistogramSnapshot& h);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  MetricLabels common_;
};

}  // namespace raftkit
