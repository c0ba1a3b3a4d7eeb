// kv_server: one raftkit peer per process, serving a replicated key-value store over HTTP/1.1 + JSON (curl works).
// The HTTP API is in docs/http-api.md; `kv_server --help` lists every flag.
//
//   kv_server --name peer1 --members 1=peer1@127.0.0.1:7001/127.0.0.1:8001,2=peer2@...,3=peer3@... --data DIR
//   kv_server --name peer4 --join RAFT_HOST:RAFT_PORT --raft HOST:PORT --http HOST:PORT --data DIR
//
// On SIGTERM or SIGINT a leader hands leadership to the most up-to-date voter, and goes on redirecting clients to it
// for two seconds, before it stops.
// Exit status: 0 after SIGTERM or SIGINT; 2 for a bad command line (nothing was written); 1 when the peer cannot
// start; 3 when the peer stopped by itself because it could no longer go on safely (its disk failed, say) — after
// --exit-grace-ms, during which /status and /health report why, so a supervisor restarts it.
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange declared
#include <boost/asio/ip/tcp.hpp>

#include "examples/fault_clock.h"
#include "examples/kv/http_server.h"
#include "examples/kv/kv_http_api.h"
#include "examples/kv/kv_machine.h"
#include "adapters/engines.h"
#include "runtime/peer.h"

