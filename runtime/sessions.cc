#include "runtime/sessions.h"

#include <algorithm>

#include "consensus/little_endian.h"

namespace raftkit {
namespace {

constexpr char kMagic[] = "RKSESS01";

bool get_u64(std::istream& in, std::uint64_t& v) {
  unsigned char b[8];
  if (!in.read(reinterpret_cast<char*>(b), 8)) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
  return true;
}

}  // namespace

Result<std::string> Sessions::apply(std::uint64_t client, std::uint64_t request,
                                    const std::function<std::string()>& apply) {
  Session& s = sessions_[client];
  s.last_used = ++clock_;
  Result<std::string> result = std::string();
  if (request == s.request && s.request != 0) {
    result = s.result;  // a retry of the newest request: its first result, not applied again
  } else if (request < s.request) {
    result = Status(ErrorCode::kDropped, "request " + std::to_string(request) + " of client " + std::to_string(client) +
                                             " is older than one already applied");
  } else {
    s.request = request;
    s.result = apply();
    result = s.result;
  }
  if (sessions_.size() > max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; });
    sessions_.erase(oldest);
  }
  return result;
}

std::string Sessions::encode() const {
  std::string out(kMagic, 8);
  put_u64(out, clock_);
  put_u64(out, sessions_.size());
  for (const auto& [client, s] : sessions_) {
    put_u64(out, client);
    put_u64(out, s.request);
    put_u64(out, s.last_used);
    put_u64(out, s.result.size());
    out += s.result;
  }
  return out;
}

Status Sessions::decode(std::istream& in) {
  auto bad = [](const std::string& what) { return Status(ErrorCode::kCorruption, "snapshot sessions: " + what); };
  char magic[8];
  if (!in.read(magic, 8) || std::string(magic, 8) != std::string(kMagic, 8)) return bad("missing section header");
  std::uint64_t clock = 0, count = 0;
  if (!get_u64(in, clock) || !get_u64(in, count)) return bad("truncated");
  std::map<std::uint64_t, Session> sessions;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t client = 0, size = 0;
    Session s;
    if (!get_u64(in, client) || !get_u64(in, s.request) || !get_u64(in, s.last_used) || !get_u64(in, size)) {
      return bad("truncated session");
    }
    if (size > (64ull << 20)) return bad("implausible result size");
    // Read in pieces: a damaged size claims up to 64 MiB, and memory should follow the bytes present, not the claim.
    for (std::uint64_t left = size; left > 0;) {
      const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(left, 64 << 10));
      const std::size_t at = s.result.size();
      s.result.resize(at + piece);
      if (!in.read(s.result.data() + at, static_cast<std::streamsize>(piece))) return bad("truncated result");
      left -= piece;
    }
    sessions.emplace(client, std::move(s));
  }
  sessions_ = std::move(sessions);
  clock_ = clock;
  return Status::ok();
}

}  // namespace raftkit
