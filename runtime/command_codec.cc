#include "runtime/command_codec.h"

#include "consensus/little_endian.h"

namespace raftkit {

std::string encode_command(std::string_view command, std::uint64_t client, std::uint64_t request) {
  std::string out(1, static_cast<char>(client ? 1 : 0));
  if (client) {
    put_u64(out, client);
    put_u64(out, request);
  }
  out.append(command);
  return out;
}

Command decode_command(std::string_view payload) {
  Command c;
  if (payload.empty()) return c;
  if (payload[0] == 1 && payload.size() >= 17) {
    c.client = get_fixed(payload.data() + 1, 8);
    c.request = get_fixed(payload.data() + 9, 8);
    c.text = payload.substr(17);
  } else {
    c.text = payload.substr(1);
  }
  return c;
}

}  // namespace raftkit
