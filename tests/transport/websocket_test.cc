// The WebSocket transport over real loopback sockets: delivery, the handshake's refusals, hostile frames,
// reconnection and bounded queues.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/transport/heartbeat.h"
#include "transport/transport.h"
#include "transport/wire.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;

// A transport plus what it received.
struct Endpoint {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> received;
  std::unique_ptr<Transport> transport;

  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return received.size() >= count; });
  }
};

TransportOptions options_for(NodeId self, const std::string& cluster, std::vector<PeerAddress> peers) {
  TransportOptions o;
  o.cluster = cluster;
  o.self = self;
  o.self_name = "node-" + std::to_string(self);
  o.peers = std::move(peers);
  o.reconnect_min = 5ms;
  o.reconnect_max = 50ms;
  return o;
}

void start(Endpoint& e, TransportOptions o) {
  auto t = Transport::start(std::move(o), [&e](Message m) {
    std::lock_guard<std::mutex> lock(e.mu);
    e.received.push_back(std::move(m));
    e.cv.notify_all();
  });
  REQUIRE(t.is_ok());
  e.transport = std::move(t).value();
}

using testing::heartbeat;

// Two transports that know each other; ports are picked by the OS, so the second learns the first's port and the
// first is told the second's through a restart-free trick: listen first, then build the peer lists.
struct Pair {
  Endpoint a, b;
  Pair(const std::string& cluster_b = "test", const std::string& name_a = "node-1") {
    // Reserve b's port by starting it without peers, then a with b's address, then restart b knowing a.
    start(b, options_for(2, cluster_b, {}));
    const std::uint16_t port_b = b.transport->port();
    b.transport->stop();
    TransportOptions oa = options_for(1, "test", {{2, "node-2", "127.0.0.1", port_b}});
    oa.self_name = name_a;
    start(a, oa);
    TransportOptions ob = options_for(2, cluster_b, {{1, "node-1", "127.0.0.1", a.transport->port()}});
    ob.listen_port = port_b;
    start(b, ob);
  }
};

TEST_CASE("transport: peers exchange batches of messages both ways, in order", "[transport]") {
  Pair p;
  std::vector<Message> batch;
  for (std::uint64_t i = 1; i <= 50; ++i) batch.push_back(heartbeat(1, 2, i));
  p.a.transport->send(batch);
  p.b.transport->send({heartbeat(2, 1, 99)});
  REQUIRE(p.b.wait_for(50));
  REQUIRE(p.a.wait_for(1));
  for (std::size_t i = 0; i < 50; ++i) CHECK(p.b.received[i].context == i + 1);
  CHECK(p.a.received[0].context == 99);
  // The sender counts a batch after its write returns, which can be after the receiver already has it.
  for (int i = 0; i < 100 && p.a.transport->stats().messages_sent < 50; ++i) std::this_thread::sleep_for(10ms);
  CHECK(p.a.transport->stats().messages_sent == 50);
  CHECK(p.a.transport->stats().frames_sent <= 50);
}

TEST_CASE("transport: large entries arrive intact", "[transport]") {
  Pair p;
  Message m = heartbeat(1, 2, 1);
  m.type = MessageType::kAppend;
  m.entries = {Entry{1, 3, EntryKind::kNormal, std::string(3 << 20, 'x')}};
  p.a.transport->send({m});
  REQUIRE(p.b.wait_for(1));
  CHECK(p.b.received[0].entries == m.entries);
}

