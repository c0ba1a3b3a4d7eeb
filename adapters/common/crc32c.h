// CRC-32C (Castagnoli), the checksum on every stored entry, hard state and snapshot record. Uses the SSE4.2
// instruction when the CPU has it, a table otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace raftkit {

std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n);
inline std::uint32_t crc32c(std::string_view bytes) { return crc32c_extend(0, bytes.data(), bytes.size()); }

}  // namespace raftkit
