// The `member` file of a peer's data directory (PeerOptions::data_dir): the member id the cluster gave this peer,
// written durably when it first starts or joins, read on every start and by the operator's tool (raftkit-admin).
// It holds the id in decimal and a newline.
#pragma once

#include <optional>
#include <string>

#include "consensus/status.h"
#include "consensus/log_types.h"

namespace raftkit {

// The id in data_dir/member; nullopt if data_dir is empty, or the file is absent, unreadable or holds no id (0 is
// no id).
std::optional<NodeId> read_member_file(const std::string& data_dir);

// Writes it durably (a temporary file renamed into place, the directory synced).
Status write_member_file(const std::string& data_dir, NodeId id);

}  // namespace raftkit
