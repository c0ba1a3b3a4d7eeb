// Fuzz target: the peer wire format on bytes from anyone who can reach the peer port. Whatever the bytes, decoding
// must not crash, throw, or trust a length beyond the bytes present; whatever decodes must encode to a frame that
// decodes to the same thing (encoding what was decoded is a fixed point).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "transport/wire.h"

using namespace raftkit;

namespace {

constexpr std::size_t kMaxPayload = 1 << 20;

// Encoders produce whole frames. Whatever a decoder accepts, encoded, must frame and decode again to something that
// encodes to the very same frame.
template <typename Decode, typename Encode>
void check_fixed_point(std::string_view payload, Decode decode, Encode encode) {
  auto first = decode(payload);
  if (!first.is_ok()) return;
  const std::string once = encode(first.value());
  auto frame = wire::decode_frame(once, once.size());
  if (!frame.is_ok()) std::abort();
  auto second = decode(frame.value().payload);
  if (!second.is_ok() || encode(second.value()) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // As a whole frame, the way the listener reads one.
  if (auto frame = wire::decode_frame(bytes, kMaxPayload); frame.is_ok()) {
    if (frame.value().payload.size() > kMaxPayload) std::abort();
  }
  // The payload of each frame type, bypassing the checksum so the fuzzer reaches the decoders directly.
  check_fixed_point(bytes, wire::decode_hello, wire::encode_hello);
  check_fixed_point(bytes, wire::decode_refusal, wire::encode_refusal);
  check_fixed_point(bytes, wire::decode_batch, wire::encode_batch);
  check_fixed_point(bytes, wire::decode_join, wire::encode_join);
  check_fixed_point(bytes, wire::decode_join_reply, wire::encode_join_reply);
  return 0;
}
