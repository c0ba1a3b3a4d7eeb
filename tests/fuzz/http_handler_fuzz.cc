// Fuzz target: the key-value server's HTTP request handling — Beast's request parser with the server's limits,
// then the API (key decoding, JSON bodies, routing, answers) against a fake peer playing the role the first
// byte picks. Nothing it is given may crash it, throw out of it, or leave a request unanswered.
#include <atomic>
#include <cstdint>
#include <memory>
#include <cstdlib>
#include <string_view>

#include <utility>  // before Beast: Boost 1.74 needs std::exchange declared
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "examples/kv/kv_http_api.h"
#include "tests/kv_server/fake_peer.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static raftkit::testing::FakePeer peer;  // one state across inputs, as a running server keeps its store...
  static raftkit::examples::kv::KvHttpApi api(peer, "p1", {});
  static unsigned inputs = 0;
  // ...but a bounded one: answers that list the whole store (GET /state) would slow every later input down.
  if (++inputs % 4096 == 0) peer.forget();
  peer.role = static_cast<raftkit::testing::FakePeer::Role>(data[0] % 4);
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 << 10);
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_done()) {
      if (!ec && parser.is_header_done()) parser.put_eof(ec);
      if (ec || !parser.is_done()) return 0;
    }
    input.remove_prefix(used);
    // Membership requests are answered later, from the administrative thread; everything else at once here.
    const bool later = raftkit::examples::kv::KvHttpApi::is_admin(parser.get());
    auto answers = std::make_shared<std::atomic<int>>(0);
    api.handle(parser.release(), [answers](raftkit::examples::kv::HttpResponse res) {
      if (++*answers != 1 || res.body().empty()) std::abort();
    });
    if (!later && *answers != 1) std::abort();
    if (used == 0) break;
  }
  return 0;
}