TEST_CASE("transport: a peer of another cluster is refused with a reason", "[transport][handshake]") {
  Pair p("other-cluster");
  p.a.transport->send({heartbeat(1, 2, 1)});
  for (int i = 0; i < 500 && p.a.transport->stats().refusals_received == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(p.b.received.empty());
  CHECK(p.b.transport->stats().connections_refused > 0);
  CHECK(p.a.transport->stats().refusals_received > 0);
}

TEST_CASE("transport: an unknown peer is refused", "[transport][handshake]") {
  Pair p("test", "impostor");
  p.a.transport->send({heartbeat(1, 2, 1)});
  for (int i = 0; i < 500 && p.b.transport->stats().connections_refused == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(p.b.received.empty());
  CHECK(p.b.transport->stats().connections_refused > 0);
}

TEST_CASE("transport: an unknown peer admitted by admit_unknown is answered at the address in its hello",
          "[transport][handshake][membership]") {
  // b knows nobody (it missed the change that added a); a knows b. b admits ids above 1 only.
  // What b's callback touches is declared first, so it outlives b's transport, whose threads may still call it.
  std::vector<PeerAddress> asked;
  std::mutex asked_mu;
  Endpoint a, b, c;
  TransportOptions ob = options_for(2, "test", {});
  ob.admit_unknown = [&](const PeerAddress& p) {
    std::lock_guard<std::mutex> lock(asked_mu);
    asked.push_back(p);
    return p.id > 2;
  };
  start(b, ob);
  start(a, options_for(3, "test", {{2, "node-2", "127.0.0.1", b.transport->port()}}));
  a.transport->send({heartbeat(3, 2, 7)});
  REQUIRE(b.wait_for(1));
  CHECK(b.received[0].context == 7);
  {
    std::lock_guard<std::mutex> lock(asked_mu);
    REQUIRE(asked.size() == 1);
    CHECK(asked[0].name == "node-3");
    CHECK(asked[0].host == "127.0.0.1");
    CHECK(asked[0].port == a.transport->port());
  }
  b.transport->send({heartbeat(2, 3, 8)});  // b answers the peer it just admitted
  REQUIRE(a.wait_for(1));
  CHECK(a.received[0].context == 8);
  // An id admit_unknown turns down (a removed member, say) is refused, as without the callback.
  start(c, options_for(1, "test", {{2, "node-2", "127.0.0.1", b.transport->port()}}));
  c.transport->send({heartbeat(1, 2, 9)});
  for (int i = 0; i < 500 && b.transport->stats().connections_refused == 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(b.transport->stats().connections_refused > 0);
  CHECK(b.received.size() == 1);
}

// A raw WebSocket client, for sending what a well-behaved peer never would.
struct RawClient {
  boost::asio::io_context ioc;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws{ioc};
  explicit RawClient(std::uint16_t port) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    ws.next_layer().connect(ep);
    ws.handshake("127.0.0.1", "/raftkit");
    ws.binary(true);
  }
  bool send(const std::string& bytes) {
    boost::beast::error_code ec;
    ws.write(boost::asio::buffer(bytes), ec);
    return !ec;
  }
  std::string read() {
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    ws.read(buffer, ec);
    return ec ? std::string() : boost::beast::buffers_to_string(buffer.data());
  }
};

TEST_CASE("transport: malformed and oversized frames are refused without harm", "[transport][input]") {
  Pair p;
  {
    RawClient garbage(p.b.transport->port());
    garbage.send("this is not a raftkit frame at all");
    const std::string answer = garbage.read();
    auto frame = wire::decode_frame(answer, 4096);
    REQUIRE(frame.is_ok());
    CHECK(frame.value().type == wire::FrameType::kRefusal);
  }
  {
    // A correct hello, then a batch frame whose checksum is wrong.
    RawClient hostile(p.b.transport->port());
    hostile.send(wire::encode_hello(wire::Hello{"test", 1, "node-1", 2}));
    const std::string welcome = hostile.read();
    CHECK(wire::decode_frame(welcome, 4096).value().type == wire::FrameType::kWelcome);
    std::string bad = wire::encode_batch({heartbeat(1, 2, 5)});
    bad[bad.size() - 1] ^= 0x01;
    hostile.send(bad);
    std::this_thread::sleep_for(100ms);
    // A message claiming to be from someone else than the hello said is dropped too.
    RawClient spoof(p.b.transport->port());
    spoof.send(wire::encode_hello(wire::Hello{"test", 1, "node-1", 2}));
    spoof.read();
    spoof.send(wire::encode_batch({heartbeat(7, 2, 6)}));
    std::this_thread::sleep_for(100ms);
  }
  for (int i = 0; i < 500 && p.b.transport->stats().malformed_frames < 2; ++i) std::this_thread::sleep_for(10ms);
  CHECK(p.b.transport->stats().malformed_frames >= 2);
  // The transport is unharmed: the real peer still gets through. The hostile hellos claimed its id and so
  // replaced its connection (one per peer); what it writes into the cut one is lost, so it sends until it arrives.
  bool delivered = false;
  for (int i = 0; i < 200 && !delivered; ++i) {
    p.a.transport->send({heartbeat(1, 2, 42)});
    delivered = p.b.wait_for(1, 25ms);
  }
  REQUIRE(delivered);
  for (const Message& m : p.b.received) CHECK(m.context == 42);
}

TEST_CASE("transport: an oversized frame closes the connection, and the sender reconnects", "[transport][input]") {
  Endpoint a, b;
  start(b, options_for(2, "test", {}));
  const std::uint16_t port_b = b.transport->port();
  b.transport->stop();
  start(a, options_for(1, "test", {{2, "node-2", "127.0.0.1", port_b}}));
  TransportOptions ob = options_for(2, "test", {{1, "node-1", "127.0.0.1", a.transport->port()}});
  ob.listen_port = port_b;
  ob.max_frame_bytes = 64 * 1024;
  start(b, ob);
  Message big = heartbeat(1, 2, 1);
  big.entries = {Entry{1, 3, EntryKind::kNormal, std::string(1 << 20, 'x')}};
  a.transport->send({big});
  std::this_thread::sleep_for(200ms);
  CHECK(b.received.empty());
  for (int i = 0; i < 500 && b.transport->stats().malformed_frames < 1; ++i) std::this_thread::sleep_for(10ms);
  CHECK(b.transport->stats().malformed_frames >= 1);
  // Messages written into the dying connection are lost (Raft retransmits) until the receiver's close handshake
  // gives up (its handshake timeout); keep sending until one arrives.
  bool delivered = false;
  for (int i = 0; i < 300 && !delivered; ++i) {
    a.transport->send({heartbeat(1, 2, 2)});
    delivered = b.wait_for(1, 50ms);
  }
  REQUIRE(delivered);
  CHECK(b.received.back().context == 2);
}

TEST_CASE("transport: a restarted peer is reconnected to", "[transport]") {
  Pair p;
  p.a.transport->send({heartbeat(1, 2, 1)});
  REQUIRE(p.b.wait_for(1));
  const std::uint16_t port_b = p.b.transport->port();
  p.b.transport->stop();
  p.b.transport.reset();
  TransportOptions ob = options_for(2, "test", {{1, "node-1", "127.0.0.1", p.a.transport->port()}});
  ob.listen_port = port_b;
  start(p.b, ob);
  // Messages sent while the old connection dies may be lost; keep sending until one gets through.
  bool delivered = false;
  for (int i = 0; i < 100 && !delivered; ++i) {
    p.a.transport->send({heartbeat(1, 2, 100 + static_cast<std::uint64_t>(i))});
    delivered = p.b.wait_for(2, 50ms);
  }
  CHECK(delivered);
  CHECK(p.a.transport->stats().reconnects >= 1);
}

TEST_CASE("transport: a dead peer's queue is bounded, and the excess is dropped", "[transport][backpressure]") {
  Endpoint a;
  TransportOptions o = options_for(1, "test", {{2, "node-2", "127.0.0.1", 1}});  // nobody listens on port 1
  o.max_queue_bytes = 256 * 1024;
  start(a, o);
  Message m = heartbeat(1, 2, 1);
  m.entries = {Entry{1, 3, EntryKind::kNormal, std::string(4096, 'x')}};
  for (int i = 0; i < 1000; ++i) a.transport->send({m});  // about 4 MB offered
  CHECK(a.transport->stats().dropped_queue_full > 900);
}

}  // namespace

namespace {

TEST_CASE("transport: the peer list follows the membership; a removed peer is refused", "[transport][membership]") {
  Pair p;
  p.a.transport->send({heartbeat(1, 2, 1)});
  REQUIRE(p.b.wait_for(1));
  // b forgets a (a's removal committed): a's connection is cut and its reconnections refused.
  p.b.transport->set_peers({});
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (p.a.transport->stats().refusals_received == 0 && std::chrono::steady_clock::now() < deadline) {
    p.a.transport->send({heartbeat(1, 2, 2)});
    std::this_thread::sleep_for(20ms);
  }
  CHECK(p.a.transport->stats().refusals_received > 0);
  CHECK(p.b.transport->stats().connections_refused > 0);
  // b learns of a again (re-added): messages flow once more.
  p.b.transport->set_peers({{1, "node-1", "127.0.0.1", p.a.transport->port()}});
  const std::size_t before = [&] {
    std::lock_guard<std::mutex> lock(p.b.mu);
    return p.b.received.size();
  }();
  bool delivered = false;
  for (int i = 0; i < 200 && !delivered; ++i) {
    p.a.transport->send({heartbeat(1, 2, 3)});
    delivered = p.b.wait_for(before + 1, 25ms);
  }
  CHECK(delivered);
}

TEST_CASE("transport: join requests are answered by on_join, or refused for another cluster", "[transport][membership]") {
  Endpoint e;
  TransportOptions o = options_for(1, "test", {});
  o.on_join = [](const JoinRequest& q) {
    JoinReply r;
    r.ok = q.name == "newcomer";
    r.error = r.ok ? "" : "unknown name";
    r.id = 7;
    r.members = {PeerAddress{1, "node-1", "127.0.0.1", 1}, PeerAddress{7, q.name, q.host, q.port}};
    return r;
  };
  start(e, o);
  const std::uint16_t port = e.transport->port();
  auto ok = Transport::request_join("127.0.0.1", port, JoinRequest{"test", "newcomer", "127.0.0.1", 9, "", false}, 5000ms);
  REQUIRE(ok.is_ok());
  CHECK(ok.value().ok);
  CHECK(ok.value().id == 7);
  CHECK(ok.value().members.size() == 2);
  auto refused = Transport::request_join("127.0.0.1", port, JoinRequest{"test", "stranger", "h", 9, "", false}, 5000ms);
  REQUIRE(refused.is_ok());
  CHECK_FALSE(refused.value().ok);
  CHECK(refused.value().error == "unknown name");
  auto other = Transport::request_join("127.0.0.1", port, JoinRequest{"other", "newcomer", "h", 9, "", false}, 5000ms);
  REQUIRE(other.is_ok());
  CHECK_FALSE(other.value().ok);
  CHECK(other.value().error.find("cluster") != std::string::npos);
  // Nobody listening: a clear error, not a hang.
  auto nobody = Transport::request_join("127.0.0.1", 1, JoinRequest{"test", "x", "h", 9, "", false}, 1000ms);
  CHECK_FALSE(nobody.is_ok());
}

}  // namespace
