#include "runtime/snapshot_transfer.h"

namespace raftkit {

std::optional<SnapshotOutcome> SnapshotSender::start(const Message& request, Clock::time_point now,
                                                     std::vector<Message>& out) {
  const NodeId to = request.to;
  const std::optional<SnapshotFile> latest = store_->latest();
  if (!latest || latest->meta.last_index < request.snapshot.last_index) return SnapshotOutcome{to, false};
  auto it = streams_.find(to);
  if (it != streams_.end() && it->second.reader->meta() == latest->meta && it->second.term == request.term) {
    return std::nullopt;  // already on its way
  }
  Result<std::unique_ptr<SnapshotReader>> reader = store_->open_latest();
  if (!reader.is_ok()) return SnapshotOutcome{to, false};
  Stream s;
  s.reader = std::move(reader).value();
  s.term = request.term;
  s.total = s.reader->file_size();
  s.started = s.last_progress = s.last_resend = now;
  Stream& stream = streams_[to] = std::move(s);
  fill(to, stream, out);
  return std::nullopt;
}

void SnapshotSender::fill(NodeId to, Stream& s, std::vector<Message>& out) {
  const std::uint64_t window = static_cast<std::uint64_t>(options_.chunk_bytes) * options_.window_chunks;
  while (s.sent < s.total && s.sent - s.acked < window) {
    Result<std::string> bytes = s.reader->read_raw(s.sent, options_.chunk_bytes);
    if (!bytes.is_ok() || bytes.value().empty()) return;  // the timer gives up if this persists
    Message m;
    m.type = MessageType::kInstallSnapshot;
    m.from = self_;
    m.to = to;
    m.term = s.term;
    m.snapshot = s.reader->meta();
    m.log_index = s.sent;
    m.commit = s.total;
    m.data = std::move(bytes).value();
    s.sent += m.data.size();
    out.push_back(std::move(m));
  }
}

std::optional<SnapshotOutcome> SnapshotSender::on_ack(const Message& ack, Clock::time_point now,
                                                      std::vector<Message>& out) {
  auto it = streams_.find(ack.from);
  if (it == streams_.end() || !(it->second.reader->meta() == ack.snapshot)) return std::nullopt;
  Stream& s = it->second;
  const std::uint64_t holds = ack.log_index;
  if (holds >= s.total) {
    const SnapshotOutcome delivered{ack.from, true, s.total, now - s.started};
    streams_.erase(it);
    return delivered;
  }
  if (holds > s.acked) {
    s.acked = holds;
    s.last_progress = now;
  } else if (holds < s.acked) {
    // The follower lost bytes it had acknowledged (it restarted, or its file failed verification): resend from
    // what it holds.
    s.acked = s.sent = holds;
    s.last_progress = now;
  } else if (holds < s.sent && s.rewound_at != holds) {
    // A repeated acknowledgement: a chunk after `holds` was lost (a dropped connection). Go back once.
    s.sent = holds;
    s.rewound_at = holds;
  }
  fill(ack.from, s, out);
  return std::nullopt;
}

std::vector<SnapshotOutcome> SnapshotSender::on_timer(Clock::time_point now, std::vector<Message>& out) {
  std::vector<SnapshotOutcome> ended;
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = it->second;
    const auto silent = now - s.last_progress;
    if (silent >= options_.give_up_after) {
      ended.push_back(SnapshotOutcome{it->first, false});
      it = streams_.erase(it);
      continue;
    }
    if (silent >= options_.resend_after && now - s.last_resend >= options_.resend_after) {
      // Nothing acknowledged for a while: whatever was in flight is presumed lost. Resend from the follower's
      // last acknowledged byte, and wait another resend_after before doing it again.
      s.sent = s.acked;
      s.rewound_at = UINT64_MAX;
      s.last_resend = now;
      fill(it->first, s, out);
    }
    ++it;
  }
  return ended;
}

Message SnapshotReceiver::ack(const Message& chunk, std::uint64_t offset) const {
  Message a;
  a.type = MessageType::kInstallSnapshotResponse;
  a.from = self_;
  a.to = chunk.from;
  a.term = chunk.term;
  a.snapshot = chunk.snapshot;
  a.log_index = offset;
  return a;
}

Result<std::optional<Message>> SnapshotReceiver::on_chunk(const Message& chunk, Index committed,
                                                          std::vector<Message>& out) {
  const SnapshotMeta& meta = chunk.snapshot;
  const std::uint64_t total = chunk.commit;
  Message step;
  step.type = MessageType::kInstallSnapshot;
  step.from = chunk.from;
  step.to = self_;
  step.term = chunk.term;
  step.snapshot = meta;
  if (meta.last_index <= committed) {
    // Everything in it is committed here already: nothing to receive; the core tells the leader where we are.
    out.push_back(ack(chunk, total));
    return std::optional<Message>(step);
  }
  if (finished_ && *finished_ == meta) {
    out.push_back(ack(chunk, total));
    return std::optional<Message>();
  }
  if (!incoming_ || !(incoming_->meta() == meta) || incoming_->total_size() != total) {
    Result<std::unique_ptr<IncomingSnapshot>> r = store_->receive(meta, total);
    if (!r.is_ok()) return r.status();
    incoming_ = std::move(r).value();
    finished_.reset();
  }
  // Only the next expected bytes are taken; a gap or a repeat is answered with what we hold.
  if (chunk.log_index == incoming_->received() && !chunk.data.empty()) {
    if (Status s = incoming_->write(chunk.log_index, chunk.data); !s.is_ok()) return s;
  }
  if (incoming_->received() < total) {
    out.push_back(ack(chunk, incoming_->received()));
    return std::optional<Message>();
  }
  Status verified = incoming_->finish();
  incoming_.reset();
  if (verified.code() == ErrorCode::kIo) return verified;
  if (!verified.is_ok()) {
    out.push_back(ack(chunk, 0));  // damaged on the way or on our disk: start again
    return std::optional<Message>();
  }
  finished_ = meta;
  out.push_back(ack(chunk, total));
  return std::optional<Message>(step);
}

}  // namespace raftkit
