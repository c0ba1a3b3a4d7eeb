#include "examples/kv/kv_http_api.h"

#include <algorithm>
#include <cctype>
#include <future>
#include <nlohmann/json.hpp>

#include "examples/kv/cluster_page.h"
#include "examples/kv/kv_commands.h"

namespace raftkit::examples::kv {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;

// JSON text of a value; anything that is not UTF-8 (only possible in data written by another version) is shown
// replaced rather than thrown on.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse reply(const Origin& o, http::status status, std::string body) {
  HttpResponse res{status, o.version};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  res.body() += '\n';
  return res;
}

HttpResponse reply(const Origin& o, http::status status, const json& body) {
  return reply(o, status, dump(body));
}

HttpResponse error(const Origin& o, http::status status, const std::string& message) {
  return reply(o, status, json{{"error", message}});
}

HttpResponse not_allowed(const Origin& o, const char* allow) {
  HttpResponse res = error(o, http::status::method_not_allowed, "method not allowed");
  res.set(http::field::allow, allow);
  return res;
}

bool is_monitoring(std::string_view path) {
  return path == "/status" || path == "/health" || path == "/metrics" || path == "/members" || path == "/leader";
}

// A browser's question before a cross-origin GET with a token: allowed for a member's page only.
HttpResponse cors_preflight(const Origin& o, const std::string& page) {
  HttpResponse res{http::status::no_content, o.version};
  res.set(http::field::vary, "Origin");
  if (page.empty()) return res;
  res.set(http::field::access_control_allow_origin, page);
  res.set(http::field::access_control_allow_methods, "GET");
  res.set(http::field::access_control_allow_headers, "Authorization");
  res.set(http::field::access_control_max_age, "600");
  return res;
}

// Static and self-contained: its one script runs (by its hash), it may fetch from members, and nothing else.
HttpResponse cluster_page(const Origin& o) {
  HttpResponse res{http::status::ok, o.version};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", std::string(cluster_page_csp()));
  res.body() = std::string(cluster_page_html());
  return res;
}

