// Streaming a snapshot between runtimes: flow control, lost chunks, a follower restart mid-transfer (resume, not
// restart), silence (resend from the last acknowledged byte, then give up), and a snapshot already covered.
#include <catch2/catch.hpp>

#include <deque>

#include "consensus/random.h"
#include "runtime/snapshot_transfer.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const SnapshotMeta kMeta{500, 7, Configuration{{1, 2, 3}, {}, {}}};

struct Rig {
  raftkit::testing::TempDir leader_dir, follower_dir;
  std::unique_ptr<SnapshotStore> leader_store, follower_store;
  std::unique_ptr<SnapshotSender> sender;
  std::unique_ptr<SnapshotReceiver> receiver;
  std::uint64_t file_size = 0;
  std::uint64_t chunk_bytes_sent = 0;
  Clock::time_point now = Clock::now();

  Rig() {
    leader_store = SnapshotStore::open(leader_dir.path()).value();
    auto w = leader_store->create(kMeta).value();
    std::string body(200000, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131);
    w->stream() << body;
    REQUIRE(w->commit().is_ok());
    file_size = leader_store->latest()->size;
    SnapshotTransferOptions o;
    o.chunk_bytes = 4096;
    o.window_chunks = 4;
    o.resend_after = 100ms;
    o.give_up_after = 1000ms;
    sender = std::make_unique<SnapshotSender>(1, leader_store.get(), o);
    restart_follower();
  }
  void restart_follower() {
    receiver.reset();
    follower_store = SnapshotStore::open(follower_dir.path()).value();
    receiver = std::make_unique<SnapshotReceiver>(2, follower_store.get());
  }
  Message request() const {
    Message m;
    m.type = MessageType::kInstallSnapshot;
    m.from = 1;
    m.to = 2;
    m.term = 9;
    m.snapshot = kMeta;
    return m;
  }
};

// Delivers messages both ways until quiet, dropping each with probability loss_per_million. Returns the message
// the follower's core would step, if the snapshot completed, and the leader's outcome.
struct PumpResult {
  std::optional<Message> step;
  std::optional<SnapshotOutcome> outcome;
};

PumpResult pump(Rig& rig, std::vector<Message> to_follower, std::uint64_t loss_per_million, Random& random,
                Index committed = 0) {
  PumpResult result;
  std::deque<Message> queue(to_follower.begin(), to_follower.end());
  for (int rounds = 0; rounds < 100000 && !queue.empty(); ++rounds) {
    Message m = std::move(queue.front());
    queue.pop_front();
    if (random.chance(loss_per_million)) continue;
    std::vector<Message> out;
    if (m.type == MessageType::kInstallSnapshot) {
      rig.chunk_bytes_sent += m.data.size();
      auto step = rig.receiver->on_chunk(m, committed, out);
      REQUIRE(step.is_ok());
      if (step.value()) result.step = step.value();
    } else {
      if (auto o = rig.sender->on_ack(m, rig.now, out)) result.outcome = o;
    }
    queue.insert(queue.end(), out.begin(), out.end());
  }
  return result;
}

TEST_CASE("snapshot transfer: a stream completes, in a bounded window, and hands the core its message", "[transfer]") {
  Rig rig;
  Random random(1);
  std::vector<Message> first;
  REQUIRE_FALSE(rig.sender->start(rig.request(), rig.now, first));
  CHECK(first.size() == 4);  // the window, not the whole file
  PumpResult r = pump(rig, first, 0, random);
  REQUIRE(r.step);
  CHECK(r.step->type == MessageType::kInstallSnapshot);
  CHECK(r.step->snapshot == kMeta);
  CHECK(r.step->term == 9);
  CHECK(r.step->data.empty());
  REQUIRE(r.outcome);
  CHECK(r.outcome->delivered);
  CHECK(rig.chunk_bytes_sent == rig.file_size);  // nothing sent twice
  REQUIRE(rig.follower_store->install(kMeta).is_ok());
  CHECK(rig.follower_store->open_latest().value()->verify().is_ok());
}

