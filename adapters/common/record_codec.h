// The byte layout persistent engines store, each record ending in a CRC-32C over everything before it, so that a
// record read back is either exactly what was written or reported as corrupt. Integers are little-endian; entry
// keys are big-endian so that an engine's ordered keys sort by index.
//
//   entry:       u64 index | u64 term | u8 kind | payload bytes | u32 crc
//   hard state:  u64 term | u64 voted_for | u64 commit | u32 crc
//   snapshot:    u64 last_index | u64 last_term | configuration bytes | u32 crc
//   tail anchor: u64 last_index | u64 last_term | u32 crc
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "consensus/log_types.h"
#include "consensus/status.h"

namespace raftkit {

std::string entry_key(Index index);  // 8 bytes, big-endian
Result<Index> index_from_key(std::string_view key);

std::string encode_entry(const Entry& e);
std::size_t encoded_entry_size(const Entry& e);
// Encodes into out[0, encoded_entry_size(e)): lets an engine write straight into its own buffer (LMDB's
// MDB_RESERVE), saving a copy of every payload.
void encode_entry_into(const Entry& e, char* out);
// expected_index guards against a record stored under the wrong key (a misdirected write).
Result<Entry> decode_entry(std::string_view bytes, Index expected_index);
// Just the term, after verifying the checksum (open-time scans need no payload copy).
Result<Term> decode_entry_term(std::string_view bytes, Index expected_index);

std::string encode_hard_state(const HardState& hs);
Result<HardState> decode_hard_state(std::string_view bytes);

// The tail anchor: the last index and term as of the latest write, stored beside the entries in the same
// transaction. Engines without page checksums (LMDB, SQLite) check it on open: a lost or stale page that drops
// entries from the end of the log then shows up as a mismatch instead of a silently shorter log.
struct TailAnchor {
  Index last_index = 0;
  Term last_term = 0;
};
std::string encode_tail_anchor(const TailAnchor& t);
Result<TailAnchor> decode_tail_anchor(std::string_view bytes);

std::string encode_snapshot_meta(const SnapshotMeta& meta);
Result<SnapshotMeta> decode_snapshot_meta(std::string_view bytes);

}  // namespace raftkit
