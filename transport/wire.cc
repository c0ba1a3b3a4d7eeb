#include "transport/wire.h"

#include "adapters/common/crc32c.h"

namespace raftkit::wire {
namespace {

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  void put(std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(std::uint8_t& v) {
    std::uint64_t x;
    if (!get(x, 1)) return false;
    v = static_cast<std::uint8_t>(x);
    return true;
  }
  bool u16(std::uint16_t& v) {
    std::uint64_t x;
    if (!get(x, 2)) return false;
    v = static_cast<std::uint16_t>(x);
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint64_t x;
    if (!get(x, 4)) return false;
    v = static_cast<std::uint32_t>(x);
    return true;
  }
  bool u64(std::uint64_t& v) { return get(v, 8); }
  bool str(std::string& s) {
    std::uint32_t n;
    if (!u32(n) || n > in_.size() - pos_) return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  bool get(std::uint64_t& v, int bytes) {
    if (in_.size() - pos_ < static_cast<std::size_t>(bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::size_t>(bytes);
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

Status malformed(const std::string& what) { return Status(ErrorCode::kInvalidArgument, "malformed frame: " + what); }

std::string frame(FrameType type, const std::string& payload) {
  Writer w;
  w.u32(kMagic);
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(type));
  w.u16(0);
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u32(crc32c(payload));
  return w.take() + payload;
}

void write_message(Writer& w, const Message& m) {
  w.u8(static_cast<std::uint8_t>(m.type));
  w.u64(m.from);
  w.u64(m.to);
  w.u64(m.term);
  w.u64(m.log_index);
  w.u64(m.log_term);
  w.u64(m.commit);
  w.u8(m.reject ? 1 : 0);
  w.u64(m.reject_hint);
  w.u64(m.reject_hint_term);
  w.u64(m.context);
  w.u64(m.sent_at);
  w.u64(m.snapshot.last_index);
  w.u64(m.snapshot.last_term);
  w.str(encode_configuration(m.snapshot.configuration));
  w.u32(static_cast<std::uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries) {
    w.u64(e.index);
    w.u64(e.term);
    w.u8(static_cast<std::uint8_t>(e.kind));
    w.str(e.payload);
  }
  w.str(m.data);
}

bool read_message(Reader& r, Message& m, std::string& why) {
  std::uint8_t type = 0, reject = 0;
  std::string configuration;
  std::uint32_t count = 0;
  if (!r.u8(type) || !r.u64(m.from) || !r.u64(m.to) || !r.u64(m.term) || !r.u64(m.log_index) || !r.u64(m.log_term) ||
      !r.u64(m.commit) || !r.u8(reject) || !r.u64(m.reject_hint) || !r.u64(m.reject_hint_term) || !r.u64(m.context) ||
      !r.u64(m.sent_at) || !r.u64(m.snapshot.last_index) || !r.u64(m.snapshot.last_term) || !r.str(configuration) ||
      !r.u32(count)) {
    why = "message truncated";
    return false;
  }
  if (type > static_cast<std::uint8_t>(MessageType::kInstallSnapshotResponse)) {
    why = "unknown message type " + std::to_string(type);
    return false;
  }
  m.type = static_cast<MessageType>(type);
  m.reject = reject != 0;
  Result<Configuration> c = decode_configuration(configuration);
  if (!c.is_ok()) {
    why = c.status().message();
    return false;
  }
  m.snapshot.configuration = c.value();
  // Each entry needs at least 21 bytes: refuse a count the bytes cannot hold before reserving for it.
  if (count > r.remaining() / 21) {
    why = "entry count " + std::to_string(count) + " exceeds the frame";
    return false;
  }
  m.entries.resize(count);
  for (Entry& e : m.entries) {
    std::uint8_t kind = 0;
    if (!r.u64(e.index) || !r.u64(e.term) || !r.u8(kind) || !r.str(e.payload)) {
      why = "entry truncated";
      return false;
    }
    if (kind > static_cast<std::uint8_t>(EntryKind::kNoop)) {
      why = "unknown entry kind " + std::to_string(kind);
      return false;
    }
    e.kind = static_cast<EntryKind>(kind);
  }
  if (!r.str(m.data)) {
    why = "snapshot data truncated";
    return false;
  }
  return true;
}

}  // namespace

std::string encode_hello(const Hello& hello) {
  Writer w;
  w.str(hello.cluster);
  w.u64(hello.from);
  w.str(hello.from_name);
  w.u64(hello.to);
  w.str(hello.from_host);
  w.u16(hello.from_port);
  return frame(FrameType::kHello, w.take());
}

std::string encode_welcome() { return frame(FrameType::kWelcome, ""); }

std::string encode_refusal(const std::string& reason) {
  Writer w;
  w.str(reason);
  return frame(FrameType::kRefusal, w.take());
}

std::string encode_batch(const std::vector<Message>& messages) {
  Writer w;
  w.u32(static_cast<std::uint32_t>(messages.size()));
  for (const Message& m : messages) write_message(w, m);
  return frame(FrameType::kBatch, w.take());
}

Result<Frame> decode_frame(std::string_view bytes, std::size_t max_payload) {
  Reader r(bytes);
  std::uint32_t magic = 0, length = 0, crc = 0;
  std::uint8_t version = 0, type = 0;
  std::uint16_t reserved = 0;
  if (!r.u32(magic) || !r.u8(version) || !r.u8(type) || !r.u16(reserved) || !r.u32(length) || !r.u32(crc)) {
    return malformed("shorter than its " + std::to_string(kFrameHeader) + "-byte header");
  }
  if (magic != kMagic) return malformed("not a raftkit frame (bad magic)");
  if (version != kVersion) {
    return Status(ErrorCode::kInvalidArgument, "wire version " + std::to_string(version) + " is not supported (this "
                                               "peer speaks version " + std::to_string(kVersion) + ")");
  }
  if (type < static_cast<std::uint8_t>(FrameType::kHello) || type > static_cast<std::uint8_t>(FrameType::kJoinReply)) {
    return malformed("unknown frame type " + std::to_string(type));
  }
  if (length > max_payload) {
    return Status(ErrorCode::kInvalidArgument, "frame of " + std::to_string(length) + " bytes exceeds the maximum of " +
                                                   std::to_string(max_payload));
  }
  if (length != bytes.size() - kFrameHeader) {
    return malformed("length field says " + std::to_string(length) + " bytes, the frame holds " +
                     std::to_string(bytes.size() - kFrameHeader));
  }
  const std::string_view payload = bytes.substr(kFrameHeader);
  if (crc32c(payload) != crc) return malformed("payload fails its checksum");
  return Frame{static_cast<FrameType>(type), payload};
}

Result<Hello> decode_hello(std::string_view payload) {
  Reader r(payload);
  Hello h;
  if (!r.str(h.cluster) || !r.u64(h.from) || !r.str(h.from_name) || !r.u64(h.to)) return malformed("bad hello");
  if (r.remaining() != 0) {  // the sender's address, sent since membership changes could outrun a peer
    if (!r.str(h.from_host) || !r.u16(h.from_port)) return malformed("bad hello");
  }
  if (r.remaining() != 0) return malformed("bad hello");
  return h;
}

Result<std::string> decode_refusal(std::string_view payload) {
  Reader r(payload);
  std::string reason;
  if (!r.str(reason) || r.remaining() != 0) return malformed("bad refusal");
  return reason;
}

Result<std::vector<Message>> decode_batch(std::string_view payload) {
  Reader r(payload);
  std::uint32_t count = 0;
  if (!r.u32(count)) return malformed("batch without a count");
  if (count > r.remaining() / 64) return malformed("message count " + std::to_string(count) + " exceeds the frame");
  std::vector<Message> out(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string why;
    if (!read_message(r, out[i], why)) return malformed("message " + std::to_string(i) + ": " + why);
  }
  if (r.remaining() != 0) return malformed(std::to_string(r.remaining()) + " stray bytes after the batch");
  return out;
}

std::string encode_join(const JoinRequest& request) {
  Writer w;
  w.str(request.cluster);
  w.str(request.name);
  w.str(request.host);
  w.u16(request.port);
  w.str(request.info);
  w.u8(request.leave ? 1 : 0);
  return frame(FrameType::kJoin, w.take());
}

Result<JoinRequest> decode_join(std::string_view payload) {
  Reader r(payload);
  JoinRequest q;
  std::uint8_t leave = 0;
  if (!r.str(q.cluster) || !r.str(q.name) || !r.str(q.host) || !r.u16(q.port) || !r.str(q.info) || !r.u8(leave) ||
      r.remaining() != 0 || q.name.empty()) {
    return malformed("bad join request");
  }
  q.leave = leave != 0;
  return q;
}

std::string encode_join_reply(const JoinReply& reply) {
  Writer w;
  w.u8(reply.ok ? 1 : 0);
  w.str(reply.error);
  w.str(reply.leader_host);
  w.u16(reply.leader_port);
  w.u64(reply.id);
  w.u32(static_cast<std::uint32_t>(reply.members.size()));
  for (const PeerAddress& m : reply.members) {
    w.u64(m.id);
    w.str(m.name);
    w.str(m.host);
    w.u16(m.port);
  }
  return frame(FrameType::kJoinReply, w.take());
}

Result<JoinReply> decode_join_reply(std::string_view payload) {
  Reader r(payload);
  JoinReply a;
  std::uint8_t ok = 0;
  std::uint32_t count = 0;
  if (!r.u8(ok) || !r.str(a.error) || !r.str(a.leader_host) || !r.u16(a.leader_port) || !r.u64(a.id) || !r.u32(count) ||
      count > r.remaining() / 18) {
    return malformed("bad join reply");
  }
  a.ok = ok != 0;
  a.members.resize(count);
  for (PeerAddress& m : a.members) {
    if (!r.u64(m.id) || !r.str(m.name) || !r.str(m.host) || !r.u16(m.port)) return malformed("bad join reply member");
  }
  if (r.remaining() != 0) return malformed("stray bytes after a join reply");
  return a;
}

}  // namespace raftkit::wire
