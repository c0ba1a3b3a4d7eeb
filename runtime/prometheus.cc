#include "runtime/prometheus.h"

#include <charconv>
#include <cmath>

namespace raftkit {

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // the shortest form that reads back as v
  return std::string(buf, r.ptr);
}

// Label values: backslash, double quote and newline escaped. HELP text: backslash and newline.
std::string escaped(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

std::string label_set(const MetricLabels& common, const MetricLabels& own) {
  std::string out;
  auto add = [&](const std::string& k, const std::string& v) {
    out += out.empty() ? "{" : ",";
    out += k + "=\"" + escaped(v, true) + "\"";
  };
  for (const auto& [k, v] : common) {
    if (!own.count(k)) add(k, v);
  }
  for (const auto& [k, v] : own) add(k, v);
  return out.empty() ? out : out + "}";
}

}  // namespace

void PrometheusWriter::family(const std::string& name, const std::string& type, const std::string& help) {
  out_ += "# HELP " + name + " " + escaped(help, false) + "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusWriter::sample(const std::string& name, double value, const MetricLabels& labels) {
  out_ += name + label_set(common_, labels) + " " + number(value) + "\n";
}

void PrometheusWriter::gauge(const std::string& name, const std::string& help, double value, const MetricLabels& labels) {
  family(name, "gauge", help);
  sample(name, value, labels);
}

void PrometheusWriter::counter(const std::string& name, const std::string& help, double value,
                               const MetricLabels& labels) {
  family(name, "counter", help);
  sample(name, value, labels);
}

void PrometheusWriter::histogram(const std::string& name, const std::string& help, const HistogramSnapshot& h) {
  family(name, "histogram", help);
  for (std::size_t i = 0; i < h.bounds.size() && i < h.buckets.size(); ++i) {
    sample(name + "_bucket", static_cast<double>(h.buckets[i]), {{"le", number(h.bounds[i])}});
  }
  sample(name + "_bucket", static_cast<double>(h.count), {{"le", "+Inf"}});
  sample(name + "_sum", h.sum);
  sample(name + "_count", static_cast<double>(h.count));
}

