// A service built on an installed raftkit with one storage engine: the runtime and the SQLite engine, nothing else
// (check_install.sh proves neither RocksDB nor LMDB reaches the link line). A one-member cluster elects itself,
// replicates a write through the SQLite log, answers a linearizable read, stops, and finds the write again after
// starting over the same directory.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "adapters/sqlite/sqlite_log.h"
#include "runtime/peer.h"

namespace {

using namespace raftkit;

// The state machine: one string, appended to by writes, returned by reads.
class Notes : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override { return notes_ += command; }
  std::string handle_read(const std::string&) override { return notes_; }
  std::unique_ptr<StateMachineSnapshot> snapshot() override {
    class Copy : public StateMachineSnapshot {
     public:
      explicit Copy(std::string s) : s_(std::move(s)) {}
      Status write(std::ostream& out) override {
        out << s_;
        return out ? Status::ok() : Status(ErrorCode::kIo, "write failed");
      }

     private:
      std::string s_;
    };
    return std::make_unique<Copy>(notes_);
  }
  Status restore(std::istream& in) override {
    std::stringstream all;
    all << in.rdbuf();
    notes_ = all.str();
    return Status::ok();
  }

 private:
  std::string notes_;
};

Result<std::unique_ptr<DurableLog>> open_sqlite(const LogOptions& options) {
  SqliteLogOptions sqlite;
  static_cast<LogOptions&>(sqlite) = options;
  auto log = SqliteLog::open(sqlite);
  if (!log.is_ok()) return log.status();
  return std::unique_ptr<DurableLog>(std::move(log).value());
}

Result<std::unique_ptr<Peer>> start(const std::string& dir) {
  PeerOptions o;
  o.name = "solo";
  o.cluster = "consumer";
  o.data_dir = dir;
  o.open_log = open_sqlite;
  o.members = {PeerAddress{1, "solo", "127.0.0.1", 0}};
  return Peer::start(o, std::make_unique<Notes>());
}

bool wait_for_leader(Peer& p) {
  for (int i = 0; i < 500 && !p.is_leader(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return p.is_leader();
}

int fail(const char* what, const Status& s) {
  std::fprintf(stderr, "consumer: FAILED %s: %s\n", what, s.to_string().c_str());
  return 1;
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TEST_TMPDIR");  // set under Bazel
  std::string templ = std::string(tmp != nullptr ? tmp : "/tmp") + "/raftkit-consumer-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return 1;
  const std::string dir = templ;
  int rc = 1;
  {
    auto peer = start(dir);
    if (!peer.is_ok()) return fail("start", peer.status());
    if (!wait_for_leader(*peer.value())) return fail("election", Status(ErrorCode::kUnavailable, "no leader"));
    Result<std::string> written = peer.value()->write("hello from a consumer").get();
    if (!written.is_ok()) return fail("write", written.status());
    peer.value()->stop();
  }
  {
    auto peer = start(dir);
    if (!peer.is_ok()) return fail("restart", peer.status());
    if (!wait_for_leader(*peer.value())) return fail("election", Status(ErrorCode::kUnavailable, "no leader"));
    Result<std::string> read = peer.value()->read("").get();
    if (!read.is_ok()) return fail("read", read.status());
    rc = read.value() == "hello from a consumer" ? 0 : 1;
    std::printf("consumer: %s (runtime and SQLite engine only; read \"%s\" after a restart)\n",
                rc == 0 ? "OK" : "FAILED", read.value().c_str());
    peer.value()->stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}
