#include "conformance/disk_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace raftkit::conformance {

using iotrace::OpType;

const char* model_name(PersistenceModel m) {
  switch (m) {
    case PersistenceModel::kPessimistic: return "pessimistic";
    case PersistenceModel::kTorn: return "torn";
    case PersistenceModel::kReordered: return "reordered";
    case PersistenceModel::kEverything: return "everything";
  }
  return "?";
}

DiskModel::DiskModel(std::string root) : root_(std::move(root)) {}

std::string DiskModel::parent(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

void DiskModel::apply_change(std::string& content, const Change& c) {
  if (c.is_resize) {
    content.resize(c.size, '\0');
    return;
  }
  if (content.size() < c.offset + c.data.size()) content.resize(c.offset + c.data.size(), '\0');
  content.replace(c.offset, c.data.size(), c.data);
}

void DiskModel::apply_dir_change(Names& names, const DirChange& c) {
  switch (c.type) {
    case OpType::kCreate:
    case OpType::kMkdir: names[c.path] = c.name; break;
    case OpType::kUnlink:
    case OpType::kRmdir: names.erase(c.path); break;
    case OpType::kRename: {
      // Move the entry and, for a directory, everything below it.
      std::vector<std::pair<std::string, Name>> moved;
      for (auto it = names.begin(); it != names.end();) {
        if (it->first == c.path || it->first.rfind(c.path + "/", 0) == 0) {
          moved.emplace_back(c.path2 + it->first.substr(c.path.size()), it->second);
          it = names.erase(it);
        } else {
          ++it;
        }
      }
      for (auto& [p, n] : moved) names[p] = n;
      break;
    }
    default: break;
  }
}

void DiskModel::apply(const iotrace::Op& op) {
  switch (op.type) {
    case OpType::kCreate: {
      inodes_[op.file_id] = Inode{};
      DirChange c{OpType::kCreate, op.path, "", Name{false, op.file_id}};
      apply_dir_change(volatile_names_, c);
      pending_[parent(op.path)].push_back(c);
      break;
    }
    case OpType::kMkdir: {
      DirChange c{OpType::kMkdir, op.path, "", Name{true, 0}};
      apply_dir_change(volatile_names_, c);
      pending_[parent(op.path)].push_back(c);
      break;
    }
    case OpType::kUnlink:
    case OpType::kRmdir:
    case OpType::kRename: {
      DirChange c{op.type, op.path, op.path2, Name{}};
      apply_dir_change(volatile_names_, c);
      pending_[parent(op.type == OpType::kRename ? op.path2 : op.path)].push_back(c);
      break;
    }
    case OpType::kWrite:
    case OpType::kResize: {
      Inode& inode = inodes_[op.file_id];
      Change c;
      c.is_resize = op.type == OpType::kResize;
      c.offset = op.offset;
      c.data = op.data;
      c.size = op.size;
      c.synced = op.synced;
      apply_change(inode.current, c);
      inode.changes.push_back(std::move(c));
      break;
    }
    case OpType::kSync: {
      Inode& inode = inodes_[op.file_id];
      inode.base = inode.current;
      inode.changes.clear();
      break;
    }
    case OpType::kDirSync: {
      auto it = pending_.find(op.path);
      if (it == pending_.end()) break;
      for (const DirChange& c : it->second) apply_dir_change(durable_names_, c);
      pending_.erase(it);
      break;
    }
    default: break;
  }
}

bool DiskModel::has_unsynced() const {
  if (!pending_.empty()) return true;
  return std::any_of(inodes_.begin(), inodes_.end(), [](const auto& kv) {
    return std::any_of(kv.second.changes.begin(), kv.second.changes.end(), [](const Change& c) { return !c.synced; });
  });
}

std::optional<std::string> DiskModel::path_of(std::uint64_t inode) const {
  for (const auto& [path, name] : volatile_names_) {
    if (!name.directory && name.inode == inode) return path;
  }
  return std::nullopt;
}

std::string DiskModel::current_content(std::uint64_t inode) const {
  auto it = inodes_.find(inode);
  return it == inodes_.end() ? std::string() : it->second.current;
}

std::string DiskModel::content(const Inode& inode, PersistenceModel model, Random& random) const {
  if (model == PersistenceModel::kEverything) return inode.current;
  std::string out = inode.base;
  for (const Change& c : inode.changes) {
    if (c.synced || (model == PersistenceModel::kReordered && random.below(2) == 0)) {
      apply_change(out, c);
    } else if (model == PersistenceModel::kTorn) {
      if (c.is_resize) {
        if (random.below(2) == 0) apply_change(out, c);
        continue;
      }
      // Sector by sector (512-byte aligned on the file), each independently written or not.
      std::uint64_t pos = c.offset;
      const std::uint64_t end = c.offset + c.data.size();
      while (pos < end) {
        const std::uint64_t sector_end = std::min(end, (pos / 512 + 1) * 512);
        if (random.below(2) == 0) {
          Change piece;
          piece.offset = pos;
          piece.data = c.data.substr(pos - c.offset, sector_end - pos);
          apply_change(out, piece);
        }
        pos = sector_end;
      }
    }
  }
  return out;
}

Status DiskModel::materialize(const std::string& out_dir, PersistenceModel model, Random& random) const {
  Names names = model == PersistenceModel::kEverything ? volatile_names_ : durable_names_;
  if (model == PersistenceModel::kTorn || model == PersistenceModel::kReordered) {
    // Metadata journaling keeps directory changes in order: each directory keeps a prefix of its pending ones.
    for (const auto& [dir, changes] : pending_) {
      const std::size_t keep = random.below(changes.size() + 1);
      for (std::size_t i = 0; i < keep; ++i) apply_dir_change(names, changes[i]);
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Status(ErrorCode::kIo, "create " + out_dir + ": " + ec.message());
  // Only entries whose whole path of directories survives are reachable.
  for (const auto& [path, name] : names) {
    if (path.rfind(root_ + "/", 0) != 0) continue;
    bool reachable = true;
    for (std::string up = parent(path); up.size() > root_.size(); up = parent(up)) {
      auto it = names.find(up);
      if (it == names.end() || !it->second.directory) reachable = false;
    }
    if (!reachable) continue;
    const std::string target = out_dir + path.substr(root_.size());
    if (name.directory) {
      std::filesystem::create_directories(target, ec);
      continue;
    }
    std::filesystem::create_directories(parent(target), ec);
    auto it = inodes_.find(name.inode);
    const std::string bytes = it == inodes_.end() ? std::string() : content(it->second, model, random);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return Status(ErrorCode::kIo, "write " + target);
  }
  return Status::ok();
}

void for_each_crash_state(const std::vector<iotrace::Op>& trace, const std::string& root, int inside, Random& random,
                          const std::function<bool(const CrashState&)>& visit,
                          const std::function<void(const Status&)>& failed) {
  std::set<std::size_t> points;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].type == OpType::kMark) points.insert(i + 1);
  }
  for (int i = 0; i < inside && !trace.empty(); ++i) points.insert(random.below(trace.size()));
  // Just after each sync inside an operation: where an adapter that orders its syncs wrongly (a hard state made
  // durable before the entries of the same write) shows it. Sampled when there are many.
  std::vector<std::size_t> syncs;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    if (trace[i].type == OpType::kSync || trace[i].type == OpType::kDirSync) syncs.push_back(i + 1);
  }
  const std::size_t sync_budget = 8 * static_cast<std::size_t>(std::max(inside, 1));
  for (std::size_t k = 0; k < syncs.size(); ++k) {
    if (syncs.size() <= sync_budget || random.below(syncs.size()) < sync_budget) points.insert(syncs[k]);
  }
  points.insert(trace.size());
  DiskModel model(root);
  std::size_t applied = 0, acked = 0;
  const PersistenceModel models[] = {PersistenceModel::kPessimistic, PersistenceModel::kTorn,
                                     PersistenceModel::kReordered};
  for (std::size_t point : points) {
    for (; applied < point; ++applied) {
      model.apply(trace[applied]);
      if (trace[applied].type == OpType::kMark) acked = static_cast<std::size_t>(trace[applied].mark);
    }
    for (PersistenceModel m : models) {
      if (m != PersistenceModel::kPessimistic && !model.has_unsynced()) continue;  // it would repeat the first
      CrashState state{root + "-crash-" + std::to_string(point) + "-" + model_name(m), point, trace.size(), acked, m};
      if (Status s = model.materialize(state.dir, m, random); !s.is_ok()) {
        failed(s);
        continue;
      }
      if (visit(state)) {
        std::error_code ec;
        std::filesystem::remove_all(state.dir, ec);
      }
    }
  }
}

}  // namespace raftkit::conformance