namespace {

using namespace raftkit;
using namespace raftkit::examples;
using namespace std::chrono_literals;

std::atomic<bool> g_stop{false};

// "host:port" with a port in 1..65535; throws CLI::ValidationError naming the flag otherwise.
std::pair<std::string, std::uint16_t> host_port(const std::string& flag, const std::string& s) {
  const auto colon = s.rfind(':');
  const std::string port = colon == std::string::npos ? "" : s.substr(colon + 1);
  unsigned long value = 0;
  bool ok = colon != std::string::npos && colon > 0 && !port.empty() && port.size() <= 5;
  for (char c : port) ok = ok && c >= '0' && c <= '9';
  if (ok) value = std::stoul(port);
  if (!ok || value == 0 || value > 65535) {
    throw CLI::ValidationError(flag, "'" + s + "' is not HOST:PORT with a port from 1 to 65535");
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(s.substr(0, colon), ec);
  if (ec) throw CLI::ValidationError(flag, "'" + s.substr(0, colon) + "' is not an IP address");
  return {s.substr(0, colon), static_cast<std::uint16_t>(value)};
}

// id=name@raft_host:raft_port/http_host:http_port, comma-separated.
std::vector<kv::KvMember> parse_members(const std::string& spec) {
  std::vector<kv::KvMember> out;
  std::set<std::string> names;
  std::set<NodeId> ids;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const auto eq = item.find('='), at = item.find('@'), slash = item.find('/');
    if (eq == std::string::npos || at == std::string::npos || slash == std::string::npos || !(eq < at && at < slash)) {
      throw CLI::ValidationError("--members", "'" + item + "' is not ID=NAME@RAFT_HOST:PORT/HTTP_HOST:PORT");
    }
    const std::string id = item.substr(0, eq);
    bool numeric = !id.empty() && id.size() <= 18;
    for (char c : id) numeric = numeric && c >= '0' && c <= '9';
    if (!numeric || std::stoull(id) == 0) throw CLI::ValidationError("--members", "'" + id + "' is not a member id (1, 2, ...)");
    kv::KvMember m;
    m.raft.id = std::stoull(id);
    m.raft.name = item.substr(eq + 1, at - eq - 1);
    if (m.raft.name.empty()) throw CLI::ValidationError("--members", "a member in '" + item + "' has no name");
    std::tie(m.raft.host, m.raft.port) = host_port("--members", item.substr(at + 1, slash - at - 1));
    m.http = item.substr(slash + 1);
    host_port("--members", m.http);
    if (!names.insert(m.raft.name).second) throw CLI::ValidationError("--members", "name '" + m.raft.name + "' twice");
    if (!ids.insert(m.raft.id).second) throw CLI::ValidationError("--members", "id " + id + " twice");
    out.push_back(m);
    pos = comma + 1;
  }
  return out;
}

// Fails if nothing can listen on host:port now (in use, or not an address of this machine), before anything is
// written; the peer binds it for real a moment later.
void check_can_listen(const std::string& flag, const std::string& host, std::uint16_t port) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc);
  boost::system::error_code ec;
  const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(host), port);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (ec) {
    throw CLI::ValidationError(flag, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
}

// Open descriptors bound every connection: take the hard limit, and keep connections well inside it.
std::size_t connections_within_descriptor_limit(std::size_t wanted) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return wanted;
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  const std::size_t reserve = 256;  // the engine's files, the peer transport, snapshots
  if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur > wanted + reserve) return wanted;
  return r.rlim_cur > 2 * reserve ? r.rlim_cur - reserve : r.rlim_cur / 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kv_server: a replicated key-value store, one raftkit peer per process, served over HTTP/1.1 + JSON "
               "(docs/http-api.md)."};
  std::string name, members_spec, data, engine = "rocksdb", cluster = "kv", join, raft_address, http_address;
  std::string read_mode = "readindex", unsafe_local_reads = "no", unsafe_no_sync = "no", timer_clock_file;
  PeerOptions o;
  kv::HttpServerOptions web;
  kv::KvHttpApiOptions api_options;
  int idle_ms = 30000, read_ms = 10000, request_ms = 5000, exit_grace_ms = 5000;
  int peer_handshake_ms = 5000, peer_idle_ms = 30000;
  app.add_option("--name", name, "this peer's name")->required();
  app.add_option("--members", members_spec,
                 "the initial members, ID=NAME@RAFT_HOST:PORT/HTTP_HOST:PORT,... (this peer among them)");
  app.add_option("--join", join, "join a running cluster through the member at RAFT_HOST:PORT instead of --members")
      ->excludes("--members");
  app.add_option("--raft", raft_address, "with --join: this peer's Raft address, HOST:PORT");
  app.add_option("--http", http_address, "with --join: this peer's HTTP address, HOST:PORT");
  app.add_option("--data", data, "data directory (log and snapshots); needed unless --engine memory");
  app.add_option("--engine", engine, "durable log engine")->check(CLI::IsMember({"rocksdb", "lmdb", "sqlite", "memory"}));
  app.add_option("--cluster", cluster, "cluster name; peers of another cluster are refused");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "the peer's log on standard error: debug, info, warning, error or off")
      ->check(CLI::IsMember({"debug", "info", "warning", "error", "off"}))
      ->capture_default_str();
  app.add_option("--snapshot-entries", o.snapshot_entries, "snapshot after this many applied entries")->capture_default_str();
  app.add_option("--trailing-entries", o.trailing_entries, "entries kept behind a snapshot")->capture_default_str();
  app.add_option("--read-mode", read_mode, "readindex (a heartbeat round per read) or lease (assumes bounded clock drift)")
      ->check(CLI::IsMember({"readindex", "lease"}));
  app.add_option("--max-pending-requests", o.max_pending_requests, "requests the peer holds before answering 429")
      ->check(CLI::Range(1, 10000000))->capture_default_str();
  std::string follower_redirect = "421";
  app.add_option("--follower-redirect", follower_redirect,
                 "how a follower sends clients to the leader: 421, or 307 (followed by curl -L)")
      ->check(CLI::IsMember({"421", "307"}))->capture_default_str();
  app.add_option("--http-threads", web.threads, "HTTP I/O threads (0: one per core)")->check(CLI::Range(0, 256));
  app.add_option("--max-connections", web.max_connections, "open HTTP connections; beyond it 503")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--max-header-bytes", web.max_header_bytes, "request line and headers (414/431 beyond)")
      ->check(CLI::Range(1024, 1 << 20))->capture_default_str();
  app.add_option("--max-target-bytes", web.max_target_bytes, "request target (414 beyond)")
      ->check(CLI::Range(64, 1 << 20))->capture_default_str();
  app.add_option("--max-body-bytes", web.max_body_bytes, "request body (413 beyond)")
      ->check(CLI::Range(1024, 64 << 20))->capture_default_str();
  app.add_option("--max-key-bytes", api_options.max_key_bytes, "a key, percent-decoded (400 beyond)")
      ->check(CLI::Range(1, 1 << 20))->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_ms, "close a connection idle this long")->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  app.add_option("--read-timeout-ms", read_ms, "a request must arrive whole this soon after its first byte (408)")
      ->check(CLI::Range(10, 3600000))->capture_default_str();
  app.add_option("--request-timeout-ms", request_ms, "answer 503 (outcome unknown) if the cluster takes longer")
      ->check(CLI::Range(10, 3600000))->capture_default_str();
  app.add_option("--exit-grace-ms", exit_grace_ms, "after the peer stops by itself, exit 3 this much later")
      ->check(CLI::Range(0, 3600000))->capture_default_str();
  app.add_option("--peer-max-connections", o.peer_max_connections,
                 "inbound connections on the Raft port; beyond it closed unread")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--peer-max-connections-per-source", o.peer_max_connections_per_source,
                 "the same, from one address")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--peer-handshake-timeout-ms", peer_handshake_ms, "a Raft connection must say hello this soon")
      ->check(CLI::Range(10, 600000))->capture_default_str();
  app.add_option("--peer-idle-timeout-ms", peer_idle_ms,
                 "close a silent Raft connection after this long (the same on every member)")
      ->check(CLI::Range(100, 3600000))->capture_default_str();
  kv::HttpTlsOptions http_tls;
  auto* https_cert = app.add_option("--http-tls-cert", http_tls.cert_file,
                                    "serve HTTPS with this certificate (PEM, with intermediates)")
                         ->check(CLI::ExistingFile);
  auto* https_key = app.add_option("--http-tls-key", http_tls.key_file, "the HTTPS certificate's key (PEM)")
                        ->check(CLI::ExistingFile);
  auto* https_client_ca = app.add_option("--http-client-ca", http_tls.client_ca_file,
                                         "accept HTTPS client certificates from this CA (PEM); a certificate's "
                                         "subject O (read, write or admin) is its role (scripts/make-certs.sh --client)")
                              ->check(CLI::ExistingFile);
  https_cert->needs(https_key);
  https_key->needs(https_cert);
  https_client_ca->needs(https_cert);
  std::string auth_tokens;
  app.add_option("--auth-tokens", auth_tokens,
                 "bearer tokens with roles (read, write, admin) for the HTTP API, one 'ROLE TOKEN [NAME]' a line, "
                 "read again when it changes; unset: no authentication")
      ->check(CLI::ExistingFile);
  TlsOptions peer_tls;
  bool insecure_transport = false;
  auto* tls_ca = app.add_option("--peer-tls-ca", peer_tls.ca_file, "the cluster's CA certificate (PEM) for mutual TLS "
                                                                    "between peers (scripts/make-certs.sh)")
                     ->check(CLI::ExistingFile);
  auto* tls_cert = app.add_option("--peer-tls-cert", peer_tls.cert_file,
                                  "this peer's certificate (PEM), naming --name in its subjectAltName")
                       ->check(CLI::ExistingFile);
  auto* tls_key = app.add_option("--peer-tls-key", peer_tls.key_file, "its private key (PEM)")->check(CLI::ExistingFile);
  tls_ca->needs(tls_cert)->needs(tls_key);
  tls_cert->needs(tls_ca)->needs(tls_key);
  tls_key->needs(tls_ca)->needs(tls_cert);
  app.add_flag("--insecure-transport", insecure_transport,
               "plaintext between peers: anyone who reaches the Raft port can act as a member (loopback tests only)")
      ->excludes(tls_ca)->excludes(tls_cert)->excludes(tls_key);
  app.add_option("--unsafe-local-reads", unsafe_local_reads, "FOR TESTS: reads without ReadIndex (a deliberate bug)")
      ->check(CLI::IsMember({"yes", "no"}));
  app.add_option("--unsafe-no-sync", unsafe_no_sync, "FOR TESTS: acknowledge log writes before fsync (a deliberate bug)")
      ->check(CLI::IsMember({"yes", "no"}));
  app.add_option("--timer-clock-file", timer_clock_file, "FOR TESTS: drive Raft's timers from this file's clock");

  std::vector<kv::KvMember> members;
  try {
    app.parse(argc, argv);
    const bool joining = !join.empty();
    if (!joining && members_spec.empty()) throw CLI::RequiredError("--members or --join");
    if (data.empty() && engine != "memory") throw CLI::RequiredError("--data (or --engine memory)");
    if (joining) {
      if (raft_address.empty()) throw CLI::RequiredError("--raft (with --join)");
      if (http_address.empty()) throw CLI::RequiredError("--http (with --join)");
      host_port("--join", join);
      std::tie(o.host, o.port) = host_port("--raft", raft_address);
      host_port("--http", http_address);
    } else {
      if (!raft_address.empty() || !http_address.empty()) {
        throw CLI::ValidationError("--raft/--http", "go with --join; with --members the addresses come from there");
      }
      members = parse_members(members_spec);
      const kv::KvMember* me = nullptr;
      for (const kv::KvMember& m : members) {
        if (m.raft.name == name) me = &m;
      }
      if (me == nullptr) throw CLI::ValidationError("--name", "'" + name + "' is not among --members");
      o.host = me->raft.host;
      o.port = me->raft.port;
      http_address = me->http;
    }
    if (unsafe_no_sync == "yes" && engine != "rocksdb") {
      throw CLI::ValidationError("--unsafe-no-sync", "exists for --engine rocksdb only");
    }
    if (peer_tls.ca_file.empty() && !insecure_transport) {
      throw CLI::RequiredError("--peer-tls-ca/--peer-tls-cert/--peer-tls-key (or --insecure-transport)");
    }
    check_can_listen(joining ? "--raft" : "--members", o.host, o.port);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the error naming the flag
    return code == 0 ? 0 : 2;
  }

  if (insecure_transport) {
    std::fprintf(stderr, "kv_server: WARNING: --insecure-transport: the Raft port is plaintext and unauthenticated; "
                         "anyone who can reach it can act as a member of the cluster\n");
  } else {
    o.peer_tls = peer_tls;
  }
  if (!auth_tokens.empty()) {
    auto tokens = kv::TokenFile::open(auth_tokens, [](const std::string& line) {
      std::fprintf(stderr, "kv_server: %s\n", line.c_str());
    });
    if (!tokens.is_ok()) {
      std::fprintf(stderr, "kv_server: --auth-tokens: %s\n", tokens.status().message().c_str());
      return 2;
    }
    api_options.tokens = std::move(tokens).value();
  }
  api_options.client_certificates = !http_tls.client_ca_file.empty();
  if (!api_options.tokens && !api_options.client_certificates) {
    std::fprintf(stderr, "kv_server: the HTTP API authenticates no one (no --auth-tokens or --http-client-ca)\n");
  }
  api_options.redirect_307 = follower_redirect == "307";
  o.peer_handshake_timeout = std::chrono::milliseconds(peer_handshake_ms);
  o.peer_idle_timeout = std::chrono::milliseconds(peer_idle_ms);
  if (!http_tls.cert_file.empty()) {
    web.tls = http_tls;
    api_options.scheme = "https";
  } else if (api_options.tokens) {
    std::fprintf(stderr, "kv_server: bearer tokens over plain HTTP can be read on the way (see --http-tls-cert)\n");
  }
  web.host = host_port("--http", http_address).first;
  web.port = host_port("--http", http_address).second;
  web.max_connections = connections_within_descriptor_limit(web.max_connections);
  web.idle_timeout = std::chrono::milliseconds(idle_ms);
  web.read_timeout = std::chrono::milliseconds(read_ms);
  web.handler_timeout = std::chrono::milliseconds(request_ms);
  web.handler_timeout_for = [request_ms](const kv::HttpRequest& req) {
    return kv::KvHttpApi::is_admin(req) ? std::chrono::milliseconds(std::max(request_ms, 35000))
                                        : std::chrono::milliseconds(request_ms);
  };
  // The HTTP port is taken first, so a port in use fails before the log is created; until the peer is up,
  // requests are answered 503.
  std::atomic<kv::KvHttpApi*> api{nullptr};
  auto server = kv::HttpServer::start(web, [&api](kv::HttpRequest&& req, const kv::HttpCaller& caller,
                                                  kv::HttpRespond respond) {
    if (kv::KvHttpApi* a = api.load()) return a->handle(std::move(req), caller, std::move(respond));
    kv::HttpResponse res{boost::beast::http::status::service_unavailable, req.version()};
    res.set(boost::beast::http::field::retry_after, "1");
    res.body() = "{\"error\":\"starting\"}\n";
    respond(std::move(res));
  });
  if (!server.is_ok()) {
    std::fprintf(stderr, "kv_server: --http: %s\n", server.status().message().c_str());
    return 2;
  }

  o.name = name;
  o.log_level = *parse_log_level(log_level);
  o.cluster = cluster;
  o.data_dir = data;
  // The command line accepts only the engines' names.
  o.open_log = engine_log_factory(*engine_by_name(engine), unsafe_no_sync == "yes");
  o.lease_reads = read_mode == "lease";
  o.unsafe_local_reads = unsafe_local_reads == "yes";
  for (const kv::KvMember& m : members) {
    o.members.push_back(m.raft);
    o.member_info[m.raft.name] = m.http;
  }
  if (!join.empty()) {
    o.join = join;
    o.info = http_address;
  }
  std::shared_ptr<FaultClock> fault_clock;
  if (!timer_clock_file.empty()) {
    fault_clock = std::make_shared<FaultClock>(timer_clock_file);
    o.timer_clock = [fault_clock] { return fault_clock->now(); };
  }
  auto peer = Peer::start(o, std::make_unique<kv::KvMachine>());
  if (!peer.is_ok()) {
    std::fprintf(stderr, "kv_server %s: %s\n", name.c_str(), peer.status().to_string().c_str());
    return 1;
  }
  auto handler = std::make_unique<kv::KvHttpApi>(*peer.value(), name, members, api_options);
  kv::HttpServer* http = server.value().get();
  handler->metric_labels = {{"engine", engine}, {"peer", name}};
  // The HTTP server's refusal counters, each once: its name in /status, its reason label in /metrics.
  struct Refusal {
    const char* status_name;
    const char* reason;
    std::uint64_t kv::HttpServerStats::*count;
  };
  static constexpr Refusal kRefusals[] = {
      {"refused_connections", "over_connection_limit", &kv::HttpServerStats::refused_connections},
      {"idle_closed", "idle", &kv::HttpServerStats::idle_closed},
      {"timed_out_reads", "read_timeout", &kv::HttpServerStats::timed_out_reads},
      {"oversized", "oversized", &kv::HttpServerStats::oversized},
      {"malformed", "malformed", &kv::HttpServerStats::malformed},
      {"handler_timeouts", "handler_timeout", &kv::HttpServerStats::handler_timeouts},
      {"handler_errors", "handler_error", &kv::HttpServerStats::handler_errors},
      {"tls_handshake_failures", "tls_handshake", &kv::HttpServerStats::tls_handshake_failures},
      {"stale_certificates", "stale_certificate", &kv::HttpServerStats::stale_certificates}};
  handler->metrics_extra = [http](PrometheusWriter& out) {
    const kv::HttpServerStats s = http->stats();
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    out.gauge("kv_http_connections_open", "HTTP connections open", n(s.connections_open));
    out.counter("kv_http_connections_accepted_total", "HTTP connections accepted", n(s.connections_accepted));
    out.counter("kv_http_requests_total", "HTTP requests received whole", n(s.requests));
    out.family("kv_http_refusals_total", "counter", "HTTP connections and requests refused or closed, by reason");
    for (const Refusal& r : kRefusals) out.sample("kv_http_refusals_total", n(s.*r.count), {{"reason", r.reason}});
  };
  handler->status_extra = [http](std::string& out) {
    const kv::HttpServerStats s = http->stats();
    out = "\"http_server\":{\"connections_open\":" + std::to_string(s.connections_open) +
          ",\"connections_accepted\":" + std::to_string(s.connections_accepted) +
          ",\"requests\":" + std::to_string(s.requests);
    for (const Refusal& r : kRefusals) out += ",\"" + std::string(r.status_name) + "\":" + std::to_string(s.*r.count);
    out += "}";
  };
  api = handler.get();

  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGPIPE, SIG_IGN);
  std::fprintf(stderr, "kv_server %s: raft peer up, HTTP on %s (%s log in %s)\n", name.c_str(), http_address.c_str(),
               engine.c_str(), data.c_str());
  int code = 0;
  std::optional<std::chrono::steady_clock::time_point> exit_at;
  while (!g_stop) {
    std::this_thread::sleep_for(50ms);
    if (!exit_at) {
      const PeerStatus st = peer.value()->status();
      if (!st.stopped) continue;
      std::fprintf(stderr, "kv_server %s: the peer stopped (%s); exiting with status 3 in %d ms\n", name.c_str(),
                   st.stop_reason.c_str(), exit_grace_ms);
      exit_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(exit_grace_ms);
    }
    if (std::chrono::steady_clock::now() >= *exit_at) {
      code = 3;
      break;
    }
  }
  if (code == 0 && peer.value()->is_leader()) {
    // Asked to stop while leading: hand leadership over first, still serving (clients are redirected to the new
    // leader), so a planned restart costs the cluster one round trip instead of an election timeout (etcd does the
    // same on a graceful stop).
    std::future<raftkit::Result<std::string>> moved = peer.value()->transfer_leadership();
    if (moved.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      std::fprintf(stderr, "kv_server %s: leadership not handed over within 5 s; stopping anyway\n", name.c_str());
    } else if (moved.get().is_ok()) {  // the peer logs the outcome
      // Clients refused during the handover were told to retry in a second (Retry-After: 1): still here then, this
      // server sends them on to the new leader instead of refusing their connections.
      std::this_thread::sleep_for(2s);
    }
  }
  // Answers still owed go out before the connections close: stop taking connections, stop the peer (it answers
  // every pending request), stop the I/O threads, then end the administrative waits.
  server.value()->stop_accepting();
  peer.value()->stop();
  server.value()->stop();  // no handler runs after this
  api = nullptr;
  handler.reset();
  std::fprintf(stderr, "kv_server %s: stopped\n", name.c_str());
  return code;
}
