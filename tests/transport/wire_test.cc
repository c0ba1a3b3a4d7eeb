// The wire format: round trips, and every kind of bad input refused with a clear error (never a crash).
#include <catch2/catch.hpp>

#include "consensus/random.h"
#include "transport/wire.h"

namespace {

using namespace raftkit;
using namespace raftkit::wire;

Message full_message() {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 3;
  m.to = 1;
  m.term = 7;
  m.log_index = 41;
  m.log_term = 6;
  m.commit = 40;
  m.reject = true;
  m.reject_hint = 39;
  m.reject_hint_term = 5;
  m.context = 12345;
  m.sent_at = 999;
  m.snapshot = SnapshotMeta{30, 4, Configuration{{1, 2, 3}, {}, {4}}};
  m.entries = {Entry{42, 7, EntryKind::kNormal, "hello"}, Entry{43, 7, EntryKind::kNoop, ""},
               Entry{44, 7, EntryKind::kConfiguration, encode_configuration(Configuration{{1, 2}, {1, 2, 3}, {}})}};
  m.data = std::string("chunk\0bytes", 11);
  return m;
}

bool same(const Message& a, const Message& b) {
  return a.type == b.type && a.from == b.from && a.to == b.to && a.term == b.term && a.log_index == b.log_index &&
         a.log_term == b.log_term && a.commit == b.commit && a.reject == b.reject && a.reject_hint == b.reject_hint &&
         a.reject_hint_term == b.reject_hint_term && a.context == b.context && a.sent_at == b.sent_at &&
         a.snapshot == b.snapshot && a.entries == b.entries && a.data == b.data;
}

TEST_CASE("wire: a batch of messages round-trips every field", "[wire]") {
  std::vector<Message> batch = {full_message(), Message{}};
  batch[1].type = MessageType::kHeartbeatResponse;
  batch[1].from = 2;
  batch[1].to = 1;
  const std::string bytes = encode_batch(batch);
  auto frame = decode_frame(bytes, 1 << 20);
  REQUIRE(frame.is_ok());
  CHECK(frame.value().type == FrameType::kBatch);
  auto decoded = decode_batch(frame.value().payload);
  REQUIRE(decoded.is_ok());
  REQUIRE(decoded.value().size() == 2);
  CHECK(same(decoded.value()[0], batch[0]));
  CHECK(same(decoded.value()[1], batch[1]));
}

TEST_CASE("wire: hello, welcome and refusal round-trip", "[wire]") {
  Hello h{"prod-eu", 3, "node-c", 1, "10.0.0.3", 7003};
  const std::string hello_bytes = encode_hello(h);  // a Frame's payload points into the bytes it was decoded from
  auto frame = decode_frame(hello_bytes, 1024);
  REQUIRE(frame.is_ok());
  CHECK(frame.value().type == FrameType::kHello);
  CHECK(decode_hello(frame.value().payload).value() == h);
  // A hello without the sender's address (older peers) still decodes: port 0 means "unknown".
  std::string old_payload(frame.value().payload);
  old_payload.resize(old_payload.size() - (4 + 8 + 2));  // "10.0.0.3" with its u32 length, and the u16 port
  auto old = decode_hello(old_payload);
  REQUIRE(old.is_ok());
  CHECK(old.value().from_port == 0);
  CHECK(old.value().from_name == "node-c");
  CHECK_FALSE(decode_hello(old_payload + "x").is_ok());
  const std::string welcome_bytes = encode_welcome();
  CHECK(decode_frame(welcome_bytes, 1024).value().type == FrameType::kWelcome);
  const std::string refusal_bytes = encode_refusal("unknown peer node-x");
  auto refusal = decode_frame(refusal_bytes, 1024);
  CHECK(decode_refusal(refusal.value().payload).value() == "unknown peer node-x");
}

TEST_CASE("wire: bad frames are refused with a reason", "[wire][input]") {
  const std::string good = encode_batch({full_message()});
  auto code_and_message = [](const std::string& bytes, std::size_t max = 1 << 20) {
    auto f = decode_frame(bytes, max);
    REQUIRE_FALSE(f.is_ok());
    return f.status().message();
  };
  CHECK(code_and_message(good.substr(0, 10)).find("header") != std::string::npos);
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  CHECK(code_and_message(bad_magic).find("magic") != std::string::npos);
  std::string future = good;
  future[4] = 3;
  CHECK(code_and_message(future).find("version 3 is not supported") != std::string::npos);
  std::string flipped = good;
  flipped[good.size() - 3] ^= 0x10;
  CHECK(code_and_message(flipped).find("checksum") != std::string::npos);
  CHECK(code_and_message(good, 100).find("exceeds the maximum") != std::string::npos);
  CHECK(code_and_message(good + "x").find("length field") != std::string::npos);
}

TEST_CASE("wire: a lying count or length inside the payload is refused before allocating", "[wire][input]") {
  // A batch payload (as a peer with a valid checksum could send) claiming four billion messages.
  std::string payload(4, '\xff');
  auto f = decode_batch(payload);
  REQUIRE_FALSE(f.is_ok());
  CHECK(f.status().message().find("exceeds the frame") != std::string::npos);
  // An entry payload length beyond the bytes present.
  std::string batch = encode_batch({full_message()});
  std::string body(batch.substr(kFrameHeader));
  body.resize(body.size() - 2);
  CHECK_FALSE(decode_batch(body).is_ok());
}

TEST_CASE("wire: random garbage never crashes the decoder", "[wire][input]") {
  Random random(7);
  const std::string good = encode_batch({full_message(), full_message()});
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    const std::uint64_t flips = 1 + random.below(8);
    for (std::uint64_t k = 0; k < flips; ++k) bytes[random.below(bytes.size())] = static_cast<char>(random.next());
    if (random.below(4) == 0) bytes.resize(random.below(bytes.size()));
    auto f = decode_frame(bytes, 1 << 20);
    if (!f.is_ok()) {
      ++refused;
      continue;
    }
    (void)decode_batch(f.value().payload);
    // Also feed the raw payload past the checksum, as a hostile peer with a valid CRC could.
    (void)decode_batch(std::string_view(bytes).substr(std::min<std::size_t>(bytes.size(), kFrameHeader)));
  }
  CHECK(refused > 19000);
}

}  // namespace

