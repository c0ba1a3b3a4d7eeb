// Files a process reads at start and reads again when they change, without a restart: certificates and keys, token
// files. Two parts:
//
//   FileWatch      notices that a set of files changed, looking at most once per interval;
//   Reloaded<T>    a value built from files (a TLS context, a token table), rebuilt when they change.
//
// A change is a different modification time, size or inode of any of the files; a file replaced by renaming a new
// one into place is a new inode, so it counts even within one timestamp tick. Each change is reported once: a set
// caught half-written (a new certificate before its key) fails to build, keeps the previous value in force, and is
// tried again when the second write changes it once more. Nothing here blocks for longer than a stat() of each file
// and, after a change, one build.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "consensus/status.h"

namespace raftkit::util {

class FileWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // Takes the files' current state as the one already seen.
  FileWatch(std::vector<std::string> paths, std::chrono::milliseconds interval, Clock::time_point now);

  // True when at least `interval` has passed since the previous look and the files differ from what it saw.
  // Not thread-safe: Reloaded calls it under its lock.
  bool changed(Clock::time_point now);

 private:
  struct Stamp {
    long long mtime_ns = 0;
    long long size = -1;  // -1: the file could not be examined (absent, say)
    unsigned long long inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::vector<Stamp> look() const;

  const std::vector<std::string> paths_;
  const std::chrono::milliseconds interval_;
  std::vector<Stamp> seen_;
  Clock::time_point looked_;
};

// A value built from files, shared by readers: current() hands out the value in force, rebuilding it first when the
// files changed. A failed rebuild leaves the previous value in force and is logged once; readers holding an older
// value keep it as long as they like (a connection keeps the TLS context it was opened with). Thread-safe.
template <typename T>
class Reloaded {
 public:
  using Build = std::function<Result<std::shared_ptr<T>>()>;
  using Log = std::function<void(const std::string&)>;
  using Describe = std::function<std::string(const T&)>;  // what a reload brought, for its log line ("3 tokens")

  // Builds the value once; its failure is load's failure (nothing is kept). `what` names the files in log lines
  // ("certificate files", "token file /etc/kv/tokens").
  static Result<std::shared_ptr<Reloaded>> load(std::vector<std::string> paths, std::string what, Build build, Log log,
                                                Describe describe = nullptr,
                                                std::chrono::milliseconds interval = std::chrono::seconds(1)) {
    const auto now = FileWatch::Clock::now();
    FileWatch watch(std::move(paths), interval, now);  // stamped before the build: a change during it is seen later
    Result<std::shared_ptr<T>> first = build();
    if (!first.is_ok()) return first.status();
    return std::shared_ptr<Reloaded>(new Reloaded(std::move(watch), std::move(what), std::move(build), std::move(log),
                                                  std::move(describe), std::move(first).value()));
  }

  std::shared_ptr<T> current() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!watch_.changed(FileWatch::Clock::now())) return value_;
    Result<std::shared_ptr<T>> rebuilt = build_();
    if (!rebuilt.is_ok()) {
      if (log_) log_(what_ + " changed but cannot be used (keeping the previous ones): " + rebuilt.status().message());
      return value_;
    }
    value_ = std::move(rebuilt).value();
    if (log_) log_(what_ + " reloaded" + (describe_ ? ": " + describe_(*value_) : std::string()));
    return value_;
  }

 private:
  Reloaded(FileWatch watch, std::string what, Build build, Log log, Describe describe, std::shared_ptr<T> value)
      : watch_(std::move(watch)), what_(std::move(what)), build_(std::move(build)), log_(std::move(log)),
        describe_(std::move(describe)), value_(std::move(value)) {}

  std::mutex mu_;
  FileWatch watch_;
  const std::string what_;
  const Build build_;
  const Log log_;
  const Describe describe_;
  std::shared_ptr<T> value_;
};

}  // namespace raftkit::util
