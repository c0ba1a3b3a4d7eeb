#include "util/watched_files.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace raftkit::util {
namespace {

using std::chrono::milliseconds;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::filesystem::rename(path + ".tmp", path);  // a new inode, as a careful writer replaces a file
}

TEST_CASE("file watch: a change is seen once, and no sooner than the interval", "[util]") {
  testing::TempDir dir;
  const std::string a = dir.path() + "/a", b = dir.path() + "/b";
  write_file(a, "one");
  const auto t0 = FileWatch::Clock::now();
  FileWatch watch({a, b}, milliseconds(1000), t0);  // b does not exist yet
  CHECK_FALSE(watch.changed(t0 + milliseconds(1000)));

  write_file(a, "two");                                 // same size; perhaps the same timestamp tick: the inode differs
  CHECK_FALSE(watch.changed(t0 + milliseconds(1500)));  // looked too recently
  CHECK(watch.changed(t0 + milliseconds(2000)));
  CHECK_FALSE(watch.changed(t0 + milliseconds(3000)));  // reported once

  write_file(b, "appears");
  CHECK(watch.changed(t0 + milliseconds(4000)));
  std::filesystem::remove(b);
  CHECK(watch.changed(t0 + milliseconds(5000)));
  CHECK_FALSE(watch.changed(t0 + milliseconds(6000)));
}

TEST_CASE("reloaded: rebuilt when the files change; a failed rebuild keeps the value and is logged once", "[util]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/number";
  write_file(path, "1");
  auto read_number = [path]() -> Result<std::shared_ptr<const int>> {
    std::ifstream in(path);
    int n = 0;
    if (!(in >> n)) return Status(ErrorCode::kInvalidArgument, "not a number");
    return std::make_shared<const int>(n);
  };
  std::vector<std::string> log;
  auto loaded = Reloaded<const int>::load(
      {path}, "number file", read_number, [&](const std::string& line) { log.push_back(line); },
      [](const int& n) { return "now " + std::to_string(n); }, milliseconds(0));
  REQUIRE(loaded.is_ok());
  auto& number = *loaded.value();
  std::shared_ptr<const int> held = number.current();
  CHECK(*held == 1);

  write_file(path, "22");
  CHECK(*number.current() == 22);
  CHECK(*held == 1);  // a holder keeps what it got
  REQUIRE(log.size() == 1);
  CHECK(log[0] == "number file reloaded: now 22");

  write_file(path, "half-written");
  CHECK(*number.current() == 22);
  CHECK(*number.current() == 22);
  REQUIRE(log.size() == 2);
  CHECK(log[1] == "number file changed but cannot be used (keeping the previous ones): not a number");

  write_file(path, "333");
  CHECK(*number.current() == 333);
  CHECK(log.size() == 3);

  write_file(path, "x");
  CHECK_FALSE(Reloaded<const int>::load({path}, "number file", read_number, nullptr).is_ok());
}

}  // namespace
}  // namespace raftkit::util
