// kv_server: one raftkit peer per process, serving a key-value store over HTTP/1.1 + JSON (so curl works).
//
//   kv_server --name peer1 --members 1=peer1@127.0.0.1:7001/127.0.0.1:8001,2=peer2@...,3=peer3@...
//             --data /var/lib/kv/peer1 [--engine rocksdb|lmdb|sqlite|memory] [--cluster NAME]
//
// Each member is id=name@raft_host:raft_port/http_host:http_port. Client API:
//   GET    /kv/KEY                     -> 200 {"key","value"} | 404 {"error":"key_not_found"}
//   PUT    /kv/KEY   {"value":"V"}     -> 200 {"ok":true}
//   DELETE /kv/KEY                     -> 200 {"ok":true,"existed":bool}
//   POST   /cas/KEY  {"expected":"E"|null,"value":"V"} -> 200 {"ok":bool,"value":current}
//   GET    /leader                     -> {"leader":NAME,"http":ADDR}
//   GET    /state                      -> this replica's own state, without asking the leader (may be stale):
//                                         {"keys","digest","data" (up to 1000 keys),"applied","name"}
//   GET    /status                     -> {"name","leader","term","commit","applied","snapshot_index",
//                                           "log_first_index","snapshots_installed"}
// Reads: --read-mode readindex (default: each read confirms leadership with a heartbeat round) or lease (answered
// at once while the leader's lease holds; assumes bounded clock drift between peers).
// Snapshots: --snapshot-entries N (default 100000) and --trailing-entries N (default 10000) set when a peer
// snapshots its map and how much log it keeps behind the snapshot.
//   GET    /members                    -> [{"name","id","raft","http","role"}]
//   POST   /members  {"name","raft":"H:P","http":"H:P"} -> adds a peer (a learner, promoted once caught up); it
//                                                         then starts with --join to learn its id and catch up
//   DELETE /members/NAME               -> removes a member (the leader too: it hands over and steps down)
//   POST   /leave                      -> this server's peer leaves the cluster
// A request to a follower gets 421 {"error":"not_leader","leader":NAME,"http":ADDR} so clients can redirect.
//
// For tests only: --unsafe-local-reads yes and --unsafe-no-sync yes run deliberate bugs (reads without ReadIndex,
// log writes acknowledged before fsync); --timer-clock-file PATH drives Raft's timers from a clock a test can speed
// up, slow down, jump or stall (examples/fault_clock.h).
// Joining a running cluster instead of --members:
//   kv_server --name peer4 --join RAFT_HOST:RAFT_PORT --raft HOST:PORT --http HOST:PORT --data DIR
// asks the member at RAFT_HOST:RAFT_PORT (any member; the request finds the leader) to add it.
#include <atomic>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange declared
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "examples/connection_threads.h"
#include "examples/cow_map.h"
#include "examples/cow_map_snapshot.h"
#include "examples/fault_clock.h"
#include "runtime/peer.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using namespace raftkit;

// Commands and queries are JSON documents; results too.
class KvMachine : public StateMachine {
 public:
  std::string handle_write(const std::string& command) override {
    json c = json::parse(command, nullptr, false);
    if (c.is_discarded() || !c.contains("op") || !c.contains("key")) return R"({"error":"bad command"})";
    const std::string op = c["op"], key = c["key"];
    const std::string* current = data_.find(key);
    if (op == "set") {
      data_.set(key, c.value("value", ""));
      return R"({"ok":true})";
    }
    if (op == "delete") {
      const bool existed = data_.erase(key);
      return json{{"ok", true}, {"existed", existed}}.dump();
    }
    if (op == "cas") {
      const bool matches = c["expected"].is_null() ? current == nullptr
                                                   : (current != nullptr && *current == c["expected"].get<std::string>());
      if (matches) data_.set(key, c.value("value", ""));
      const std::string* now = data_.find(key);
      return json{{"ok", matches}, {"value", now == nullptr ? json(nullptr) : json(*now)}}.dump();
    }
    return R"({"error":"unknown op"})";
  }
  std::string handle_read(const std::string& query) override {
    if (query == kStateQuery) return state_summary();
    const std::string* v = data_.find(query);
    return v == nullptr ? std::string() : "=" + *v;  // "" means missing
  }
  // A query no HTTP key can spell (a request target holds no NUL byte): this replica's whole state.
  static inline const std::string kStateQuery{'\0'};
  // {"keys": count, "digest": FNV-1a of the sorted pairs, "data": {...} when small}: equal on two replicas that
  // applied the same prefix of the log.
  std::string state_summary() const {
    std::map<std::string, std::string> sorted;
    for (const auto& shard : data_.freeze()) sorted.insert(shard->begin(), shard->end());
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const std::string& s) {
      for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
      h = (h ^ 0xff) * 1099511628211ull;  // a separator, so ("ab","c") and ("a","bc") differ
    };
    for (const auto& [k, v] : sorted) {
      mix(k);
      mix(v);
    }
    json out = {{"keys", sorted.size()}, {"digest", std::to_string(h)}};
    if (sorted.size() <= 1000) out["data"] = sorted;
    return out.dump();
  }
  std::unique_ptr<StateMachineSnapshot> snapshot() override { return std::make_unique<examples::CowMapSnapshot>(data_); }
  Status restore(std::istream& in) override {
    return examples::restore_cow_map(data_, in);
  }

 private:
  examples::CowMap data_;
};

