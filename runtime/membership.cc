#include "runtime/membership.h"

#include <algorithm>

#include "consensus/little_endian.h"

namespace raftkit {
namespace {

constexpr char kMagic[] = "RKMB1";

void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

struct Cursor {
  const std::string& in;
  std::size_t pos = 0;
  bool u64(std::uint64_t& v) {
    if (in.size() - pos < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
    pos += 8;
    return true;
  }
  bool str(std::string& s) {
    std::uint64_t n = 0;
    if (!u64(n) || n > in.size() - pos) return false;
    s = in.substr(pos, n);
    pos += n;
    return true;
  }
};

void normalize(std::vector<NodeId>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

void erase_id(std::vector<NodeId>& ids, NodeId id) { ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end()); }

}  // namespace

std::string encode_members(const std::vector<MemberRecord>& members) {
  std::string out(kMagic);
  put_u64(out, members.size());
  for (const MemberRecord& m : members) {
    put_u64(out, m.address.id);
    put_str(out, m.address.name);
    put_str(out, m.address.host);
    put_u64(out, m.address.port);
    put_str(out, m.info);
    put_u64(out, m.promote ? 1 : 0);
  }
  return out;
}

Result<std::vector<MemberRecord>> decode_members(const std::string& metadata) {
  std::vector<MemberRecord> out;
  if (metadata.empty()) return out;
  const std::string magic(kMagic);
  if (metadata.compare(0, magic.size(), magic) != 0) return Status(ErrorCode::kCorruption, "member metadata: bad header");
  Cursor c{metadata, magic.size()};
  std::uint64_t n = 0;
  if (!c.u64(n) || n > metadata.size()) return Status(ErrorCode::kCorruption, "member metadata: bad count");
  for (std::uint64_t i = 0; i < n; ++i) {
    MemberRecord m;
    std::uint64_t port = 0, promote = 0;
    if (!c.u64(m.address.id) || !c.str(m.address.name) || !c.str(m.address.host) || !c.u64(port) || !c.str(m.info) ||
        !c.u64(promote) || port > 65535) {
      return Status(ErrorCode::kCorruption, "member metadata: truncated record");
    }
    m.address.port = static_cast<std::uint16_t>(port);
    m.promote = promote != 0;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MemberRecord> members_of(const Configuration& c) {
  Result<std::vector<MemberRecord>> r = decode_members(c.metadata);
  return r.is_ok() ? r.value() : std::vector<MemberRecord>{};
}

const MemberRecord* find_by_name(const std::vector<MemberRecord>& book, const std::string& name) {
  auto it = std::find_if(book.begin(), book.end(), [&](const MemberRecord& m) { return m.address.name == name; });
  return it == book.end() ? nullptr : &*it;
}

const MemberRecord* find_by_id(const std::vector<MemberRecord>& book, NodeId id) {
  auto it = std::find_if(book.begin(), book.end(), [&](const MemberRecord& m) { return m.address.id == id; });
  return it == book.end() ? nullptr : &*it;
}

Configuration with_learner(const Configuration& now, MemberRecord member, NodeId& assigned) {
  std::vector<MemberRecord> book = members_of(now);
  // A name that left earlier comes back as a new member with a new id (its old log may be gone).
  book.erase(std::remove_if(book.begin(), book.end(),
                            [&](const MemberRecord& m) { return m.address.name == member.address.name; }),
             book.end());
  NodeId top = 0;
  for (const MemberRecord& m : members_of(now)) top = std::max(top, m.address.id);
  for (NodeId id : now.members()) top = std::max(top, id);
  assigned = top + 1;
  member.address.id = assigned;
  book.push_back(member);
  Configuration next = now;
  next.voters_outgoing.clear();
  next.learners.push_back(assigned);
  normalize(next.learners);
  next.metadata = encode_members(book);
  return next;
}

Configuration without_member(const Configuration& now, NodeId id) {
  Configuration next = now;
  next.voters_outgoing.clear();
  erase_id(next.voters, id);
  erase_id(next.learners, id);
  return next;  // the address stays in the book until a later change: the leaving peer may still need it
}

Configuration promoted(const Configuration& now, NodeId learner) {
  Configuration next = now;
  next.voters_outgoing.clear();
  erase_id(next.learners, learner);
  next.voters.push_back(learner);
  normalize(next.voters);
  std::vector<MemberRecord> book = members_of(now);
  for (MemberRecord& m : book) {
    if (m.address.id == learner) m.promote = false;
  }
  next.metadata = encode_members(book);
  return next;
}

Result<Configuration> with_members(const Configuration& now, const std::vector<std::string>& voters,
                                   const std::vector<std::string>& learners) {
  const std::vector<MemberRecord> book = members_of(now);
  Configuration next = now;
  next.voters.clear();
  next.voters_outgoing.clear();
  next.learners.clear();
  for (const auto* names : {&voters, &learners}) {
    for (const std::string& name : *names) {
      const MemberRecord* m = find_by_name(book, name);
      if (m == nullptr) return Status(ErrorCode::kInvalidArgument, "unknown member '" + name + "': add it first");
      (names == &voters ? next.voters : next.learners).push_back(m->address.id);
    }
  }
  normalize(next.voters);
  normalize(next.learners);
  return next;
}

}  // namespace raftkit
