// Fuzz target: what the runtime reads back from committed configuration entries and snapshots, which another
// version or a damaged file may have written: the member address book kept in a configuration's metadata and the
// client-sessions section of a snapshot. Whatever the bytes, decoding must not crash, throw or allocate far beyond
// the input; whatever decodes must encode to bytes that decode to the same thing.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "runtime/membership.h"
#include "runtime/sessions.h"

using namespace raftkit;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  if (auto book = decode_members(bytes); book.is_ok()) {
    const std::string once = encode_members(book.value());
    auto again = decode_members(once);
    if (!again.is_ok() || encode_members(again.value()) != once) std::abort();
  }

  Sessions sessions;
  std::istringstream in(bytes);
  if (sessions.decode(in).is_ok()) {
    const std::string once = sessions.encode();
    Sessions reread;
    std::istringstream in2(once);
    if (!reread.decode(in2).is_ok() || reread.encode() != once || reread.size() != sessions.size()) std::abort();
  }
  return 0;
}