std::string prometheus_text(const PeerMetrics& m, const MetricLabels& labels) {
  PrometheusWriter w(labels);
  auto n = [](std::uint64_t v) { return static_cast<double>(v); };
  w.gauge("raftkit_is_leader", "1 if this peer is the leader", m.leader ? 1 : 0);
  w.gauge("raftkit_term", "the current Raft term", n(m.term));
  w.gauge("raftkit_commit_index", "the highest log index known committed", n(m.commit_index));
  w.gauge("raftkit_applied_index", "the highest log index applied to the state machine", n(m.applied_index));
  w.gauge("raftkit_last_index", "the newest entry in this peer's log", n(m.last_index));
  w.gauge("raftkit_snapshot_index", "the last index of the newest durable snapshot", n(m.snapshot_index));
  w.gauge("raftkit_pending_requests", "requests accepted and not yet answered", n(m.pending_requests));
  if (!m.followers.empty()) {
    w.family("raftkit_follower_match_index", "gauge", "on the leader: the index up to which a follower's log matches");
    for (const FollowerMetrics& f : m.followers) w.sample("raftkit_follower_match_index", n(f.match_index), {{"follower", f.name}});
    w.family("raftkit_follower_lag_entries", "gauge", "on the leader: entries a follower is behind the leader's log");
    for (const FollowerMetrics& f : m.followers) w.sample("raftkit_follower_lag_entries", n(f.lag_entries), {{"follower", f.name}});
  }
  w.counter("raftkit_proposals_total", "writes proposed by this peer as leader", n(m.proposals));
  w.counter("raftkit_proposals_refused_total", "writes the core refused (not leader, leadership transfer)",
            n(m.proposals_refused));
  w.counter("raftkit_elections_total", "campaigns this peer started, pre-vote rounds included", n(m.elections));
  w.counter("raftkit_leader_changes_total", "times the leader known to this peer changed", n(m.leader_changes));
  w.counter("raftkit_entries_applied_total", "log entries applied to the state machine", n(m.entries_applied));
  w.counter("raftkit_snapshots_taken_total", "snapshots of the state machine made durable", n(m.snapshots_taken));
  w.counter("raftkit_snapshot_taken_bytes_total", "bytes of the snapshots taken", n(m.snapshot_bytes_taken));
  w.counter("raftkit_snapshots_installed_total", "snapshots received from a leader and installed",
            n(m.snapshots_installed));
  w.counter("raftkit_snapshot_installed_bytes_total", "bytes of the snapshots installed", n(m.snapshot_bytes_installed));
  w.counter("raftkit_snapshot_sent_bytes_total", "bytes of the snapshots delivered to followers", n(m.snapshot_bytes_sent));
  w.family("raftkit_snapshots_sent_total", "counter", "snapshots streamed to followers, by outcome");
  w.sample("raftkit_snapshots_sent_total", n(m.snapshots_sent), {{"outcome", "delivered"}});
  w.sample("raftkit_snapshots_sent_total", n(m.snapshots_send_failed), {{"outcome", "failed"}});
  w.histogram("raftkit_durable_write_seconds", "writes to the durable log, fsync included", m.durable_write_seconds);
  w.histogram("raftkit_append_batch_entries", "entries per durable write", m.append_batch_entries);
  w.histogram("raftkit_read_index_seconds", "linearizable reads, from taken to confirmed by a quorum",
              m.read_index_seconds);
  w.histogram("raftkit_snapshot_take_seconds", "writing and syncing a snapshot of the state machine",
              m.snapshot_take_seconds);
  w.histogram("raftkit_snapshot_send_seconds", "streaming a snapshot to a follower, start to last acknowledgement",
              m.snapshot_send_seconds);
  w.histogram("raftkit_snapshot_install_seconds", "restoring the state machine from a leader's snapshot",
              m.snapshot_install_seconds);

  const TransportStats& t = m.transport;
  w.gauge("raftkit_transport_connections_open", "inbound peer connections open", n(t.connections_open));
  w.counter("raftkit_transport_messages_sent_total", "Raft messages sent to peers", n(t.messages_sent));
  w.counter("raftkit_transport_messages_received_total", "Raft messages received from peers", n(t.messages_received));
  w.counter("raftkit_transport_reconnects_total", "outbound connections made again after a failure", n(t.reconnects));
  w.counter("raftkit_transport_connections_replaced_total", "inbound connections replaced by a newer one from the same peer",
            n(t.connections_replaced));
  w.family("raftkit_transport_refusals_total", "counter", "inbound connections and requests refused, by reason");
  const std::pair<const char*, std::uint64_t> refusals[] = {
      {"hello_refused", t.connections_refused},       {"over_limit", t.connections_over_limit},
      {"handshake_timeout", t.handshake_timeouts},    {"idle_timeout", t.idle_timeouts},
      {"malformed_frame", t.malformed_frames},        {"tls_handshake", t.tls_handshake_failures},
      {"identity_mismatch", t.identity_mismatches},   {"join_busy", t.joins_refused_busy}};
  for (const auto& [reason, count] : refusals) w.sample("raftkit_transport_refusals_total", n(count), {{"reason", reason}});
  w.counter("raftkit_transport_refusals_received_total", "this peer's hellos refused by others", n(t.refusals_received));
  w.family("raftkit_transport_dropped_total", "counter", "messages dropped for a full queue, by queue");
  w.sample("raftkit_transport_dropped_total", n(t.dropped_queue_full), {{"queue", "outgoing"}});
  w.sample("raftkit_transport_dropped_total", n(m.inbound_dropped), {{"queue", "raft_inbound"}});
  return w.text();
}

}  // namespace raftkit
