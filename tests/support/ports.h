// A free TCP port on the loopback interface, for tests and benchmarks that start servers.
//
// Why not bind port 0 and hand that number out: the kernel picks it from the ephemeral range, the same range every
// outgoing connection on the machine takes its local port from. Between releasing the probe and the server binding
// it, a client connection of another test running in parallel (ctest -j) can take the port, and the server fails to
// start. So ports come from below the ephemeral range, where outgoing connections never land, chosen at random per
// process (two parallel test processes rarely pick the same one) and never twice within one process.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <random>
#include <set>

namespace raftkit::testing {

inline std::uint16_t free_loopback_port() {
  static std::mutex mu;
  static std::set<std::uint16_t> handed_out;
  static std::mt19937 rng(static_cast<std::uint32_t>(::getpid()) * 2654435761u ^
                          static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  int ephemeral_low = 32768, ephemeral_high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low >> ephemeral_high;
  const int low = 10000, high = ephemeral_low > low + 1000 ? ephemeral_low - 1 : 32767;
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(std::uniform_int_distribution<int>(low, high)(rng));
    if (handed_out.count(port)) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) {
      handed_out.insert(port);
      return port;
    }
  }
  return 0;  // the caller's bind then fails with a clear error
}

}  // namespace raftkit::testing
