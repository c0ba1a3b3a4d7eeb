// Fuzz target: the key-value state machine on committed entries it did not produce (another version's, a buggy or
// hostile client's). Whatever the bytes, applying them must not crash or throw, must answer an outcome that
// decodes, and a command that decodes must re-encode to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "examples/kv/kv_commands.h"
#include "examples/kv/kv_machine.h"

using namespace raftkit::examples::kv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static KvMachine machine;  // state carries across inputs, as a replica's does across entries
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (std::optional<Command> c = decode_command(bytes)) {
    if (encode(*c) != bytes) std::abort();
  }
  if (std::optional<Query> q = decode_query(bytes)) {
    if (encode(*q) != bytes) std::abort();
  }
  if (!decode_outcome(machine.handle_write(bytes))) std::abort();
  if (!decode_query(bytes) || decode_query(bytes)->kind == Query::Kind::kGet) {
    if (!decode_outcome(machine.handle_read(bytes))) std::abort();
  }
  if (std::optional<Outcome> o = decode_outcome(bytes)) {
    if (encode(*o) != bytes) std::abort();
  }
  return 0;
}