TEST_CASE("wire: join requests and replies round-trip; damaged ones are refused", "[wire][membership]") {
  using namespace raftkit;
  using namespace raftkit::wire;
  JoinRequest q{"kv", "peer4", "10.0.0.4", 7004, "10.0.0.4:8004", false};
  auto f = decode_frame(encode_join(q), 1 << 20);
  REQUIRE(f.is_ok());
  CHECK(f.value().type == FrameType::kJoin);
  auto back = decode_join(f.value().payload);
  REQUIRE(back.is_ok());
  CHECK(back.value().name == "peer4");
  CHECK(back.value().port == 7004);
  CHECK(back.value().info == "10.0.0.4:8004");
  CHECK_FALSE(back.value().leave);

  JoinReply a;
  a.ok = true;
  a.id = 4;
  a.members = {PeerAddress{1, "peer1", "10.0.0.1", 7001}, PeerAddress{4, "peer4", "10.0.0.4", 7004}};
  auto g = decode_frame(encode_join_reply(a), 1 << 20);
  REQUIRE(g.is_ok());
  auto reply = decode_join_reply(g.value().payload);
  REQUIRE(reply.is_ok());
  CHECK(reply.value().ok);
  CHECK(reply.value().id == 4);
  REQUIRE(reply.value().members.size() == 2);
  CHECK(reply.value().members[1].name == "peer4");

  const std::string payload(g.value().payload);
  CHECK_FALSE(decode_join_reply(payload.substr(0, payload.size() - 3)).is_ok());
  CHECK_FALSE(decode_join(std::string_view("\x01\x00\x00\x00", 4)).is_ok());
  std::string lying = payload;
  lying[1 + 4 + 4 + 2 + 8] = '\x7f';  // the member count: far more than the bytes hold
  CHECK_FALSE(decode_join_reply(lying).is_ok());
}