struct Member {
  PeerAddress raft;
  std::string http;  // host:port
};

std::vector<Member> parse_members(const std::string& spec) {
  std::vector<Member> out;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const auto eq = item.find('='), at = item.find('@'), slash = item.find('/');
    const std::string raft = item.substr(at + 1, slash - at - 1);
    const auto colon = raft.rfind(':');
    Member m;
    m.raft.id = std::stoull(item.substr(0, eq));
    m.raft.name = item.substr(eq + 1, at - eq - 1);
    m.raft.host = raft.substr(0, colon);
    m.raft.port = static_cast<std::uint16_t>(std::stoi(raft.substr(colon + 1)));
    m.http = item.substr(slash + 1);
    out.push_back(m);
    pos = comma + 1;
  }
  return out;
}

class Server {
 public:
  Server(Peer& peer, std::string name, std::vector<Member> members)
      : peer_(peer), name_(std::move(name)), members_(std::move(members)) {}

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    const std::string target(req.target());
    auto reply = [&](http::status status, const json& body) {
      http::response<http::string_body> res{status, req.version()};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      res.body() = body.dump() + "\n";
      res.prepare_payload();
      return res;
    };
    auto leader_json = [&]() {
      json j = {{"leader", nullptr}, {"http", nullptr}};
      if (auto l = peer_.leader()) {
        j["leader"] = *l;
        j["http"] = http_of(*l);
      }
      return j;
    };
    auto failure = [&](const raftkit::Status& s) {
      if (s.code() == ErrorCode::kNotLeader) {
        json j = leader_json();
        j["error"] = "not_leader";
        return reply(http::status::misdirected_request, j);
      }
      return reply(http::status::service_unavailable, json{{"error", s.to_string()}});
    };
    auto wait = [](std::future<Result<std::string>> f, int seconds = 5) -> Result<std::string> {
      if (f.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
        return raftkit::Status(ErrorCode::kUnavailable, "timed out (outcome unknown)");
      }
      return f.get();
    };
    if (target == "/leader") return reply(http::status::ok, leader_json());
    if (target == "/state" && req.method() == http::verb::get) {  // this replica's state, possibly stale
      auto r = wait(peer_.read_local(KvMachine::kStateQuery));
      if (!r.is_ok()) return failure(r.status());
      json j = json::parse(r.value());
      j["name"] = name_;
      j["applied"] = peer_.status().applied;
      return reply(http::status::ok, j);
    }
    if (target == "/members" && req.method() == http::verb::get) {
      json list = json::array();
      for (const MemberInfo& m : peer_.members()) {
        list.push_back({{"name", m.address.name},
                        {"id", m.address.id},
                        {"raft", m.address.host + ":" + std::to_string(m.address.port)},
                        {"http", m.info},
                        {"role", m.voter ? "voter" : "learner"}});
      }
      return reply(http::status::ok, list);
    }
    if (target == "/leave" && req.method() == http::verb::post) {
      auto r = wait(peer_.leave(), 30);
      if (!r.is_ok()) return failure(r.status());
      return reply(http::status::ok, json{{"ok", true}, {"left", name_}});
    }
    if (target.rfind("/members", 0) == 0) {
      Result<std::string> r = raftkit::Status(ErrorCode::kInvalidArgument, "bad members request");
      if (req.method() == http::verb::post && target == "/members") {
        json body = json::parse(req.body(), nullptr, false);
        if (body.is_discarded() || !body.contains("name") || !body.contains("raft") || !body["name"].is_string() ||
            !body["raft"].is_string()) {
          return reply(http::status::bad_request, json{{"error", "expected {\"name\", \"raft\": \"host:port\", \"http\"}"}});
        }
        const std::string raft = body["raft"];
        const auto colon = raft.rfind(':');
        if (colon == std::string::npos) return reply(http::status::bad_request, json{{"error", "raft must be host:port"}});
        PeerAddress address{0, body["name"], raft.substr(0, colon),
                            static_cast<std::uint16_t>(std::atoi(raft.c_str() + colon + 1))};
        r = wait(peer_.add_peer(address, body.value("http", "")), 30);
      } else if (req.method() == http::verb::delete_ && target.size() > 9) {
        r = wait(peer_.remove_peer(target.substr(9)), 30);
      }
      if (!r.is_ok() && r.status().code() == ErrorCode::kInvalidArgument) {
        return reply(http::status::bad_request, json{{"error", r.status().message()}});
      }
      if (!r.is_ok()) return failure(r.status());
      return reply(http::status::ok, json{{"ok", true}, {"configuration", r.value()}});
    }
    if (target == "/status") {
      const PeerStatus st = peer_.status();
      json j = leader_json();
      j["name"] = name_;
      j["term"] = st.term;
      j["commit"] = st.commit;
      j["applied"] = st.applied;
      j["snapshot_index"] = st.snapshot_index;
      j["log_first_index"] = st.log_first_index;
      j["snapshots_installed"] = st.snapshots_installed;
      j["member"] = st.member;
      return reply(http::status::ok, j);
    }
    const bool kv = target.rfind("/kv/", 0) == 0, cas = target.rfind("/cas/", 0) == 0;
    if (!kv && !cas) return reply(http::status::not_found, json{{"error", "no such endpoint"}});
    const std::string key = target.substr(kv ? 4 : 5);
    if (key.empty()) return reply(http::status::bad_request, json{{"error", "missing key"}});
    json body = req.body().empty() ? json::object() : json::parse(req.body(), nullptr, false);
    if (body.is_discarded()) return reply(http::status::bad_request, json{{"error", "body is not JSON"}});
    if (kv && req.method() == http::verb::get) {
      auto r = wait(peer_.read(key));
      if (!r.is_ok()) return failure(r.status());
      if (r.value().empty()) return reply(http::status::not_found, json{{"error", "key_not_found"}, {"key", key}});
      return reply(http::status::ok, json{{"key", key}, {"value", r.value().substr(1)}});
    }
    json command = {{"key", key}};
    if (kv && req.method() == http::verb::put) {
      if (!body.contains("value") || !body["value"].is_string()) {
        return reply(http::status::bad_request, json{{"error", "expected {\"value\": string}"}});
      }
      command["op"] = "set";
      command["value"] = body["value"];
    } else if (kv && req.method() == http::verb::delete_) {
      command["op"] = "delete";
    } else if (cas && req.method() == http::verb::post) {
      if (!body.contains("value") || !body["value"].is_string() || !body.contains("expected") ||
          !(body["expected"].is_string() || body["expected"].is_null())) {
        return reply(http::status::bad_request, json{{"error", "expected {\"expected\": string|null, \"value\": string}"}});
      }
      command["op"] = "cas";
      command["expected"] = body["expected"];
      command["value"] = body["value"];
    } else {
      return reply(http::status::method_not_allowed, json{{"error", "method not allowed"}});
    }
    auto r = wait(peer_.write(command.dump()));
    if (!r.is_ok()) return failure(r.status());
    return reply(http::status::ok, json::parse(r.value()));
  }

  void serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      http::read(socket, buffer, parser, ec);
      if (ec) break;
      auto res = handle(parser.get());
      http::write(socket, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }

 private:
  // A member's HTTP address: from the configuration (members that joined) or the --members spec.
  std::string http_of(const std::string& name) const {
    for (const MemberInfo& m : peer_.members()) {
      if (m.address.name == name && !m.info.empty()) return m.info;
    }
    for (const Member& m : members_) {
      if (m.raft.name == name) return m.http;
    }
    return "";
  }

  Peer& peer_;
  std::string name_;
  std::vector<Member> members_;
};

