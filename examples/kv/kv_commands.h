// The key-value example's commands, queries and results in binary, as they travel through the Raft log.
//
// The HTTP edge encodes each request once; the state machine decodes it once on every replica, and its result goes
// back to the edge in binary too: nothing is parsed or printed as JSON on the way. Every decoder here takes bytes
// it did not produce — a committed entry may come from another version of the server or from a buggy or hostile
// client — so each one checks every length and answers std::nullopt rather than reading past the end or throwing.
//
//   command: 'S' key value       set
//            'D' key             delete
//            'C' key E? value    compare-and-set: E is 0 (expect the key absent) or 1 followed by the expected value
//   query:   'G' key             get
//            'A'                 this replica's whole state (a summary, see KvMachine::state_summary)
//   where key, value and expected are a u32 little-endian length and that many bytes.
//
//   result:  'S'                        set done
//            'D' existed(0|1)           delete done
//            'C' ok(0|1) V?             cas: whether it matched, then 0 (key absent now) or 1 and the current value
//            'G' 0 | 'G' 1 value        get: absent, or the value
//            'E' message                the command could not be applied (malformed; nothing changed)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raftkit::examples::kv {

struct Command {
  enum class Op : char { kSet = 'S', kDelete = 'D', kCas = 'C' };
  Op op = Op::kSet;
  std::string key;
  std::string value;
  std::optional<std::string> expected;  // kCas: the value the key must hold, or nullopt for "absent"
};

struct Query {
  enum class Kind : char { kGet = 'G', kAll = 'A' };
  Kind kind = Kind::kGet;
  std::string key;
};

struct Outcome {
  enum class Kind : char { kSet = 'S', kDelete = 'D', kCas = 'C', kGet = 'G', kError = 'E' };
  Kind kind = Kind::kError;
  bool flag = false;                  // kDelete: existed; kCas: matched
  std::optional<std::string> value;   // kCas: the current value; kGet: the value (nullopt: absent)
  std::string error;                  // kError
};

std::string encode(const Command& c);
std::optional<Command> decode_command(std::string_view bytes);
std::string encode(const Query& q);
std::optional<Query> decode_query(std::string_view bytes);
std::string encode(const Outcome& r);
std::optional<Outcome> decode_outcome(std::string_view bytes);

// The result a state machine gives a command it cannot decode.
Outcome error_outcome(std::string message);

}  // namespace raftkit::examples::kv
