// A small leveled logger: one line per event worth an operator's attention, naming the peer it concerns.
//
// Lines go to a sink the embedding service chooses (its own logging library, say), or by default to standard
// error as `2026-12-03T13:11:42.123Z INFO  peer1: leading at term 7`, each line one write so lines from several
// threads never interleave. A Logger is cheap to copy and safe to use from any thread (the sink must be too).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace raftkit {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

const char* log_level_name(LogLevel level);                  // "debug", "info", "warning", "error", "off"
std::optional<LogLevel> parse_log_level(std::string_view name);  // the names above; nothing for anything else

// Receives each line that passes the level, without a time or level (the sink adds what it wants): "peer1: ...".
using LogSink = std::function<void(LogLevel level, const std::string& line)>;

class Logger {
 public:
  Logger() : Logger("", LogLevel::kInfo, nullptr) {}
  // `name` prefixes every line (the peer's name); lines below `min_level` are dropped; no sink: standard error.
  Logger(std::string name, LogLevel min_level, LogSink sink);

  bool enabled(LogLevel level) const { return level >= min_level_ && min_level_ != LogLevel::kOff; }
  void log(LogLevel level, const std::string& message) const;
  void debug(const std::string& message) const { log(LogLevel::kDebug, message); }
  void info(const std::string& message) const { log(LogLevel::kInfo, message); }
  void warning(const std::string& message) const { log(LogLevel::kWarning, message); }
  void error(const std::string& message) const { log(LogLevel::kError, message); }

  // The same destination and level under another name ("peer1 transport").
  Logger named(std::string name) const { return Logger(std::move(name), min_level_, sink_); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  LogLevel min_level_;
  LogSink sink_;
};

// The default sink's line: an ISO 8601 UTC time with milliseconds, the level, then the line.
std::string stderr_log_line(LogLevel level, const std::string& line);

}  // namespace raftkit