std::atomic<bool> g_stop{false};

}  // namespace

int main(int argc, char** argv) {
  std::string name, members_spec, data, engine = "rocksdb", cluster = "kv", join, raft_address, http_address;
  std::string timer_clock_file;
  PeerOptions o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--name") name = v;
    else if (a == "--members") members_spec = v;
    else if (a == "--data") data = v;
    else if (a == "--engine") engine = v;
    else if (a == "--cluster") cluster = v;
    else if (a == "--snapshot-entries") o.snapshot_entries = std::stoull(v);
    else if (a == "--trailing-entries") o.trailing_entries = std::stoull(v);
    else if (a == "--join") join = v;
    else if (a == "--raft") raft_address = v;
    else if (a == "--http") http_address = v;
    else if (a == "--unsafe-local-reads") o.unsafe_local_reads = v == "yes";  // a deliberate bug, for tests only
    else if (a == "--unsafe-no-sync") o.unsafe_no_sync = v == "yes";          // a deliberate bug, for tests only
    else if (a == "--read-mode") o.lease_reads = v == "lease";               // readindex (default) | lease
    else if (a == "--timer-clock-file") timer_clock_file = v;                // fault injection, for tests only
  }
  const bool joining = !join.empty();
  if (name.empty() || (data.empty() && engine != "memory") || (joining ? raft_address.empty() || http_address.empty()
                                                                        : members_spec.empty())) {
    std::fprintf(stderr, "usage: kv_server --name NAME --members ID=NAME@HOST:PORT/HTTPHOST:HTTPPORT,... --data DIR\n"
                         "       kv_server --name NAME --join HOST:PORT --raft HOST:PORT --http HOST:PORT --data DIR\n"
                         "       [--engine rocksdb|lmdb|sqlite|memory] [--cluster NAME] [--snapshot-entries N] "
                         "[--trailing-entries N] [--read-mode readindex|lease]\n");
    return 2;
  }
  const std::vector<Member> members = joining ? std::vector<Member>{} : parse_members(members_spec);
  o.name = name;
  o.cluster = cluster;
  o.data_dir = data;
  o.engine = engine == "lmdb" ? Engine::kLmdb : engine == "sqlite" ? Engine::kSqlite : engine == "memory" ? Engine::kMemory : Engine::kRocksDb;
  for (const Member& m : members) {
    o.members.push_back(m.raft);
    o.member_info[m.raft.name] = m.http;
    if (m.raft.name == name) http_address = m.http;
  }
  if (joining) {
    const auto colon = raft_address.rfind(':');
    o.join = join;
    o.host = raft_address.substr(0, colon);
    o.port = static_cast<std::uint16_t>(std::stoi(raft_address.substr(colon + 1)));
    o.info = http_address;
  }
  std::shared_ptr<examples::FaultClock> fault_clock;
  if (!timer_clock_file.empty()) {
    fault_clock = std::make_shared<examples::FaultClock>(timer_clock_file);
    o.timer_clock = [fault_clock] { return fault_clock->now(); };
  }
  auto peer = Peer::start(o, std::make_unique<KvMachine>());
  if (!peer.is_ok()) {
    std::fprintf(stderr, "kv_server %s: %s\n", name.c_str(), peer.status().to_string().c_str());
    return 1;
  }
  Server server(*peer.value(), name, members);
  net::io_context ioc;
  const auto colon = http_address.rfind(':');
  tcp::acceptor acceptor(ioc, {net::ip::make_address(http_address.substr(0, colon)),
                               static_cast<std::uint16_t>(std::stoi(http_address.substr(colon + 1)))});
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  acceptor.non_blocking(true);
  std::fprintf(stderr, "kv_server %s: raft peer up, HTTP on %s (%s log in %s)\n", name.c_str(), http_address.c_str(),
               engine.c_str(), data.c_str());
  examples::ConnectionThreads connections(512);
  while (!g_stop) {
    beast::error_code ec;
    tcp::socket socket(ioc);
    acceptor.accept(socket, ec);
    if (ec) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    socket.non_blocking(false, ec);
    connections.spawn(std::move(socket), [&server](tcp::socket& s) { server.serve(s); });
  }
  acceptor.close();
  connections.shut_down_sockets();
  peer.value()->stop();  // requests waiting on the peer are answered
  connections.wait_idle();
  std::fprintf(stderr, "kv_server %s: stopped\n", name.c_str());
  return 0;
}
