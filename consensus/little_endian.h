// Fixed-width little-endian integers in byte strings: how every raftkit record, file and metadata format stores
// numbers (log entries, configurations, snapshots, sessions, the address book, I/O traces).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace raftkit {

inline void put_fixed(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& out, std::uint64_t v) { put_fixed(out, v, 8); }
inline void put_u32(std::string& out, std::uint32_t v) { put_fixed(out, v, 4); }

// The `bytes`-byte integer at p; the caller has checked they are there.
inline std::uint64_t get_fixed(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Reads 8 bytes at pos and advances it; false (nothing read) if fewer remain.
inline bool get_u64(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  if (in.size() < pos || in.size() - pos < 8) return false;
  v = get_fixed(in.data() + pos, 8);
  pos += 8;
  return true;
}

}  // namespace raftkit
