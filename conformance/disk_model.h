// Replays a file-operation trace (iotrace.h) to rebuild what a disk holds after a power loss at any point of it.
//
// Files are tracked by inode: each has the content it had at its last fsync/fdatasync (its durable base) and the
// writes and resizes since, in order, each marked whether it went through an O_SYNC/O_DSYNC descriptor. Directory
// entries (create, rename, unlink, mkdir, rmdir) are durable only once their directory is fsynced.
//
// A crash state is materialised under a persistence model:
//   kPessimistic  POSIX's minimum: unsynced data and unsynced directory entries are all lost;
//   kTorn         each 512-byte sector of each unsynced write independently survives or not, and each directory
//                 keeps a random prefix of its unsynced entry changes;
//   kReordered    a random subset of whole unsynced writes survives (in any combination), directory entries as
//                 for kTorn;
//   kEverything   nothing is lost: what the directory should hold if the trace saw every I/O (the self-check).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conformance/iotrace.h"
#include "consensus/random.h"
#include "consensus/status.h"

namespace raftkit::conformance {

enum class PersistenceModel { kPessimistic, kTorn, kReordered, kEverything };
const char* model_name(PersistenceModel m);

class DiskModel {
 public:
  // root: the traced directory, existing and durable (and empty) when the trace began.
  explicit DiskModel(std::string root);
  void apply(const iotrace::Op& op);
  // Writes the crash state into out_dir (created; it must not exist), paths relative to root.
  Status materialize(const std::string& out_dir, PersistenceModel model, Random& random) const;
  // Unsynced bytes and directory changes pending right now (to skip models that would all coincide).
  bool has_unsynced() const;
  // Where the file with this inode lives now (volatile view), if anywhere.
  std::optional<std::string> path_of(std::uint64_t inode) const;
  // Its content now (volatile view).
  std::string current_content(std::uint64_t inode) const;

 private:
  struct Change {
    bool is_resize = false;
    std::uint64_t offset = 0;
    std::string data;
    std::uint64_t size = 0;
    bool synced = false;
  };
  struct Inode {
    std::string base;
    std::vector<Change> changes;
    std::string current;
  };
  struct Name {
    bool directory = false;
    std::uint64_t inode = 0;
  };
  struct DirChange {
    iotrace::OpType type;
    std::string path, path2;
    Name name;
  };
  using Names = std::map<std::string, Name>;

  static void apply_change(std::string& content, const Change& c);
  static void apply_dir_change(Names& names, const DirChange& c);
  static std::string parent(const std::string& path);
  std::string content(const Inode& inode, PersistenceModel model, Random& random) const;

  std::string root_;
  std::map<std::uint64_t, Inode> inodes_;
  Names volatile_names_;
  Names durable_names_;
  std::map<std::string, std::vector<DirChange>> pending_;  // by directory
};

// Every crash state of a recorded trace worth checking: just after each acknowledgement mark, at `inside` random
// positions, just after each sync (up to 8 * inside of them, sampled beyond that), and at the end; under the pessimistic model always and under the torn and reordered models where
// something is unsynced. Each is materialised in root-crash-POSITION-MODEL and handed to visit, which returns
// whether the state passed (a passing state's directory is then removed; a failing one is kept for inspection).
// `acked` is the last acknowledgement mark's value before the position. A state that cannot be materialised goes
// to failed instead.
struct CrashState {
  std::string dir;
  std::size_t position = 0;
  std::size_t trace_size = 0;
  std::size_t acked = 0;
  PersistenceModel model = PersistenceModel::kPessimistic;
};
void for_each_crash_state(const std::vector<iotrace::Op>& trace, const std::string& root, int inside, Random& random,
                          const std::function<bool(const CrashState&)>& visit,
                          const std::function<void(const Status&)>& failed);

}  // namespace raftkit::conformance
