// How the runtime frames a write in a normal log entry: the command, and the client session it belongs to (Raft
// thesis 6.3; runtime/sessions.h). Entries are replicated and outlive versions, so this framing is part of the
// on-disk format: raftkit-admin decodes it to show entries.
//
//   payload := 0x00 command                                  (no session)
//            | 0x01 client u64-le request u64-le command     (client != 0)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace raftkit {

std::string encode_command(std::string_view command, std::uint64_t client, std::uint64_t request);

struct Command {
  std::uint64_t client = 0, request = 0;  // client 0: no session
  std::string_view text;                  // points into the payload decoded
};
// Any payload decodes: an unknown tag or a short session header is taken as a bare command after the tag byte
// (what the runtime has always applied), so replicas of every version apply the same bytes.
Command decode_command(std::string_view payload);

}  // namespace raftkit
