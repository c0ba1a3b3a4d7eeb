// What every persistent engine does before touching its files: create the directory (and make its creation
// durable), take an exclusive lock so a second process cannot open the same log, and check or write the identity
// record naming the engine, cluster and node the directory belongs to.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "consensus/log_types.h"
#include "consensus/status.h"

namespace raftkit {

struct LogOptions {
  std::string directory;
  // Recorded when the log is created and checked on every open: a directory of another cluster or node is refused.
  std::string cluster_id = "default";
  NodeId node_id = kNoNode;  // kNoNode: not recorded, not checked
};

class DurableLog;  // adapters/durable_log.h

// Opens (creating it if absent) a durable log as `options` say: how a runtime is handed its storage engine
// (PeerOptions::open_log) without linking any engine itself.
using DurableLogFactory = std::function<Result<std::unique_ptr<DurableLog>>(const LogOptions& options)>;

// The identity record of an existing log directory, checksum verified (kInvalidArgument if there is none). Tools that open a
// stopped node's log learn its engine and owner here.
struct LogIdentity {
  std::string engine;
  std::string cluster_id;
  NodeId node_id = kNoNode;
};
Result<LogIdentity> read_log_identity(const std::string& directory);

class LogDirectory {
 public:
  static Result<std::unique_ptr<LogDirectory>> open(const LogOptions& options, const std::string& engine);
  ~LogDirectory();
  LogDirectory(const LogDirectory&) = delete;
  LogDirectory& operator=(const LogDirectory&) = delete;

  const std::string& path() const { return path_; }
  // Makes the creation of new files in the directory durable (POSIX: fsync the directory itself).
  Status sync() const;

 private:
  LogDirectory(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_;
};

Status fsync_directory(const std::string& path);
// Writes a small file durably: temporary name, fsync, rename, fsync of the directory.
Status write_file_durably(const std::string& directory, const std::string& name, const std::string& contents);

}  // namespace raftkit
