// kv_client: the command-line client of kv_server. Follows "not leader" answers to the leader.
//
//   kv_client --server HOST:PORT put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED|- NEW | leader | status
//             | members | join NAME RAFT_HOST:PORT HTTP_HOST:PORT | remove NAME | leave | transfer-leader [NAME]
// join adds a peer (as a learner, promoted once caught up; start it with kv_server --join to bring it up), remove
// takes a member out, leave asks the server's own peer to leave. A change answered "dropped" (another change is
// still committing) is retried. transfer-leader hands leadership to NAME (without one, to the most up-to-date
// voter) and prints the new leader once it leads.
//
// With KV_TOKEN set in the environment, sends it as a bearer token (kv_server --auth-tokens).
//
// Prints the server's JSON answer. Exit status: 0 success, 1 a definite failure (404, cas mismatch, bad request,
// 401 or 403), 2 unreachable or unknown outcome.
#include <utility>  // before Asio: Boost 1.74 needs std::exchange declared
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;

struct Answer {
  int status = 0;
  std::string body;
};

bool request(const std::string& server, http::verb verb, const std::string& target, const std::string& body, Answer& out) {
  try {
    net::io_context ioc;
    const auto colon = server.rfind(':');
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(server.substr(0, colon), server.substr(colon + 1)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, server);
    req.set(http::field::content_type, "application/json");
    if (const char* token = std::getenv("KV_TOKEN"); token != nullptr && *token != '\0') {
      req.set(http::field::authorization, std::string("Bearer ") + token);
    }
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return true;
  } catch (const std::exception& e) {
    out.body = std::string("{\"error\":\"") + e.what() + "\"}\n";
    return false;
  }
}

int usage() {
  std::fputs("usage: kv_client --server HOST:PORT put KEY VALUE | get KEY | delete KEY | cas KEY EXPECTED|- NEW | leader | status\n"
             "                 | members | join NAME RAFT_HOST:PORT HTTP_HOST:PORT | remove NAME | leave\n"
             "                 | transfer-leader [NAME]\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::string(argv[1]) != "--server") return usage();
  std::string server = argv[2];
  const std::string cmd = argv[3];
  http::verb verb = http::verb::get;
  std::string target, body;
  if (cmd == "put" && argc == 6) {
    verb = http::verb::put;
    target = std::string("/kv/") + argv[4];
    body = json{{"value", argv[5]}}.dump();
  } else if (cmd == "get" && argc == 5) {
    target = std::string("/kv/") + argv[4];
  } else if (cmd == "delete" && argc == 5) {
    verb = http::verb::delete_;
    target = std::string("/kv/") + argv[4];
  } else if (cmd == "cas" && argc == 7) {
    verb = http::verb::post;
    target = std::string("/cas/") + argv[4];
    body = json{{"expected", std::string(argv[5]) == "-" ? json(nullptr) : json(argv[5])}, {"value", argv[6]}}.dump();
  } else if (cmd == "leader" && argc == 4) {
    target = "/leader";
  } else if (cmd == "transfer-leader" && (argc == 4 || argc == 5)) {
    verb = http::verb::post;
    target = "/leader";
    if (argc == 5) body = json{{"name", argv[4]}}.dump();
  } else if (cmd == "status" && argc == 4) {
    target = "/status";
  } else if (cmd == "members" && argc == 4) {
    target = "/members";
  } else if (cmd == "join" && argc == 7) {
    verb = http::verb::post;
    target = "/members";
    body = json{{"name", argv[4]}, {"raft", argv[5]}, {"http", argv[6]}}.dump();
  } else if (cmd == "remove" && argc == 5) {
    verb = http::verb::delete_;
    target = std::string("/members/") + argv[4];
  } else if (cmd == "leave" && argc == 4) {
    verb = http::verb::post;
    target = "/leave";
  } else {
    return usage();
  }
  Answer a;
  const bool membership = target.rfind("/members", 0) == 0 && verb != http::verb::get;
  for (int hop = 0; hop < 40; ++hop) {
    if (!request(server, verb, target, body, a)) {
      std::fputs(a.body.c_str(), stdout);
      return 2;
    }
    if (membership && a.status == 503 && a.body.find("Dropped") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // another change is committing: retry
      continue;
    }
    if (a.status == 503 && a.body.find("no_leader") != std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // an election is under way: ask again
      continue;
    }
    if (a.status != 421 && a.status != 307) break;  // a follower names the leader (307: --follower-redirect 307)
    json j = json::parse(a.body, nullptr, false);
    if (j.is_discarded() || !j["http"].is_string()) break;  // no leader known yet
    server = j["http"].get<std::string>();
  }
  std::fputs(a.body.c_str(), stdout);
  if (a.status == 200) {
    json j = json::parse(a.body, nullptr, false);
    return (!j.is_discarded() && j.contains("ok") && j["ok"] == false) ? 1 : 0;
  }
  return a.status == 404 || a.status == 400 || a.status == 401 || a.status == 403 ? 1 : 2;
}
