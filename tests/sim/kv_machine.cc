#include "tests/sim/kv_machine.h"

#include <sstream>
#include <vector>

namespace raftkit::sim {

// "<op>|P|<key>|<value>" or "<op>|C|<key>|<value>|<expected or ~>"
std::string encode_command(const Command& c) {
  std::string s = std::to_string(c.op_id) + (c.is_cas ? "|C|" : "|P|") + c.key + "|" + c.value;
  if (c.is_cas) s += "|" + c.expected.value_or("~");
  return s;
}

std::optional<Command> decode_command(const std::string& payload) {
  std::vector<std::string> parts;
  std::stringstream in(payload);
  std::string part;
  while (std::getline(in, part, '|')) parts.push_back(part);
  if (parts.size() < 4) return std::nullopt;
  Command c;
  c.op_id = std::stoull(parts[0]);
  c.is_cas = parts[1] == "C";
  c.key = parts[2];
  c.value = parts[3];
  if (c.is_cas) {
    if (parts.size() != 5) return std::nullopt;
    if (parts[4] != "~") c.expected = parts[4];
  }
  return c;
}

bool KvMachine::apply(const Command& c) {
  if (c.is_cas && get(c.key) != c.expected) return false;
  data_[c.key] = c.value;
  return true;
}

std::optional<std::string> KvMachine::get(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t KvMachine::digest() const {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& [k, v] : data_) {
    for (char ch : k + '=' + v + ';') h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
  }
  return h;
}

}  // namespace raftkit::sim
