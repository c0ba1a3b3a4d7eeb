// A transport under test that records what it receives and what it logs, the options the transport tests start
// from, and a wait for a condition to hold.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/transport.h"

namespace raftkit::testing {

struct Node {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> received;
  std::vector<std::string> log;
  std::unique_ptr<Transport> transport;

  void start(TransportOptions o) {
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu);
      log.push_back(line);
    };
    auto t = Transport::start(std::move(o), [this](Message m) {
      std::lock_guard<std::mutex> lock(mu);
      received.push_back(std::move(m));
      cv.notify_all();
    });
    REQUIRE(t.is_ok());
    transport = std::move(t).value();
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return received.size() >= count; });
  }
  std::size_t received_count() {
    std::lock_guard<std::mutex> lock(mu);
    return received.size();
  }
  std::size_t log_lines_containing(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    return std::count_if(log.begin(), log.end(), [&](const std::string& l) { return l.find(what) != l.npos; });
  }
};

// Node `self` named "node-<self>" in cluster "test", reconnecting quickly.
inline TransportOptions options_for(NodeId self, std::vector<PeerAddress> peers) {
  TransportOptions o;
  o.cluster = "test";
  o.self = self;
  o.self_name = "node-" + std::to_string(self);
  o.peers = std::move(peers);
  o.reconnect_min = std::chrono::milliseconds(5);
  o.reconnect_max = std::chrono::milliseconds(50);
  return o;
}

template <typename Predicate>
bool eventually(Predicate p, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!p()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace raftkit::testing
