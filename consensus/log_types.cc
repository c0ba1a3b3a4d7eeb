#include "consensus/log_types.h"

#include <algorithm>
#include <cstring>

#include "consensus/little_endian.h"

namespace raftkit {
namespace {

bool contains(const std::vector<NodeId>& ids, NodeId id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

void put_list(std::string& out, const std::vector<NodeId>& ids) {
  put_u64(out, ids.size());
  for (NodeId id : ids) put_u64(out, id);
}

bool get_list(const std::string& in, std::size_t& pos, std::vector<NodeId>& ids) {
  std::uint64_t n = 0;
  if (!get_u64(in, pos, n) || n > (in.size() - pos) / 8) return false;
  ids.resize(n);
  for (auto& id : ids) get_u64(in, pos, id);
  return std::is_sorted(ids.begin(), ids.end()) && std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

constexpr std::uint8_t kConfigurationVersion = 2;  // 2 added metadata

}  // namespace

bool Configuration::is_voter(NodeId id) const { return contains(voters, id) || contains(voters_outgoing, id); }

bool Configuration::is_member(NodeId id) const { return is_voter(id) || contains(learners, id); }

std::vector<NodeId> Configuration::members() const {
  std::vector<NodeId> all = voters;
  all.insert(all.end(), voters_outgoing.begin(), voters_outgoing.end());
  all.insert(all.end(), learners.begin(), learners.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::string Configuration::to_string() const {
  auto list = [](const std::vector<NodeId>& ids) {
    std::string s = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s + "}";
  };
  std::string s = "voters=" + list(voters);
  if (is_joint()) s += " outgoing=" + list(voters_outgoing);
  if (!learners.empty()) s += " learners=" + list(learners);
  return s;
}

std::string encode_configuration(const Configuration& c) {
  std::string out;
  out.push_back(static_cast<char>(kConfigurationVersion));
  put_list(out, c.voters);
  put_list(out, c.voters_outgoing);
  put_list(out, c.learners);
  put_u64(out, c.metadata.size());
  out += c.metadata;
  return out;
}

Result<Configuration> decode_configuration(const std::string& bytes) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) != kConfigurationVersion) {
    return Status(ErrorCode::kCorruption, "configuration: unknown encoding version");
  }
  Configuration c;
  std::size_t pos = 1;
  std::uint64_t metadata = 0;
  if (!get_list(bytes, pos, c.voters) || !get_list(bytes, pos, c.voters_outgoing) ||
      !get_list(bytes, pos, c.learners) || !get_u64(bytes, pos, metadata) || metadata != bytes.size() - pos) {
    return Status(ErrorCode::kCorruption, "configuration: malformed or unsorted member lists");
  }
  c.metadata = bytes.substr(pos);
  return c;
}

Status Configuration::validate() const {
  if (voters.empty()) return Status(ErrorCode::kInvalidArgument, "configuration: no voters");
  for (NodeId id : learners) {
    if (is_voter(id)) {
      return Status(ErrorCode::kInvalidArgument, "configuration: node " + std::to_string(id) + " is both voter and learner");
    }
  }
  for (NodeId id : members()) {
    if (id == kNoNode) return Status(ErrorCode::kInvalidArgument, "configuration: node id 0");
  }
  return Status::ok();
}

}  // namespace raftkit
