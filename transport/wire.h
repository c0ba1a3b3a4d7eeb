// The peer-to-peer wire format: versioned, length-prefixed, checksummed frames carrying Raft messages.
//
//   frame   := magic u32 "RKW1" | version u8 | type u8 | reserved u16 (0) | length u32 | crc32c(payload) u32 | payload
//   hello   := cluster (str) | from id u64 | from name (str) | to id u64          — the first frame on a connection
//   welcome := (empty)                                                           — the hello was accepted
//   refusal := reason (str)                                                      — and the connection closes
//   batch   := count u32 | message*                                              — Raft messages, in order
//   join    := cluster, name, host (str) | port u16 | info (str) | leave u8        — instead of a hello
//   reply   := ok u8 | error, leader host (str) | leader port u16 | id u64 | count u32 |
//              (id u64 | name, host (str) | port u16)*                           — the answer; then close
//   message := type u8 | from, to, term, log_index, log_term, commit u64 | reject u8 | reject_hint, reject_hint_term,
//              context, sent_at, snapshot index, snapshot term u64 | configuration (str) | entry count u32 |
//              (index u64 | term u64 | kind u8 | payload str)* | data (str)
//   str     := length u32 | bytes;  integers little-endian.
//
// Decoding never trusts a length before checking it against the bytes present and the configured maximum, and
// every failure is a Status naming what was wrong; nothing here aborts on bad input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/message.h"
#include "consensus/status.h"
#include "transport/transport.h"

namespace raftkit::wire {

inline constexpr std::uint32_t kMagic = 0x31574b52;  // "RKW1" as little-endian bytes
inline constexpr std::uint8_t kVersion = 2;  // 2: messages carry snapshot chunk data
inline constexpr std::size_t kFrameHeader = 16;

enum class FrameType : std::uint8_t { kHello = 1, kWelcome = 2, kRefusal = 3, kBatch = 4, kJoin = 5, kJoinReply = 6 };

struct Hello {
  std::string cluster;
  NodeId from = kNoNode;
  std::string from_name;
  NodeId to = kNoNode;
  // Where the sender listens ("" host: take the connection's source address), so a receiver that does not know the
  // sender yet can admit it and answer (TransportOptions::admit_unknown). Absent (port 0) in older hellos.
  std::string from_host;
  std::uint16_t from_port = 0;
  bool operator==(const Hello&) const = default;
};

struct Frame {
  FrameType type = FrameType::kBatch;
  std::string_view payload;  // points into the decoded buffer
};

std::string encode_hello(const Hello& hello);
std::string encode_welcome();
std::string encode_refusal(const std::string& reason);
std::string encode_batch(const std::vector<Message>& messages);

// Decodes one whole frame (a WebSocket binary message carries exactly one). max_payload bounds the payload.
Result<Frame> decode_frame(std::string_view bytes, std::size_t max_payload);
Result<Hello> decode_hello(std::string_view payload);
Result<std::string> decode_refusal(std::string_view payload);
Result<std::vector<Message>> decode_batch(std::string_view payload);
std::string encode_join(const JoinRequest& request);
std::string encode_join_reply(const JoinReply& reply);
Result<JoinRequest> decode_join(std::string_view payload);
Result<JoinReply> decode_join_reply(std::string_view payload);

}  // namespace raftkit::wire
