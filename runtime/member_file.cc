#include "runtime/member_file.h"

#include <fstream>

#include "adapters/common/log_directory.h"

namespace raftkit {

std::optional<NodeId> read_member_file(const std::string& data_dir) {
  if (data_dir.empty()) return std::nullopt;
  std::ifstream in(data_dir + "/member");
  unsigned long long id = 0;
  if (!(in >> id) || id == 0) return std::nullopt;
  return static_cast<NodeId>(id);
}

Status write_member_file(const std::string& data_dir, NodeId id) {
  return write_file_durably(data_dir, "member", std::to_string(id) + "\n");
}

}  // namespace raftkit
