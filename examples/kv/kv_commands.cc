#include "examples/kv/kv_commands.h"

#include "consensus/little_endian.h"

namespace raftkit::examples::kv {
namespace {

void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Reads a length-prefixed byte string at pos; false if the input ends first.
bool get_bytes(std::string_view in, std::size_t& pos, std::string& out) {
  if (in.size() - pos < 4) return false;
  const std::uint64_t n = get_fixed(in.data() + pos, 4);
  pos += 4;
  if (in.size() - pos < n) return false;
  out.assign(in.substr(pos, n));
  pos += n;
  return true;
}

bool get_flag(std::string_view in, std::size_t& pos, bool& out) {
  if (pos >= in.size() || (in[pos] != 0 && in[pos] != 1)) return false;
  out = in[pos++] == 1;
  return true;
}

// An optional byte string: 0, or 1 and the bytes.
void put_optional(std::string& out, const std::optional<std::string>& v) {
  out.push_back(v ? 1 : 0);
  if (v) put_bytes(out, *v);
}

bool get_optional(std::string_view in, std::size_t& pos, std::optional<std::string>& out) {
  bool present = false;
  if (!get_flag(in, pos, present)) return false;
  out.reset();
  if (!present) return true;
  out.emplace();
  return get_bytes(in, pos, *out);
}

}  // namespace

std::string encode(const Command& c) {
  std::string out(1, static_cast<char>(c.op));
  out.reserve(1 + 8 + c.key.size() + c.value.size() + (c.expected ? 5 + c.expected->size() : 1));
  put_bytes(out, c.key);
  if (c.op == Command::Op::kCas) put_optional(out, c.expected);
  if (c.op != Command::Op::kDelete) put_bytes(out, c.value);
  return out;
}

std::optional<Command> decode_command(std::string_view in) {
  if (in.empty()) return std::nullopt;
  Command c;
  std::size_t pos = 1;
  switch (in[0]) {
    case 'S': c.op = Command::Op::kSet; break;
    case 'D': c.op = Command::Op::kDelete; break;
    case 'C': c.op = Command::Op::kCas; break;
    default: return std::nullopt;
  }
  if (!get_bytes(in, pos, c.key)) return std::nullopt;
  if (c.op == Command::Op::kCas && !get_optional(in, pos, c.expected)) return std::nullopt;
  if (c.op != Command::Op::kDelete && !get_bytes(in, pos, c.value)) return std::nullopt;
  if (pos != in.size()) return std::nullopt;  // trailing bytes: not a command this version wrote
  return c;
}

std::string encode(const Query& q) {
  std::string out(1, static_cast<char>(q.kind));
  if (q.kind == Query::Kind::kGet) put_bytes(out, q.key);
  return out;
}

std::optional<Query> decode_query(std::string_view in) {
  if (in.empty()) return std::nullopt;
  Query q;
  std::size_t pos = 1;
  if (in[0] == 'A') {
    q.kind = Query::Kind::kAll;
  } else if (in[0] == 'G') {
    if (!get_bytes(in, pos, q.key)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (pos != in.size()) return std::nullopt;
  return q;
}

std::string encode(const Outcome& r) {
  std::string out(1, static_cast<char>(r.kind));
  switch (r.kind) {
    case Outcome::Kind::kSet: break;
    case Outcome::Kind::kDelete: out.push_back(r.flag ? 1 : 0); break;
    case Outcome::Kind::kCas:
      out.push_back(r.flag ? 1 : 0);
      put_optional(out, r.value);
      break;
    case Outcome::Kind::kGet: put_optional(out, r.value); break;
    case Outcome::Kind::kError: out += r.error; break;
  }
  return out;
}

std::optional<Outcome> decode_outcome(std::string_view in) {
  if (in.empty()) return std::nullopt;
  Outcome r;
  std::size_t pos = 1;
  switch (in[0]) {
    case 'S': r.kind = Outcome::Kind::kSet; break;
    case 'D':
      r.kind = Outcome::Kind::kDelete;
      if (!get_flag(in, pos, r.flag)) return std::nullopt;
      break;
    case 'C':
      r.kind = Outcome::Kind::kCas;
      if (!get_flag(in, pos, r.flag) || !get_optional(in, pos, r.value)) return std::nullopt;
      break;
    case 'G':
      r.kind = Outcome::Kind::kGet;
      if (!get_optional(in, pos, r.value)) return std::nullopt;
      break;
    case 'E':
      r.kind = Outcome::Kind::kError;
      r.error.assign(in.substr(1));
      pos = in.size();
      break;
    default: return std::nullopt;
  }
  if (pos != in.size()) return std::nullopt;
  return r;
}

Outcome error_outcome(std::string message) {
  Outcome r;
  r.kind = Outcome::Kind::kError;
  r.error = std::move(message);
  return r;
}

}  // namespace raftkit::examples::kv
