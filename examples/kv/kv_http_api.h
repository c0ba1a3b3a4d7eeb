// The key-value server's HTTP API (docs/http-api.md): routes each request to the peer and renders its answer as
// JSON. It validates everything it is given before the peer sees it — keys are percent-decoded and must be UTF-8
// of at most max_key_bytes; bodies must be JSON objects with string fields — and never waits: reads and writes
// use the peer's callback API; membership changes, which can take many seconds, are waited for on one
// administrative thread with a short queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "examples/kv/auth.h"
#include "examples/kv/http_server.h"
#include "runtime/peer.h"
#include "runtime/prometheus.h"

namespace raftkit::examples::kv {

struct KvMember {
  PeerAddress raft;
  std::string http;  // host:port
};

// What an answer needs of its request (kept instead of the request, whose body may be large).
struct Origin {
  unsigned version = 11;
  std::string target;
};

struct KvHttpApiOptions {
  std::size_t max_key_bytes = 4096;
  std::size_t max_admin_queue = 8;  // membership requests waiting; beyond it, 429
  // How a follower sends a client to the leader: 421 Misdirected Request (the default), or 307 Temporary Redirect,
  // which HTTP clients that follow redirects (curl -L) follow with the same method and body. Both carry Location.
  bool redirect_307 = false;
  std::string scheme = "http";  // of the Location given with those answers: "https" when every member serves HTTPS
  // Bearer tokens with roles (auth.h); null: no token is accepted.
  std::shared_ptr<TokenFile> tokens;
  // Callers may prove themselves with a client certificate whose organization names their role (auth.h,
  // certificate_role; the HTTP server verifies it). With neither this nor tokens, every request is served without
  // asking who sent it.
  bool client_certificates = false;
};

// Percent-decodes a key taken from a request path. Nullopt, with `error` set, for a bad escape, an empty key, a
// key over max_bytes, or one that is not UTF-8 (keys are returned inside JSON, which holds only UTF-8).
std::optional<std::string> decode_key(std::string_view encoded, std::size_t max_bytes, std::string& error);
bool is_valid_utf8(std::string_view s);

class KvHttpApi {
 public:
  KvHttpApi(Peer& peer, std::string name, std::vector<KvMember> members, KvHttpApiOptions options = {});
  ~KvHttpApi();  // joins the administrative thread: call the peer's stop() first so its waits end
  KvHttpApi(const KvHttpApi&) = delete;
  KvHttpApi& operator=(const KvHttpApi&) = delete;

  void handle(HttpRequest&& req, const HttpCaller& caller, HttpRespond respond);
  void handle(HttpRequest&& req, HttpRespond respond) { handle(std::move(req), HttpCaller{}, std::move(respond)); }
  // How long a request may take: membership changes and leadership transfers up to 35 s, everything else the
  // server's default.
  static bool is_admin(const HttpRequest& req);

  // Extra fields for /status (the HTTP server's counters, say).
  std::function<void(std::string& json_fields)> status_extra;
  // Extra families for /metrics, and labels for every sample there (engine="rocksdb", say).
  std::function<void(PrometheusWriter& out)> metrics_extra;
  MetricLabels metric_labels;

 private:
  // With authentication: the refusal (401 or 403) for a request its certificate or token does not allow, or nothing.
  std::optional<HttpResponse> refuse_unauthorized(const HttpRequest& req, const HttpCaller& caller,
                                                  std::string_view path) const;
  void handle_kv(const HttpRequest& req, std::string_view path, HttpRespond respond);
  void handle_members(const HttpRequest& req, HttpRespond respond);
  void handle_leader(const HttpRequest& req, HttpRespond respond);
  // Starts an administrative request and waits for it on the administrative thread (one at a time, and no I/O
  // thread ever holds or drops its future); a success is answered with the body `ok` makes of its result.
  using AdminStart = std::function<std::future<raftkit::Result<std::string>>()>;
  using AdminAnswer = std::function<nlohmann::json(const std::string& result)>;
  void run_admin(const Origin& o, HttpRespond respond, AdminStart start, AdminAnswer ok);
  void status(const HttpRequest& req, HttpRespond respond);
  void health(const HttpRequest& req, HttpRespond respond);
  void metrics(const HttpRequest& req, HttpRespond respond);
  void state(const HttpRequest& req, HttpRespond respond);
  // Answers a peer refusal: 421 (with Location) for another leader, 429 when overloaded, 503 otherwise.
  HttpResponse failure(const Origin& o, const Status& s) const;
  // Every member's HTTP address by Raft name: the replicated address book's (a member's info) first, then the
  // command line's --members.
  std::vector<std::pair<std::string, std::string>> member_http_addresses() const;
  std::string http_of(const std::string& name) const;
  // The request's Origin if it is a page served by a member (http:// or https:// and a member's HTTP address), to
  // be allowed to read this server's monitoring answers; empty otherwise.
  std::string member_page_origin(const HttpRequest& req) const;
  // Runs `wait` on the administrative thread; false if its queue is full.
  bool admin(std::function<void()> wait);
  void admin_loop();

  Peer& peer_;
  const std::string name_;
  const std::vector<KvMember> members_;
  const KvHttpApiOptions options_;
  std::mutex admin_mu_;
  std::condition_variable admin_cv_;
  std::deque<std::function<void()>> admin_queue_;
  bool admin_stopping_ = false;
  std::thread admin_thread_;
  // A GET /state under way: it walks the whole store on the apply thread, so one at a time (others: 429).
  std::atomic<bool> state_busy_{false};
};

}  // namespace raftkit::examples::kv
