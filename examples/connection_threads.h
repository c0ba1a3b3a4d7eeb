// One thread per HTTP connection for the example servers, bounded and joinable at shutdown.
//
// Threads are detached, so a finished connection leaves nothing behind (a joinable std::thread kept in a vector
// would keep its stack mapped until joined, so a server taking a new connection per request grew without bound).
// The set remembers each open socket so shutdown can wake threads blocked reading an idle
// keep-alive connection, and waits for them, so none outlives the objects it uses.
#pragma once

#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>

namespace raftkit::examples {

class ConnectionThreads {
 public:
  using Socket = boost::asio::ip::tcp::socket;

  explicit ConnectionThreads(std::size_t limit) : limit_(limit) {}

  // Runs serve(socket) on a thread of its own. With `limit` connections already open (or after close_all) the
  // socket is closed at once: the client sees a reset and retries, rather than the server growing without bound.
  void spawn(Socket socket, std::function<void(Socket&)> serve) {
    std::uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_ || open_.size() >= limit_) return;  // the socket closes as it goes out of scope
      id = next_id_++;
      open_[id] = socket.native_handle();
    }
    std::thread([this, id, s = std::move(socket), serve = std::move(serve)]() mutable {
      serve(s);
      std::lock_guard<std::mutex> lock(mu_);
      open_.erase(id);  // before the socket closes, so close_all never shuts down a reused descriptor
      s.close();
      if (open_.empty()) idle_.notify_all();
    }).detach();
  }

  // Stops taking connections and wakes every thread blocked on its socket (its read fails).
  void shut_down_sockets() {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    for (const auto& [id, fd] : open_) ::shutdown(fd, SHUT_RDWR);
  }

  // Waits until every connection thread has finished. Call after shut_down_sockets and after whatever a request
  // may be waiting on has been stopped.
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return open_.empty(); });
  }

 private:
  const std::size_t limit_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::uint64_t, int> open_;  // connection id -> socket descriptor
  std::uint64_t next_id_ = 0;
  bool closing_ = false;
};

}  // namespace raftkit::examples
