// Metrics: histograms count into cumulative buckets; the Prometheus text passes a strict reader of the format (and
// that reader refuses what a Prometheus server would).
#include <catch2/catch.hpp>

#include <chrono>

#include "runtime/prometheus.h"
#include "tests/support/prometheus_parser.h"

namespace {

using raftkit::Histogram;
using raftkit::testing::PrometheusText;

TEST_CASE("metrics: a histogram counts each observation in the first bucket whose bound holds it", "[metrics]") {
  Histogram h({1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 3.0, 100.0}) h.observe(v);
  h.observe(std::chrono::milliseconds(2500));  // 2.5 s
  const raftkit::HistogramSnapshot s = h.snapshot();
  CHECK(s.buckets == std::vector<std::uint64_t>{2, 3, 5});
  CHECK(s.count == 6);
  CHECK(s.sum == Approx(108.5));
  CHECK(Histogram::size_bounds(3) == std::vector<double>{1, 2, 4, 8});
  const std::vector<double> latency = Histogram::latency_bounds();
  CHECK(std::is_sorted(latency.begin(), latency.end()));
}

TEST_CASE("metrics: a peer's metrics in the Prometheus text format pass a strict reader", "[metrics]") {
  raftkit::PeerMetrics m;
  m.leader = true;
  m.term = 7;
  m.commit_index = 1000;
  m.followers = {{"p2", 990, 10}, {"odd \"name\"\\\n", 0, 1000}};
  m.proposals = 12;
  m.transport.malformed_frames = 3;
  Histogram writes(Histogram::latency_bounds());
  writes.observe(0.002);
  writes.observe(30.0);
  m.durable_write_seconds = writes.snapshot();
  m.append_batch_entries = Histogram(Histogram::size_bounds(4)).snapshot();
  const std::string text = raftkit::prometheus_text(m, {{"engine", "rocksdb"}, {"peer", "p1"}});
  std::string error;
  std::optional<PrometheusText> page = PrometheusText::parse(text, error);
  INFO(error << "\n" << text);
  REQUIRE(page);
  const PrometheusText::Labels common = {{"engine", "rocksdb"}, {"peer", "p1"}};
  auto with = [&](PrometheusText::Labels extra) {
    extra.insert(common.begin(), common.end());
    return extra;
  };
  CHECK(page->value("raftkit_is_leader", common) == 1);
  CHECK(page->value("raftkit_term", common) == 7);
  CHECK(page->value("raftkit_commit_index", common) == 1000);
  CHECK(page->value("raftkit_proposals_total", common) == 12);
  CHECK(page->type("raftkit_proposals_total") == "counter");
  CHECK(page->value("raftkit_follower_lag_entries", with({{"follower", "p2"}})) == 10);
  CHECK(page->value("raftkit_follower_lag_entries", with({{"follower", "odd \"name\"\\\n"}})) == 1000);
  CHECK(page->value("raftkit_transport_refusals_total", with({{"reason", "malformed_frame"}})) == 3);
  CHECK(page->type("raftkit_durable_write_seconds") == "histogram");
  CHECK(page->value("raftkit_durable_write_seconds_count", common) == 2);
  CHECK(page->value("raftkit_durable_write_seconds_bucket", with({{"le", "0.0025"}})) == 1);
  CHECK(page->value("raftkit_durable_write_seconds_bucket", with({{"le", "10"}})) == 1);
  CHECK(page->value("raftkit_durable_write_seconds_bucket", with({{"le", "+Inf"}})) == 2);
  CHECK(page->value("raftkit_durable_write_seconds_sum", common) == Approx(30.002));
  CHECK(page->value("raftkit_append_batch_entries_count", common) == 0);
}

TEST_CASE("metrics: the strict reader refuses malformed pages and breaches of our naming rules", "[metrics]") {
  const char* bad[] = {
      "x 1",                                                              // no newline at the end
      "# TYPE x gauge\nx 1\n\n",                                          // blank line
      "x 1\n",                                                            // no TYPE
      "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",                     // repeated series
      "# TYPE x gauge\nx{a=\"\\t\"} 1\n",                                 // bad escape
      "# TYPE x gauge\nx{a=\"1\" 1\n",                                    // unterminated label set
      "# TYPE x gauge\nx one\n",                                          // not a number
      "# TYPE x counter\nx 1\n",                                          // counter without _total
      "# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n",                       // x's sample away from its TYPE
      "# TYPE x gauge\n# TYPE x gauge\nx 1\n",                            // second TYPE
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // decreasing
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",   // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // +Inf differs from _count
      "# TYPE x gauge\nx{__a=\"1\"} 1\n",                                 // reserved label name
      "# TYPE x gauge\nx{a=\"1\"b=\"2\"} 1\n",                          // no comma between labels
      "# TYPE h histogram\nh 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // a bare name in a histogram
      "# TYPE x\nx 1\n",                                                // a TYPE line without a type
      "# TYPE 9x gauge\n",                                               // a malformed name in TYPE
  };
  for (const char* text : bad) {
    std::string error;
    INFO(text);
    CHECK_FALSE(PrometheusText::parse(text, error));
    CHECK_FALSE(error.empty());
  }
  std::string error;
  CHECK(PrometheusText::parse("# a comment\n# HELP x an \\\\ x\n# TYPE x gauge\nx{a=\"q\\\"\\n\"} -Inf 1700000000\n",
                              error));
}

}  // namespace
