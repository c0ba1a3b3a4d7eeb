#include "adapters/rocksdb/wal_check.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "adapters/common/crc32c.h"

namespace raftkit {
namespace {

constexpr std::size_t kBlockSize = 32768;
constexpr std::uint32_t kMaskDelta = 0xa282ead8u;

std::uint32_t unmask(std::uint32_t masked) {
  const std::uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

std::uint32_t le32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

// Record types of RocksDB's log format. FULL and FIRST begin a logical record (so do the recyclable variants and
// the metadata records of newer formats); MIDDLE and LAST continue one.
bool begins_record(unsigned type) { return type == 1 || type == 2 || type == 5 || type == 6 || type >= 9; }
std::size_t header_size(unsigned type) { return (type >= 5 && type <= 8) || type == 10 ? 11 : 7; }

// A record that passes its checksum at pos, and its header size; 0 if none starts there.
std::size_t intact_record_at(const std::string& data, std::size_t pos, std::size_t end, unsigned& type) {
  if (end - pos < 7) return 0;
  const std::uint32_t masked = le32(data, pos);
  const std::size_t length = static_cast<unsigned char>(data[pos + 4]) | (static_cast<unsigned char>(data[pos + 5]) << 8);
  type = static_cast<unsigned char>(data[pos + 6]);
  if (type == 0 && length == 0) return 0;
  const std::size_t header = header_size(type);
  if (pos + header + length > end) return 0;
  const char type_byte = static_cast<char>(type);
  std::uint32_t crc = crc32c_extend(0, &type_byte, 1);
  crc = crc32c_extend(crc, data.data() + pos + 7, header - 7 + length);
  return crc == unmask(masked) ? header + length : 0;
}

}  // namespace

Status check_rocksdb_wal(const std::string& db_dir) {
  std::vector<std::filesystem::path> logs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(db_dir, ec)) {
    if (e.path().extension() == ".log") logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());  // numbered files: older first
  std::string damaged;  // where the first bad or zeroed record was seen
  for (const auto& path : logs) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string data = buf.str();
    for (std::size_t block = 0; block < data.size(); block += kBlockSize) {
      const std::size_t end = std::min(block + kBlockSize, data.size());
      std::size_t pos = block;
      while (end - pos >= 7) {
        unsigned type = 0;
        const std::size_t size = intact_record_at(data, pos, end, type);
        // Named only when reported: a damaged region is searched byte by byte, and may be the whole file.
        const auto where = [&] { return path.filename().string() + " offset " + std::to_string(pos); };
        if (size == 0) {
          // Damage, zeros never written over, or preallocated space. Behind it, in this block or later ones, only
          // the rest of a single in-flight record may follow: search every offset for the start of another.
          if (damaged.empty()) damaged = where();
          ++pos;
          continue;
        }
        if (!damaged.empty() && begins_record(type)) {
          return Status(ErrorCode::kCorruption, "rocksdb WAL damaged at " + damaged + " with an intact record at " +
                                                    where() + " behind it: acknowledged writes would be dropped");
        }
        pos += size;
      }
    }
  }
  return Status::ok();
}

}  // namespace raftkit