HttpResponse retry_later(HttpResponse res) {
  res.set(http::field::retry_after, "1");
  return res;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "host:port" with a port in 1..65535.
std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || s.size() - colon > 6) return std::nullopt;
  unsigned port = 0;
  for (std::size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(s[i] - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return std::make_pair(s.substr(0, colon), static_cast<std::uint16_t>(port));
}

// A JSON body that must be an object; nullopt if it is not.
std::optional<json> object_body(const HttpRequest& req) {
  json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::optional<std::string> decode_key(std::string_view encoded, std::size_t max_bytes, std::string& error) {
  std::string key;
  key.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      key.push_back(encoded[i]);
      continue;
    }
    const int hi = i + 2 < encoded.size() ? hex_digit(encoded[i + 1]) : -1;
    const int lo = i + 2 < encoded.size() ? hex_digit(encoded[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      error = "bad percent-encoding in key";
      return std::nullopt;
    }
    key.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (key.empty()) {
    error = "missing key";
    return std::nullopt;
  }
  if (key.size() > max_bytes) {
    error = "key longer than " + std::to_string(max_bytes) + " bytes";
    return std::nullopt;
  }
  if (!is_valid_utf8(key)) {
    error = "key is not UTF-8";
    return std::nullopt;
  }
  return key;
}

KvHttpApi::KvHttpApi(Peer& peer, std::string name, std::vector<KvMember> members, KvHttpApiOptions options)
    : peer_(peer), name_(std::move(name)), members_(std::move(members)), options_(options),
      admin_thread_([this] { admin_loop(); }) {}

KvHttpApi::~KvHttpApi() {
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    admin_stopping_ = true;
  }
  admin_cv_.notify_all();
  admin_thread_.join();
}

bool KvHttpApi::is_admin(const HttpRequest& req) {
  std::string_view t(req.target().data(), req.target().size());
  t = t.substr(0, t.find('?'));
  return t.rfind("/members", 0) == 0 || t == "/leave" || (t == "/leader" && req.method() == http::verb::post);
}

void KvHttpApi::handle(HttpRequest&& req, const HttpCaller& caller, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const auto get = req.method() == http::verb::get;
  if (is_monitoring(path)) {
    // The cluster page, served by one member, asks every member directly: pages of members may read these
    // read-only answers (a browser still needs a token to read them when tokens are required); no other site may.
    const std::string page = member_page_origin(req);
    if (req.method() == http::verb::options) return respond(cors_preflight(o, page));
    if (get) {
      respond = [respond = std::move(respond), page](HttpResponse res) {
        if (!page.empty()) res.set(http::field::access_control_allow_origin, page);
        res.set(http::field::vary, "Origin");
        respond(std::move(res));
      };
    }
  }
  if (path == "/" || path == "/index.html") return get ? respond(cluster_page(o)) : respond(not_allowed(o, "GET"));
  if (std::optional<HttpResponse> refused = refuse_unauthorized(req, caller, path)) return respond(std::move(*refused));
  if (path.rfind("/kv/", 0) == 0 || path.rfind("/cas/", 0) == 0) return handle_kv(req, path, std::move(respond));
  if (path == "/status") return get ? status(req, std::move(respond)) : respond(not_allowed(o, "GET"));
  if (path == "/health") return get ? health(req, std::move(respond)) : respond(not_allowed(o, "GET"));
  if (path == "/metrics") return get ? metrics(req, std::move(respond)) : respond(not_allowed(o, "GET"));
  if (path == "/state") return get ? state(req, std::move(respond)) : respond(not_allowed(o, "GET"));
  if (path == "/leader") return handle_leader(req, std::move(respond));
  if (path == "/members" || path.rfind("/members/", 0) == 0 || path == "/leave") {
    return handle_members(req, std::move(respond));
  }
  respond(error(o, http::status::not_found, "no such endpoint"));
}

std::optional<HttpResponse> KvHttpApi::refuse_unauthorized(const HttpRequest& req, const HttpCaller& caller,
                                                           std::string_view path) const {
  if (!options_.tokens && !options_.client_certificates) return std::nullopt;
  const std::string_view method(req.method_string().data(), req.method_string().size());
  const std::optional<Role> needed = role_needed(method, path);
  if (!needed) return std::nullopt;
  const Origin o{req.version(), std::string(req.target())};
  auto forbidden = [&](const std::string& whose, Role role) {
    return error(o, http::status::forbidden,
                 whose + " role is " + role_name(role) + "; " + std::string(method) + " " + std::string(path) +
                     " needs " + role_name(*needed));
  };
  if (caller.certified && options_.client_certificates) {
    const std::optional<Role> role = certificate_role(caller.organizations);
    if (!role) {
      return error(o, http::status::forbidden,
                   "the client certificate of '" + caller.common_name +
                       "' names no role (its subject's O must be read, write or admin)");
    }
    if (*role < *needed) return forbidden("this certificate's", *role);
    return std::nullopt;
  }
  const auto header = req[http::field::authorization];
  const std::string_view credentials(header.data(), header.size());
  constexpr std::string_view kBearer = "bearer ";  // the scheme's name is case-insensitive (RFC 9110, 11.1)
  const std::string_view scheme = credentials.substr(0, kBearer.size());
  auto unauthorized = [&](const std::string& why, const char* challenge) {
    HttpResponse res = error(o, http::status::unauthorized, why);
    if (options_.tokens) res.set(http::field::www_authenticate, challenge);
    return res;
  };
  if (scheme.size() != kBearer.size() ||
      !std::equal(scheme.begin(), scheme.end(), kBearer.begin(),
                  [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
    std::string how = options_.client_certificates ? "a client certificate" : "";
    if (options_.tokens) how += std::string(how.empty() ? "" : " or ") + "Authorization: Bearer TOKEN";
    return unauthorized("authentication required: " + how, "Bearer realm=\"kv\"");
  }
  const std::optional<TokenHolder> holder =
      options_.tokens ? options_.tokens->find(credentials.substr(kBearer.size())) : std::nullopt;
  if (!holder) return unauthorized("unknown token", "Bearer realm=\"kv\", error=\"invalid_token\"");
  if (holder->role < *needed) return forbidden("this token's", holder->role);
  return std::nullopt;
}

void KvHttpApi::handle_kv(const HttpRequest& req, std::string_view path, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  const bool kv = path.rfind("/kv/", 0) == 0;
  std::string why;
  std::optional<std::string> key = decode_key(path.substr(kv ? 4 : 5), options_.max_key_bytes, why);
  if (!key) return respond(error(o, http::status::bad_request, why));
  if (kv && req.method() == http::verb::get) {
    Query q{Query::Kind::kGet, *key};
    return peer_.read(encode(q), [this, o, key = *key, respond](raftkit::Result<std::string> r) {
      if (!r.is_ok()) return respond(failure(o, r.status()));
      std::optional<Outcome> res = decode_outcome(r.value());
      if (!res || res->kind != Outcome::Kind::kGet) {
        return respond(error(o, http::status::internal_server_error, "unexpected answer from the state machine"));
      }
      if (!res->value) return respond(reply(o, http::status::not_found, json{{"error", "key_not_found"}, {"key", key}}));
      respond(reply(o, http::status::ok, json{{"key", key}, {"value", *res->value}}));
    });
  }
  Command c;
  c.key = *key;
  if (kv && req.method() == http::verb::put) {
    std::optional<json> body = object_body(req);
    if (!body || !body->contains("value") || !(*body)["value"].is_string()) {
      return respond(error(o, http::status::bad_request, "expected {\"value\": string}"));
    }
    c.op = Command::Op::kSet;
    c.value = (*body)["value"].get<std::string>();
  } else if (kv && req.method() == http::verb::delete_) {
    c.op = Command::Op::kDelete;
  } else if (!kv && req.method() == http::verb::post) {
    std::optional<json> body = object_body(req);
    if (!body || !body->contains("value") || !(*body)["value"].is_string() || !body->contains("expected") ||
        !((*body)["expected"].is_string() || (*body)["expected"].is_null())) {
      return respond(error(o, http::status::bad_request, "expected {\"expected\": string|null, \"value\": string}"));
    }
    c.op = Command::Op::kCas;
    c.value = (*body)["value"].get<std::string>();
    if ((*body)["expected"].is_string()) c.expected = (*body)["expected"].get<std::string>();
  } else {
    return respond(not_allowed(o, kv ? "GET, PUT, DELETE" : "POST"));
  }
  peer_.write(encode(c), [this, o, respond](raftkit::Result<std::string> r) {
    if (!r.is_ok()) return respond(failure(o, r.status()));
    std::optional<Outcome> res = decode_outcome(r.value());
    if (!res || res->kind == Outcome::Kind::kError) {
      const std::string message = res ? res->error : "unexpected answer from the state machine";
      return respond(error(o, http::status::internal_server_error, message));
    }
    switch (res->kind) {
      case Outcome::Kind::kSet: return respond(reply(o, http::status::ok, std::string(R"({"ok":true})")));
      case Outcome::Kind::kDelete: return respond(reply(o, http::status::ok, json{{"ok", true}, {"existed", res->flag}}));
      default: {
        json now = res->value ? json(*res->value) : json(nullptr);
        return respond(reply(o, http::status::ok, json{{"ok", res->flag}, {"value", now}}));
      }
    }
  });
}

HttpResponse KvHttpApi::failure(const Origin& o, const Status& s) const {
  if (s.code() == ErrorCode::kNotLeader) {
    const std::optional<std::string> leader = peer_.leader();
    const std::string address = leader ? http_of(*leader) : "";
    if (!leader || address.empty()) {
      return retry_later(reply(o, http::status::service_unavailable, json{{"error", "no_leader"}, {"leader", nullptr}}));
    }
    const http::status redirect = options_.redirect_307 ? http::status::temporary_redirect : http::status::misdirected_request;
    HttpResponse res = reply(o, redirect, json{{"error", "not_leader"}, {"leader", *leader}, {"http", address}});
    res.set(http::field::location, options_.scheme + "://" + address + o.target);
    return res;
  }
  if (s.code() == ErrorCode::kInvalidArgument) return error(o, http::status::bad_request, s.message());
  const PeerStatus st = peer_.status();
  if (st.stopped) {
    return retry_later(reply(o, http::status::service_unavailable, json{{"error", "stopped"}, {"reason", st.stop_reason}}));
  }
  if (s.message().rfind("overloaded", 0) == 0) {
    return retry_later(error(o, http::status::too_many_requests, s.message()));
  }
  return retry_later(error(o, http::status::service_unavailable, s.to_string()));
}

void KvHttpApi::status(const HttpRequest& req, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  const PeerStatus st = peer_.status();
  json j = {{"leader", nullptr}, {"http", nullptr}};
  if (auto l = peer_.leader()) j = {{"leader", *l}, {"http", http_of(*l)}};
  j["name"] = name_;
  j["term"] = st.term;
  j["commit"] = st.commit;
  j["applied"] = st.applied;
  j["snapshot_index"] = st.snapshot_index;
  j["log_first_index"] = st.log_first_index;
  j["snapshots_installed"] = st.snapshots_installed;
  j["member"] = st.member;
  j["stopped"] = st.stopped;
  if (st.stopped) j["stop_reason"] = st.stop_reason;
  const TransportStats& t = st.transport;
  j["peer_transport"] = {{"connections_open", t.connections_open},
                         {"connections_refused", t.connections_refused},
                         {"connections_over_limit", t.connections_over_limit},
                         {"handshake_timeouts", t.handshake_timeouts},
                         {"idle_timeouts", t.idle_timeouts},
                         {"connections_replaced", t.connections_replaced},
                         {"joins_refused_busy", t.joins_refused_busy},
                         {"malformed_frames", t.malformed_frames},
                         {"messages_sent", t.messages_sent},
                         {"messages_received", t.messages_received},
                         {"dropped_queue_full", t.dropped_queue_full},
                         {"dropped_raft_queue_full", st.inbound_dropped},
                         {"refusals_received", t.refusals_received},
                         {"reconnects", t.reconnects},
                         {"tls_handshake_failures", t.tls_handshake_failures},
                         {"identity_mismatches", t.identity_mismatches}};
  std::string body = dump(j);
  if (status_extra) {
    std::string extra;
    status_extra(extra);
    if (!extra.empty()) body.insert(body.size() - 1, "," + extra);
  }
  respond(reply(o, http::status::ok, std::move(body)));
}

void KvHttpApi::health(const HttpRequest& req, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  const PeerStatus st = peer_.status();
  std::string problem;
  if (st.stopped) problem = "stopped: " + st.stop_reason;
  else if (!st.member) problem = "not a member of the cluster";
  else if (!peer_.leader()) problem = "no leader known";
  if (problem.empty()) return respond(reply(o, http::status::ok, json{{"healthy", true}, {"name", name_}}));
  respond(retry_later(reply(o, http::status::service_unavailable,
                            json{{"healthy", false}, {"name", name_}, {"reason", problem}})));
}

void KvHttpApi::state(const HttpRequest& req, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  if (state_busy_.exchange(true)) {
    return respond(retry_later(error(o, http::status::too_many_requests, "another GET /state is under way")));
  }
  Query q{Query::Kind::kAll, ""};
  peer_.read_local(encode(q), [this, o, respond](raftkit::Result<std::string> r) {
    state_busy_ = false;
    if (!r.is_ok()) return respond(failure(o, r.status()));
    json j = json::parse(r.value(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return respond(error(o, http::status::internal_server_error, "unexpected answer from the state machine"));
    }
    j["name"] = name_;
    j["applied"] = peer_.status().applied;
    respond(reply(o, http::status::ok, j));
  });
}

void KvHttpApi::metrics(const HttpRequest& req, HttpRespond respond) {
  PrometheusWriter extra(metric_labels);
  if (metrics_extra) metrics_extra(extra);
  HttpResponse res{http::status::ok, req.version()};
  res.set(http::field::content_type, kPrometheusContentType);
  res.body() = prometheus_text(peer_.metrics(), metric_labels) + extra.text();
  respond(std::move(res));
}

void KvHttpApi::handle_members(const HttpRequest& req, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  auto change = [this, o, respond](AdminStart start, json ok) {
    run_admin(o, respond, std::move(start), [ok](const std::string& configuration) {
      json body = ok;
      if (!configuration.empty()) body["configuration"] = configuration;
      return body;
    });
  };
  if (path == "/leave") {
    if (req.method() != http::verb::post) return respond(not_allowed(o, "POST"));
    return change([this] { return peer_.leave(); }, json{{"ok", true}, {"left", name_}});
  }
  if (path == "/members") {
    if (req.method() == http::verb::get) {
      json list = json::array();
      for (const MemberInfo& m : peer_.members()) {
        list.push_back({{"name", m.address.name},
                        {"id", m.address.id},
                        {"raft", m.address.host + ":" + std::to_string(m.address.port)},
                        {"http", m.info},
                        {"role", m.voter ? "voter" : "learner"}});
      }
      return respond(reply(o, http::status::ok, list));
    }
    if (req.method() != http::verb::post) return respond(not_allowed(o, "GET, POST"));
    std::optional<json> body = object_body(req);
    const char* expected = "expected {\"name\": string, \"raft\": \"host:port\", \"http\": \"host:port\"}";
    if (!body || !body->contains("name") || !(*body)["name"].is_string() || !body->contains("raft") ||
        !(*body)["raft"].is_string() || (body->contains("http") && !(*body)["http"].is_string())) {
      return respond(error(o, http::status::bad_request, expected));
    }
    const std::string name = (*body)["name"].get<std::string>();
    const std::string http_address = body->value("http", std::string());
    const auto raft = parse_host_port((*body)["raft"].get<std::string>());
    if (name.empty() || name.size() > 255 || !raft || (!http_address.empty() && !parse_host_port(http_address))) {
      return respond(error(o, http::status::bad_request, expected));
    }
    PeerAddress address{0, name, raft->first, raft->second};
    return change([this, address, http_address] { return peer_.add_peer(address, http_address); }, json{{"ok", true}});
  }
  // /members/NAME
  if (req.method() != http::verb::delete_) return respond(not_allowed(o, "DELETE"));
  std::string why;
  std::optional<std::string> name = decode_key(path.substr(9), 255, why);
  if (!name) return respond(error(o, http::status::bad_request, why));
  change([this, name = *name] { return peer_.remove_peer(name); }, json{{"ok", true}});
}

void KvHttpApi::handle_leader(const HttpRequest& req, HttpRespond respond) {
  const Origin o{req.version(), std::string(req.target())};
  if (req.method() == http::verb::get) {
    json j = {{"leader", nullptr}, {"http", nullptr}};
    if (auto l = peer_.leader()) j = {{"leader", *l}, {"http", http_of(*l)}};
    return respond(reply(o, http::status::ok, j));
  }
  if (req.method() != http::verb::post) return respond(not_allowed(o, "GET, POST"));
  // An empty body (or one without "name") hands leadership to the most up-to-date voter.
  std::string name;
  if (!req.body().empty()) {
    std::optional<json> body = object_body(req);
    if (!body || (body->contains("name") && !(*body)["name"].is_string())) {
      return respond(error(o, http::status::bad_request, "expected {\"name\": string} or no body"));
    }
    name = body->value("name", std::string());
    if (name.size() > 255) return respond(error(o, http::status::bad_request, "name longer than 255 bytes"));
  }
  run_admin(o, std::move(respond), [this, name] { return peer_.transfer_leadership(name); },
            [this](const std::string& leader) { return json{{"ok", true}, {"leader", leader}, {"http", http_of(leader)}}; });
}

void KvHttpApi::run_admin(const Origin& o, HttpRespond respond, AdminStart start, AdminAnswer ok) {
  const bool queued = admin([this, o, respond, start = std::move(start), ok = std::move(ok)] {
    std::future<raftkit::Result<std::string>> f = start();
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return respond(retry_later(error(o, http::status::service_unavailable, "timed out (outcome unknown)")));
    }
    raftkit::Result<std::string> r = f.get();
    if (!r.is_ok()) return respond(failure(o, r.status()));
    respond(reply(o, http::status::ok, ok(r.value())));
  });
  if (!queued) respond(retry_later(error(o, http::status::too_many_requests, "too many administrative requests")));
}

bool KvHttpApi::admin(std::function<void()> wait) {
  {
    std::lock_guard<std::mutex> lock(admin_mu_);
    if (admin_stopping_ || admin_queue_.size() >= options_.max_admin_queue) return false;
    admin_queue_.push_back(std::move(wait));
  }
  admin_cv_.notify_one();
  return true;
}

void KvHttpApi::admin_loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(admin_mu_);
      admin_cv_.wait(lock, [this] { return admin_stopping_ || !admin_queue_.empty(); });
      if (admin_queue_.empty()) return;
      work = std::move(admin_queue_.front());
      admin_queue_.pop_front();
    }
    try {
      work();
    } catch (...) {
    }
  }
}

std::vector<std::pair<std::string, std::string>> KvHttpApi::member_http_addresses() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const MemberInfo& m : peer_.members()) {
    if (!m.info.empty()) out.emplace_back(m.address.name, m.info);
  }
  for (const KvMember& m : members_) out.emplace_back(m.raft.name, m.http);
  return out;
}

std::string KvHttpApi::member_page_origin(const HttpRequest& req) const {
  const auto header = req[http::field::origin];
  const std::string_view origin(header.data(), header.size());
  std::string_view host;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.substr(0, scheme.size()) == scheme) host = origin.substr(scheme.size());
  }
  if (host.empty()) return "";
  for (const auto& [name, http] : member_http_addresses()) {
    if (http == host) return std::string(origin);
  }
  return "";
}

std::string KvHttpApi::http_of(const std::string& name) const {
  for (const auto& [member, http] : member_http_addresses()) {
    if (member == name) return http;
  }
  return "";
}

}  // namespace raftkit::examples::kv
