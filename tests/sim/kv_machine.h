// The simulator's replicated state machine: registers under string keys, with put and compare-and-set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace raftkit::sim {

struct Command {
  std::uint64_t op_id = 0;
  bool is_cas = false;
  std::string key;
  std::string value;
  std::optional<std::string> expected;  // cas only; nullopt means "absent"
};

std::string encode_command(const Command& c);
std::optional<Command> decode_command(const std::string& payload);

class KvMachine {
 public:
  // Returns whether the command took effect (a put always does; a cas only when expected matched).
  bool apply(const Command& c);
  std::optional<std::string> get(const std::string& key) const;
  // Snapshots: the whole state, copied (the simulated states are tiny), and a digest of it for the invariants.
  const std::map<std::string, std::string>& data() const { return data_; }
  void restore(std::map<std::string, std::string> data) { data_ = std::move(data); }
  std::uint64_t digest() const;

 private:
  std::map<std::string, std::string> data_;
};

}  // namespace raftkit::sim
