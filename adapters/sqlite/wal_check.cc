#include "adapters/sqlite/wal_check.h"

#include <fstream>
#include <sstream>

namespace raftkit {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

std::uint32_t word(const std::string& s, std::size_t at, bool big_endian) {
  if (big_endian) return be32(s, at);
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

// SQLite's WAL checksum: over 8-byte steps, s0 += x0 + s1; s1 += x1 + s0.
void checksum(const std::string& s, std::size_t at, std::size_t n, bool big_endian, std::uint32_t& s0, std::uint32_t& s1) {
  for (std::size_t i = at; i + 8 <= at + n; i += 8) {
    s0 += word(s, i, big_endian) + s1;
    s1 += word(s, i + 4, big_endian) + s0;
  }
}

}  // namespace

Status check_sqlite_wal(const std::string& wal_path) {
  std::ifstream in(wal_path, std::ios::binary);
  if (!in) return Status::ok();  // no WAL: nothing to replay
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string wal = buf.str();
  if (wal.size() < 32) return Status::ok();
  const std::uint32_t magic = be32(wal, 0);
  if (magic != 0x377f0682 && magic != 0x377f0683) return Status::ok();  // not a WAL SQLite would replay
  const bool big_endian = (magic & 1) != 0;
  const std::uint32_t page_size = be32(wal, 8);
  const std::uint32_t salt1 = be32(wal, 16), salt2 = be32(wal, 20);
  std::uint32_t s0 = 0, s1 = 0;
  checksum(wal, 0, 24, big_endian, s0, s1);
  // A header that fails its checksum makes SQLite treat the whole WAL as empty; the frames behind it were
  // written after the header, in the same generation, and cannot be told apart here.
  if (s0 != be32(wal, 24) || s1 != be32(wal, 28) || page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return Status::ok();
  }
  const std::size_t frame_size = 24 + static_cast<std::size_t>(page_size);
  bool valid = true;
  std::size_t damaged_at = 0, commits_behind = 0;
  for (std::size_t pos = 32; pos + frame_size <= wal.size(); pos += frame_size) {
    const bool same_generation = be32(wal, pos + 8) == salt1 && be32(wal, pos + 12) == salt2;
    const bool commit = be32(wal, pos + 4) != 0;
    if (valid) {
      std::uint32_t c0 = s0, c1 = s1;
      checksum(wal, pos, 8, big_endian, c0, c1);
      checksum(wal, pos + 24, page_size, big_endian, c0, c1);
      if (same_generation && c0 == be32(wal, pos + 16) && c1 == be32(wal, pos + 20)) {
        s0 = c0;
        s1 = c1;
        continue;
      }
      valid = false;
      damaged_at = pos;
    }
    if (same_generation && commit) ++commits_behind;
  }
  if (commits_behind >= 2) {
    return Status(ErrorCode::kCorruption, "sqlite WAL frame at offset " + std::to_string(damaged_at) +
                                              " is damaged and " + std::to_string(commits_behind) +
                                              " committed transactions behind it would be dropped");
  }
  return Status::ok();
}

}  // namespace raftkit
