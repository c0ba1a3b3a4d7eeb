#include "util/logger.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace raftkit {

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError, LogLevel::kOff}) {
    if (name == log_level_name(l)) return l;
  }
  return std::nullopt;
}

Logger::Logger(std::string name, LogLevel min_level, LogSink sink)
    : name_(std::move(name)), min_level_(min_level), sink_(std::move(sink)) {}

std::string stderr_log_line(LogLevel level, const std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  static const char* const kLevels[] = {"DEBUG", "INFO ", "WARN ", "ERROR", "OFF  "};
  char head[64];
  std::snprintf(head, sizeof head, "%s.%03dZ %s ", stamp, static_cast<int>(millis),
                kLevels[static_cast<int>(level)]);
  return head + line + "\n";
}

void Logger::log(LogLevel level, const std::string& message) const {
  if (!enabled(level)) return;
  const std::string line = name_.empty() ? message : name_ + ": " + message;
  if (sink_) {
    try {
      sink_(level, line);
    } catch (...) {  // a sink's failure must not take the logging thread down
    }
    return;
  }
  const std::string out = stderr_log_line(level, line);
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace raftkit