TEST_CASE("snapshot transfer: lost chunks are resent from the last acknowledged byte", "[transfer]") {
  Rig rig;
  Random random(7);
  std::vector<Message> out;
  rig.sender->start(rig.request(), rig.now, out);
  PumpResult r = pump(rig, out, 100000, random);  // 10% loss
  for (int i = 0; i < 1000 && !r.outcome; ++i) {
    rig.now += 150ms;  // silence: resend
    std::vector<Message> resent;
    auto ended = rig.sender->on_timer(rig.now, resent);
    REQUIRE(ended.empty());
    PumpResult more = pump(rig, resent, 100000, random);
    if (more.step) r.step = more.step;
    if (more.outcome) r.outcome = more.outcome;
  }
  REQUIRE(r.outcome);
  CHECK(r.outcome->delivered);
  REQUIRE(r.step);
}

TEST_CASE("snapshot transfer: a follower restarted mid-stream resumes from its partial file", "[transfer]") {
  Rig rig;
  Random random(3);
  std::vector<Message> out;
  rig.sender->start(rig.request(), rig.now, out);
  // Half the file arrives, then the follower restarts (its connection and memory gone, its partial file kept).
  std::deque<Message> queue(out.begin(), out.end());
  while (!queue.empty()) {
    Message m = queue.front();
    queue.pop_front();
    std::vector<Message> next;
    if (m.type == MessageType::kInstallSnapshot) {
      if (m.log_index >= rig.file_size / 2) continue;  // the connection drops here
      rig.chunk_bytes_sent += m.data.size();
      REQUIRE(rig.receiver->on_chunk(m, 0, next).is_ok());
    } else {
      rig.sender->on_ack(m, rig.now, next);
    }
    queue.insert(queue.end(), next.begin(), next.end());
  }
  rig.restart_follower();
  rig.now += 150ms;
  std::vector<Message> resent;
  REQUIRE(rig.sender->on_timer(rig.now, resent).empty());
  PumpResult r = pump(rig, resent, 0, random);
  REQUIRE(r.outcome);
  CHECK(r.outcome->delivered);
  REQUIRE(r.step);
  // Resumed: well under two copies of the file crossed the wire.
  CHECK(rig.chunk_bytes_sent < rig.file_size + rig.file_size / 2);
}

TEST_CASE("snapshot transfer: a silent follower is given up on after give_up_after, not before", "[transfer]") {
  Rig rig;
  std::vector<Message> out;
  rig.sender->start(rig.request(), rig.now, out);
  for (int i = 1; i <= 9; ++i) {
    std::vector<Message> resent;
    CHECK(rig.sender->on_timer(rig.now + i * 100ms, resent).empty());
  }
  std::vector<Message> resent;
  auto ended = rig.sender->on_timer(rig.now + 1000ms, resent);
  REQUIRE(ended.size() == 1);
  CHECK_FALSE(ended[0].delivered);
  CHECK_FALSE(rig.sender->active());
}

TEST_CASE("snapshot transfer: a snapshot the follower's commit index covers is not received", "[transfer]") {
  Rig rig;
  Random random(1);
  std::vector<Message> out;
  rig.sender->start(rig.request(), rig.now, out);
  PumpResult r = pump(rig, out, 0, random, /*committed=*/600);
  REQUIRE(r.step);
  REQUIRE(r.outcome);
  CHECK(rig.chunk_bytes_sent < rig.file_size);
  CHECK_FALSE(rig.follower_store->latest());
}

TEST_CASE("snapshot transfer: nothing to send is an immediate failure", "[transfer]") {
  raftkit::testing::TempDir dir;
  auto store = SnapshotStore::open(dir.path()).value();
  SnapshotSender sender(1, store.get(), SnapshotTransferOptions{});
  Message m;
  m.to = 2;
  m.snapshot = kMeta;
  std::vector<Message> out;
  auto o = sender.start(m, Clock::now(), out);
  REQUIRE(o);
  CHECK_FALSE(o->delivered);
  CHECK(out.empty());
}

}  // namespace
