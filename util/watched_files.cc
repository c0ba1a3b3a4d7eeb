#include "util/watched_files.h"

#include <sys/stat.h>

namespace raftkit::util {

FileWatch::FileWatch(std::vector<std::string> paths, std::chrono::milliseconds interval, Clock::time_point now)
    : paths_(std::move(paths)), interval_(interval), seen_(look()), looked_(now) {}

bool FileWatch::changed(Clock::time_point now) {
  if (now - looked_ < interval_) return false;
  looked_ = now;
  std::vector<Stamp> stamps = look();
  if (stamps == seen_) return false;
  seen_ = std::move(stamps);
  return true;
}

std::vector<FileWatch::Stamp> FileWatch::look() const {
  std::vector<Stamp> out;
  out.reserve(paths_.size());
  for (const std::string& path : paths_) {
    struct stat st {};
    Stamp s;
    if (::stat(path.c_str(), &st) == 0) {
      s.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      s.size = static_cast<long long>(st.st_size);
      s.inode = static_cast<unsigned long long>(st.st_ino);
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace raftkit::util
