#include "adapters/common/log_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/common/crc32c.h"

namespace raftkit {
namespace {

constexpr const char* kIdentityFile = "RAFTKIT_LOG";
constexpr const char* kLockFile = "LOCK.raftkit";

Status io_error(const std::string& what) {
  const int err = errno;
  return Status(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo, what + ": " + std::strerror(err));
}

std::string identity_text(const std::string& engine, const LogOptions& o) {
  std::string body = "raftkit durable log v1\nengine=" + engine + "\ncluster=" + o.cluster_id +
                     "\nnode=" + std::to_string(o.node_id) + "\n";
  return body + "crc=" + std::to_string(crc32c(body)) + "\n";
}

std::string field(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "=", 0) == 0) return line.substr(name.size() + 1);
  }
  return "";
}

// Creates missing directories from the top down, fsyncing each parent so the new entry survives power loss.
Status create_directories_durably(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir)) return Status::ok();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (Status s = create_directories_durably(dir.parent_path()); !s.is_ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error("mkdir " + dir.string());
  return fsync_directory(dir.has_parent_path() ? dir.parent_path().string() : ".");
}

}  // namespace

Status fsync_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory " + path);
  const int rc = ::fsync(fd);
  const Status s = rc == 0 ? Status::ok() : io_error("fsync directory " + path);
  ::close(fd);
  return s;
}

Status write_file_durably(const std::string& directory, const std::string& name, const std::string& contents) {
  const std::string tmp = directory + "/" + name + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create " + tmp);
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = io_error("write " + tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = io_error("fsync " + tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), (directory + "/" + name).c_str()) != 0) return io_error("rename " + tmp);
  return fsync_directory(directory);
}

Result<LogIdentity> read_log_identity(const std::string& directory) {
  const std::filesystem::path identity = std::filesystem::path(directory) / kIdentityFile;
  std::ifstream in(identity);
  if (!in) return Status(ErrorCode::kInvalidArgument, "no raftkit log in " + directory + " (" + identity.string() + " is missing)");
  std::stringstream text;
  text << in.rdbuf();
  const std::string stored = text.str();
  const auto crc_at = stored.rfind("crc=");
  if (crc_at == std::string::npos || field(stored, "crc") != std::to_string(crc32c(stored.substr(0, crc_at)))) {
    return Status(ErrorCode::kCorruption, "identity record " + identity.string() + " fails its checksum");
  }
  LogIdentity id;
  id.engine = field(stored, "engine");
  id.cluster_id = field(stored, "cluster");
  const std::string node = field(stored, "node");
  char* end = nullptr;
  id.node_id = std::strtoull(node.c_str(), &end, 10);
  if (node.empty() || *end != '\0' || id.engine.empty()) {
    return Status(ErrorCode::kCorruption, "identity record " + identity.string() + " is malformed");
  }
  return id;
}

Result<std::unique_ptr<LogDirectory>> LogDirectory::open(const LogOptions& options, const std::string& engine) {
  if (options.directory.empty()) return Status(ErrorCode::kInvalidArgument, "log directory is empty");
  const std::filesystem::path dir = std::filesystem::absolute(options.directory);
  if (Status s = create_directories_durably(dir); !s.is_ok()) return s;

  const std::string lock_path = (dir / kLockFile).string();
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return io_error("open " + lock_path);
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return Status(ErrorCode::kLocked, "log directory " + dir.string() + " is open in another process");
  }
  std::unique_ptr<LogDirectory> guard(new LogDirectory(dir.string(), lock_fd));

  const std::filesystem::path identity = dir / kIdentityFile;
  if (!std::filesystem::exists(identity)) {
    // Refuse to adopt a directory that already holds something else (another engine's files, a user's data).
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name != kLockFile && name != std::string(kIdentityFile) + ".tmp") {
        return Status(ErrorCode::kWrongOwner, "directory " + dir.string() + " is not empty (" + name +
                                                  ") and is not a raftkit log");
      }
    }
    if (Status s = write_file_durably(dir.string(), kIdentityFile, identity_text(engine, options)); !s.is_ok()) return s;
    return guard;
  }
  Result<LogIdentity> stored = read_log_identity(dir.string());
  if (!stored.is_ok()) return stored.status();
  if (stored.value().engine != engine) {
    return Status(ErrorCode::kWrongOwner, "directory " + dir.string() + " holds a " + stored.value().engine +
                                              " log, not a " + engine + " log");
  }
  if (stored.value().cluster_id != options.cluster_id) {
    return Status(ErrorCode::kWrongOwner, "directory " + dir.string() + " belongs to cluster '" +
                                              stored.value().cluster_id + "', not '" + options.cluster_id + "'");
  }
  const NodeId stored_node = stored.value().node_id;
  if (options.node_id != kNoNode && stored_node != kNoNode && stored_node != options.node_id) {
    return Status(ErrorCode::kWrongOwner, "directory " + dir.string() + " belongs to node " +
                                              std::to_string(stored_node) + ", not node " +
                                              std::to_string(options.node_id));
  }
  return guard;
}

LogDirectory::~LogDirectory() {
  ::flock(lock_fd_, LOCK_UN);
  ::close(lock_fd_);
}

Status LogDirectory::sync() const { return fsync_directory(path_); }

}  // namespace raftkit
