// Fuzz target: the records persistent engines store (adapters/common/record_codec.h) and the configuration codec,
// on bytes as a damaged or foreign disk returns them. Whatever the bytes, decoding must not crash or throw; a record
// that decodes must encode back to exactly its bytes (the layouts are canonical), so recovery never rewrites a record
// it read as something else. Each input is tried as it is and sealed with a valid checksum, so the fuzzer reaches
// the field checks behind the CRC.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/common/crc32c.h"
#include "adapters/common/record_codec.h"
#include "consensus/log_types.h"

using namespace raftkit;

namespace {

std::uint64_t leading_u64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) v |= std::uint64_t(static_cast<std::uint8_t>(bytes[i])) << (8 * i);
  return v;
}

void check_records(std::string_view bytes) {
  // An entry, under the index it claims and under another.
  const Index claimed = leading_u64(bytes);
  for (Index expected : {claimed, claimed + 1}) {
    Result<Entry> e = decode_entry(bytes, expected);
    Result<Term> t = decode_entry_term(bytes, expected);
    if (e.is_ok() != t.is_ok()) std::abort();
    if (!e.is_ok()) continue;
    if (e.value().index != expected || t.value() != e.value().term) std::abort();
    if (encode_entry(e.value()) != bytes || encoded_entry_size(e.value()) != bytes.size()) std::abort();
    std::string into(bytes.size(), '\0');
    encode_entry_into(e.value(), into.data());
    if (into != bytes) std::abort();
  }
  if (auto hs = decode_hard_state(bytes); hs.is_ok() && encode_hard_state(hs.value()) != bytes) std::abort();
  if (auto ta = decode_tail_anchor(bytes); ta.is_ok() && encode_tail_anchor(ta.value()) != bytes) std::abort();
  if (auto sm = decode_snapshot_meta(bytes); sm.is_ok() && encode_snapshot_meta(sm.value()) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  check_records(bytes);
  std::string sealed = bytes;
  const std::uint32_t crc = crc32c(sealed);
  for (int i = 0; i < 4; ++i) sealed.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  check_records(sealed);

  if (auto key = index_from_key(bytes); key.is_ok() && entry_key(key.value()) != bytes) std::abort();
  if (auto c = decode_configuration(bytes); c.is_ok()) {
    if (encode_configuration(c.value()) != bytes) std::abort();
    (void)c.value().validate();  // a decoded configuration may be invalid; validating it must not crash
    (void)c.value().to_string();
  }
  return 0;
}
