// The logger: levels filter, every line names its peer, a sink sees each line once, a throwing sink is contained.
#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "util/logger.h"

namespace {

using raftkit::Logger;
using raftkit::LogLevel;

TEST_CASE("logger: lines below the level are dropped; each names the peer", "[logger]") {
  std::vector<std::pair<LogLevel, std::string>> lines;
  Logger log("peer1", LogLevel::kInfo, [&](LogLevel level, const std::string& line) { lines.emplace_back(level, line); });
  log.debug("not shown");
  log.info("leading at term 3");
  log.warning("refused a hello");
  log.named("peer1 transport").error("gone");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == std::make_pair(LogLevel::kInfo, std::string("peer1: leading at term 3")));
  CHECK(lines[1].first == LogLevel::kWarning);
  CHECK(lines[2].second == "peer1 transport: gone");

  Logger quiet("p", LogLevel::kOff, [&](LogLevel, const std::string&) { FAIL("logged while off"); });
  quiet.error("x");
  CHECK_FALSE(quiet.enabled(LogLevel::kError));

  Logger throwing("p", LogLevel::kDebug, [](LogLevel, const std::string&) { throw std::runtime_error("sink"); });
  CHECK_NOTHROW(throwing.info("x"));
}

TEST_CASE("logger: level names parse back; the standard error line has a UTC time and the level", "[logger]") {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError, LogLevel::kOff}) {
    CHECK(raftkit::parse_log_level(raftkit::log_level_name(l)) == l);
  }
  CHECK_FALSE(raftkit::parse_log_level("verbose"));
  CHECK_FALSE(raftkit::parse_log_level("INFO"));
  const std::string line = raftkit::stderr_log_line(LogLevel::kWarning, "peer2: slow disk");
  CHECK(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  peer2: slow disk\n)")));
}

}  // namespace
