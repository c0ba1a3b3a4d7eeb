#include "adapters/common/record_codec.h"

#include <cstring>

#include "adapters/common/crc32c.h"
#include "consensus/little_endian.h"

namespace raftkit {
namespace {

// Fixed-width reads at a position the caller has checked.
std::uint64_t u64_at(std::string_view in, std::size_t pos) { return get_fixed(in.data() + pos, 8); }
std::uint32_t u32_at(std::string_view in, std::size_t pos) {
  return static_cast<std::uint32_t>(get_fixed(in.data() + pos, 4));
}

void seal(std::string& out) { put_u32(out, crc32c(out)); }

// Checks length and checksum; returns the body (without the crc) on success.
Result<std::string_view> unseal(std::string_view bytes, std::size_t min_body, const char* what) {
  if (bytes.size() < min_body + 4) {
    return Status(ErrorCode::kCorruption, std::string(what) + " record is truncated (" + std::to_string(bytes.size()) +
                                              " bytes)");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32c(body) != u32_at(bytes, bytes.size() - 4)) {
    return Status(ErrorCode::kCorruption, std::string(what) + " record fails its checksum");
  }
  return body;
}

constexpr std::size_t kEntryHeader = 8 + 8 + 1;

}  // namespace

std::string entry_key(Index index) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[7 - i] = static_cast<char>((index >> (8 * i)) & 0xff);
  return key;
}

Result<Index> index_from_key(std::string_view key) {
  if (key.size() != 8) return Status(ErrorCode::kCorruption, "entry key of " + std::to_string(key.size()) + " bytes");
  Index v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(key[i]);
  return v;
}

std::size_t encoded_entry_size(const Entry& e) { return kEntryHeader + e.payload.size() + 4; }

void encode_entry_into(const Entry& e, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((e.index >> (8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<char>((e.term >> (8 * i)) & 0xff);
  out[16] = static_cast<char>(e.kind);
  std::memcpy(out + kEntryHeader, e.payload.data(), e.payload.size());
  const std::size_t body = kEntryHeader + e.payload.size();
  const std::uint32_t crc = crc32c(std::string_view(out, body));
  for (int i = 0; i < 4; ++i) out[body + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

std::string encode_entry(const Entry& e) {
  std::string out(encoded_entry_size(e), '\0');
  encode_entry_into(e, out.data());
  return out;
}

Result<Term> decode_entry_term(std::string_view bytes, Index expected_index) {
  Result<std::string_view> body = unseal(bytes, kEntryHeader, "entry");
  if (!body.is_ok()) {
    return Status(ErrorCode::kCorruption, "entry " + std::to_string(expected_index) + ": " + body.status().message());
  }
  const Index index = u64_at(body.value(), 0);
  if (index != expected_index) {
    return Status(ErrorCode::kCorruption, "entry stored at index " + std::to_string(expected_index) + " says it is " +
                                              std::to_string(index));
  }
  const auto kind = static_cast<std::uint8_t>(body.value()[16]);
  if (kind > static_cast<std::uint8_t>(EntryKind::kNoop)) {
    return Status(ErrorCode::kCorruption, "entry " + std::to_string(index) + " has unknown kind " + std::to_string(kind));
  }
  return u64_at(body.value(), 8);
}

Result<Entry> decode_entry(std::string_view bytes, Index expected_index) {
  Result<Term> term = decode_entry_term(bytes, expected_index);
  if (!term.is_ok()) return term.status();
  Entry e;
  e.index = expected_index;
  e.term = term.value();
  e.kind = static_cast<EntryKind>(static_cast<std::uint8_t>(bytes[16]));
  e.payload.assign(bytes.substr(kEntryHeader, bytes.size() - kEntryHeader - 4));
  return e;
}

std::string encode_hard_state(const HardState& hs) {
  std::string out;
  put_u64(out, hs.term);
  put_u64(out, hs.voted_for);
  put_u64(out, hs.commit);
  seal(out);
  return out;
}

Result<HardState> decode_hard_state(std::string_view bytes) {
  Result<std::string_view> body = unseal(bytes, 24, "hard state");
  if (!body.is_ok()) return body.status();
  if (body.value().size() != 24) return Status(ErrorCode::kCorruption, "hard state record has the wrong length");
  return HardState{u64_at(body.value(), 0), u64_at(body.value(), 8), u64_at(body.value(), 16)};
}

std::string encode_tail_anchor(const TailAnchor& t) {
  std::string out;
  put_u64(out, t.last_index);
  put_u64(out, t.last_term);
  seal(out);
  return out;
}

Result<TailAnchor> decode_tail_anchor(std::string_view bytes) {
  Result<std::string_view> body = unseal(bytes, 16, "tail anchor");
  if (!body.is_ok()) return body.status();
  if (body.value().size() != 16) return Status(ErrorCode::kCorruption, "tail anchor record has the wrong length");
  return TailAnchor{u64_at(body.value(), 0), u64_at(body.value(), 8)};
}

std::string encode_snapshot_meta(const SnapshotMeta& meta) {
  std::string out;
  put_u64(out, meta.last_index);
  put_u64(out, meta.last_term);
  out += encode_configuration(meta.configuration);
  seal(out);
  return out;
}

Result<SnapshotMeta> decode_snapshot_meta(std::string_view bytes) {
  Result<std::string_view> body = unseal(bytes, 16, "snapshot metadata");
  if (!body.is_ok()) return body.status();
  SnapshotMeta meta;
  meta.last_index = u64_at(body.value(), 0);
  meta.last_term = u64_at(body.value(), 8);
  Result<Configuration> c = decode_configuration(std::string(body.value().substr(16)));
  if (!c.is_ok()) return Status(ErrorCode::kCorruption, "snapshot metadata: " + c.status().message());
  meta.configuration = c.value();
  return meta;
}

}  // namespace raftkit
