#include "examples/kv/kv_machine.h"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "examples/cow_map_snapshot.h"
#include "examples/kv/kv_commands.h"

namespace raftkit::examples::kv {

std::string KvMachine::handle_write(const std::string& bytes) {
  std::optional<Command> c = decode_command(bytes);
  if (!c) return encode(error_outcome("not a key-value command this server understands"));
  Outcome r;
  switch (c->op) {
    case Command::Op::kSet:
      data_.set(c->key, std::move(c->value));
      r.kind = Outcome::Kind::kSet;
      break;
    case Command::Op::kDelete:
      r.kind = Outcome::Kind::kDelete;
      r.flag = data_.erase(c->key);
      break;
    case Command::Op::kCas: {
      r.kind = Outcome::Kind::kCas;
      const std::string* current = data_.find(c->key);
      r.flag = c->expected ? current != nullptr && *current == *c->expected : current == nullptr;
      if (r.flag) data_.set(c->key, c->value);
      if (const std::string* now = data_.find(c->key)) r.value = *now;
      break;
    }
  }
  return encode(r);
}

std::string KvMachine::handle_read(const std::string& bytes) {
  std::optional<Query> q = decode_query(bytes);
  if (!q) return encode(error_outcome("not a key-value query this server understands"));
  if (q->kind == Query::Kind::kAll) return state_summary();
  Outcome r;
  r.kind = Outcome::Kind::kGet;
  if (const std::string* v = data_.find(q->key)) r.value = *v;
  return encode(r);
}

std::unique_ptr<StateMachineSnapshot> KvMachine::snapshot() { return std::make_unique<CowMapSnapshot>(data_); }

Status KvMachine::restore(std::istream& in) { return restore_cow_map(data_, in); }

std::string KvMachine::state_summary() const {
  // Sorted by key without copying a value: the digest must not depend on the map's order.
  std::vector<std::pair<const std::string*, const std::string*>> sorted;
  std::uint64_t bytes = 0;
  for (const auto& shard : data_.freeze()) {
    for (const auto& [k, v] : *shard) {
      sorted.emplace_back(&k, &v);
      bytes += k.size() + v.size();
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // a separator, so ("ab","c") and ("a","bc") differ
  };
  for (const auto& [k, v] : sorted) {
    mix(*k);
    mix(*v);
  }
  nlohmann::json out = {{"keys", sorted.size()}, {"digest", std::to_string(h)}};
  if (sorted.size() <= kStateDataMaxKeys && bytes <= kStateDataMaxBytes) {
    nlohmann::json data = nlohmann::json::object();
    for (const auto& [k, v] : sorted) data[*k] = *v;
    out["data"] = std::move(data);
  }
  // Keys and values are valid UTF-8 when they come through the HTTP edge; anything else is shown replaced.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace raftkit::examples::kv
