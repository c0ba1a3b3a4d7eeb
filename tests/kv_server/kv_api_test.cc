// The key-value server's pieces without sockets: the binary command codec (round trips, and every truncation or
// corruption refused rather than misread), key decoding, UTF-8 validation, and the HTTP API's answers for each
// route and refusal against a fake peer.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "examples/kv/kv_commands.h"
#include "examples/kv/kv_http_api.h"
#include "tests/kv_server/fake_peer.h"
#include "tests/support/prometheus_parser.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace raftkit;
using namespace raftkit::examples::kv;
namespace http = boost::beast::http;

TEST_CASE("kv commands: every kind round-trips; truncated, padded or unknown bytes are refused", "[kv]") {
  std::vector<Command> commands;
  commands.push_back(Command{Command::Op::kSet, "key", "value", std::nullopt});
  commands.push_back(Command{Command::Op::kSet, std::string("\0k", 2), std::string(70000, 'v'), std::nullopt});
  commands.push_back(Command{Command::Op::kDelete, "gone", "", std::nullopt});
  commands.push_back(Command{Command::Op::kCas, "c", "new", std::string("old")});
  commands.push_back(Command{Command::Op::kCas, "c", "new", std::nullopt});
  for (const Command& c : commands) {
    const std::string bytes = encode(c);
    std::optional<Command> back = decode_command(bytes);
    REQUIRE(back);
    CHECK(back->op == c.op);
    CHECK(back->key == c.key);
    CHECK(back->value == (c.op == Command::Op::kDelete ? "" : c.value));
    CHECK(back->expected == c.expected);
    for (std::size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 50) CHECK_FALSE(decode_command(bytes.substr(0, n)));
    CHECK_FALSE(decode_command(bytes + "x"));
  }
  CHECK_FALSE(decode_command("{\"op\":\"set\",\"key\":\"k\"}"));  // another version's JSON command
  CHECK_FALSE(decode_command(std::string("S\xff\xff\xff\xff", 5)));  // a length past the end
  CHECK_FALSE(decode_command(std::string("C\x01\0\0\0k\x02", 7)));    // a flag that is neither 0 nor 1
  Outcome cas;
  cas.kind = Outcome::Kind::kCas;
  cas.flag = true;
  cas.value = "now";
  std::optional<Outcome> back = decode_outcome(encode(cas));
  REQUIRE(back);
  CHECK((back->kind == Outcome::Kind::kCas && back->flag && back->value == "now"));
  CHECK_FALSE(decode_outcome(""));
  CHECK_FALSE(decode_query("G"));
  CHECK(decode_query(encode(Query{Query::Kind::kAll, ""}))->kind == Query::Kind::kAll);
}

TEST_CASE("kv machine: a command it cannot decode is answered as an error and changes nothing", "[kv]") {
  KvMachine m;
  CHECK(decode_outcome(m.handle_write(encode(Command{Command::Op::kSet, "a", "1", std::nullopt})))->kind ==
        Outcome::Kind::kSet);
  for (const std::string& junk : {std::string(), std::string("{\"op\":\"set\"}"), std::string("S\x05\0\0\0a", 6),
                                 std::string("\xff\xfe", 2)}) {
    std::optional<Outcome> r = decode_outcome(m.handle_write(junk));
    REQUIRE(r);
    CHECK(r->kind == Outcome::Kind::kError);
  }
  CHECK(decode_outcome(m.handle_read(encode(Query{Query::Kind::kGet, "a"})))->value == "1");
  CHECK(decode_outcome(m.handle_read("?"))->kind == Outcome::Kind::kError);
  // A value that is not UTF-8 (written by another version) is summarised, not thrown on.
  m.handle_write(encode(Command{Command::Op::kSet, "bad", "\xff", std::nullopt}));
  CHECK(nlohmann::json::parse(m.state_summary())["keys"] == 2);
}

TEST_CASE("kv keys: percent-decoded, non-empty, bounded and UTF-8", "[kv]") {
  std::string why;
  CHECK(decode_key("a%2Fb%20c", 100, why) == "a/b c");
  CHECK(decode_key("%e2%82%ac", 100, why) == "\xe2\x82\xac");
  for (const char* bad : {"", "%", "%4", "%G0", "%FF", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "a%E2%82"}) {
    INFO(bad);
    CHECK_FALSE(decode_key(bad, 100, why));
  }
  CHECK_FALSE(decode_key(std::string(101, 'k'), 100, why));
  CHECK(why.find("longer") != std::string::npos);
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xf0\x9f\x98"));
}

struct Answer {
  http::status status{};
  std::string location, retry_after, allow, www_authenticate;
  nlohmann::json body;
};

// Membership requests are answered from the API's administrative thread; everything else at once.
Answer call(KvHttpApi& api, http::verb method, const std::string& target, const std::string& body = "",
            const std::string& authorization = "", const HttpCaller& caller = {}) {
  HttpRequest req{method, target, 11};
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  req.body() = body;
  req.prepare_payload();
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Answer> answer;
  };
  auto shared = std::make_shared<Shared>();
  api.handle(std::move(req), caller, [shared](HttpResponse res) {
    Answer a;
    a.status = res.result();
    a.location = std::string(res[http::field::location]);
    a.retry_after = std::string(res[http::field::retry_after]);
    a.allow = std::string(res[http::field::allow]);
    a.www_authenticate = std::string(res[http::field::www_authenticate]);
    a.body = nlohmann::json::parse(res.body(), nullptr, false);
    std::lock_guard<std::mutex> lock(shared->mu);
    REQUIRE_FALSE(shared->answer.has_value());  // answered once
    shared->answer = std::move(a);
    shared->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(shared->mu);
  REQUIRE(shared->cv.wait_for(lock, std::chrono::seconds(5), [&] { return shared->answer.has_value(); }));
  return *shared->answer;
}

TEST_CASE("kv http api: routes, validation and the status of each refusal", "[kv]") {
  testing::FakePeer peer;
  KvHttpApi api(peer, "p1", {});
  CHECK(call(api, http::verb::put, "/kv/a", R"({"value":"1"})").status == http::status::ok);
  Answer got = call(api, http::verb::get, "/kv/a");
  CHECK(got.body == nlohmann::json({{"key", "a"}, {"value", "1"}}));
  CHECK(call(api, http::verb::get, "/kv/missing").status == http::status::not_found);
  CHECK(call(api, http::verb::delete_, "/kv/a").body["existed"] == true);
  CHECK(call(api, http::verb::post, "/cas/a", R"({"expected":null,"value":"2"})").body["ok"] == true);
  CHECK(call(api, http::verb::get, "/kv/%FF").status == http::status::bad_request);
  CHECK(call(api, http::verb::put, "/kv/a", R"({"value":5})").status == http::status::bad_request);
  CHECK(call(api, http::verb::put, "/kv/a", "[").status == http::status::bad_request);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":5})").status ==
        http::status::bad_request);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":"h:2"})").status == http::status::ok);
  Answer patch = call(api, http::verb::patch, "/kv/a");
  CHECK(patch.status == http::status::method_not_allowed);
  CHECK(patch.allow == "GET, PUT, DELETE");
  CHECK(call(api, http::verb::get, "/nowhere").status == http::status::not_found);
  CHECK(call(api, http::verb::get, "/health").status == http::status::ok);
  {
    api.metric_labels = {{"engine", "memory"}};
    api.metrics_extra = [](PrometheusWriter& out) { out.counter("kv_http_requests_total", "requests", 3); };
    HttpRequest req{http::verb::get, "/metrics", 11};
    std::string body, type;
    api.handle(std::move(req), [&](HttpResponse res) {
      body = res.body();
      type = std::string(res[http::field::content_type]);
    });
    CHECK(type == "text/plain; version=0.0.4; charset=utf-8");
    std::string why;
    const std::optional<testing::PrometheusText> page = testing::PrometheusText::parse(body, why);
    INFO(why << "\n" << body);
    REQUIRE(page);
    CHECK(page->value("raftkit_is_leader", {{"engine", "memory"}}) == 1);
    CHECK(page->value("kv_http_requests_total", {{"engine", "memory"}}) == 3);
    CHECK(call(api, http::verb::post, "/metrics").status == http::status::method_not_allowed);
  }
  Answer transfer = call(api, http::verb::post, "/leader", R"({"name":"p2"})");
  CHECK(transfer.status == http::status::ok);
  CHECK(transfer.body == nlohmann::json({{"ok", true}, {"leader", "p2"}, {"http", "127.0.0.1:8002"}}));
  CHECK(call(api, http::verb::post, "/leader").body["leader"] == "p2");  // no body: the most up-to-date voter
  CHECK(call(api, http::verb::post, "/leader", R"({"name":"nobody"})").status == http::status::bad_request);
  CHECK(call(api, http::verb::post, "/leader", R"({"name":7})").status == http::status::bad_request);
  CHECK(call(api, http::verb::post, "/leader", "[").status == http::status::bad_request);
  CHECK(call(api, http::verb::delete_, "/leader").allow == "GET, POST");

  peer.role = testing::FakePeer::Role::kFollower;
  Answer redirect = call(api, http::verb::get, "/kv/a?x=1");
  CHECK(redirect.status == http::status::misdirected_request);
  CHECK(redirect.location == "http://127.0.0.1:8002/kv/a?x=1");
  CHECK(redirect.body["leader"] == "p2");

  {
    KvHttpApiOptions with_307;
    with_307.redirect_307 = true;
    KvHttpApi redirecting(peer, "p1", {}, with_307);
    Answer moved = call(redirecting, http::verb::put, "/kv/a", R"({"value":"1"})");
    CHECK(moved.status == http::status::temporary_redirect);
    CHECK(moved.location == "http://127.0.0.1:8002/kv/a");
  }

  peer.role = testing::FakePeer::Role::kNoLeader;
  Answer none = call(api, http::verb::put, "/kv/a", R"({"value":"1"})");
  CHECK(none.status == http::status::service_unavailable);
  CHECK(none.retry_after == "1");
  CHECK(call(api, http::verb::get, "/health").status == http::status::service_unavailable);

  peer.role = testing::FakePeer::Role::kStopped;
  Answer stopped = call(api, http::verb::put, "/kv/a", R"({"value":"1"})");
  CHECK(stopped.status == http::status::service_unavailable);
  CHECK(stopped.body["error"] == "stopped");
  CHECK(stopped.body["reason"] == "disk failed");
  Answer status = call(api, http::verb::get, "/status");
  CHECK(status.body["stopped"] == true);
  CHECK(status.body["stop_reason"] == "disk failed");
  Answer health = call(api, http::verb::get, "/health");
  CHECK(health.status == http::status::service_unavailable);
  CHECK(health.body["reason"] == "stopped: disk failed");
}

TEST_CASE("kv http api: one GET /state at a time; another meanwhile is told to retry", "[kv]") {
  testing::FakePeer peer;
  KvHttpApi api(peer, "p1", {});
  CHECK(call(api, http::verb::put, "/kv/a", R"({"value":"1"})").status == http::status::ok);
  peer.hold_local_reads = true;  // the first summary waits behind a busy apply thread
  std::optional<http::status> first;
  std::string first_body;
  api.handle(HttpRequest{http::verb::get, "/state", 11}, [&](HttpResponse res) {
    first = res.result();
    first_body = res.body();
  });
  CHECK_FALSE(first);
  Answer second = call(api, http::verb::get, "/state");
  CHECK(second.status == http::status::too_many_requests);
  CHECK(second.retry_after == "1");
  peer.release_local_reads();
  REQUIRE(first);
  CHECK(*first == http::status::ok);
  CHECK(nlohmann::json::parse(first_body)["keys"] == 1);
  Answer third = call(api, http::verb::get, "/state");
  CHECK(third.status == http::status::ok);
  CHECK(third.body["data"] == nlohmann::json({{"a", "1"}}));
}

TEST_CASE("kv machine: the state summary lists its data only while it is small", "[kv]") {
  KvMachine m;
  for (int i = 0; i < 3; ++i) m.handle_write(encode(Command{Command::Op::kSet, "k" + std::to_string(i), "v", std::nullopt}));
  const nlohmann::json small = nlohmann::json::parse(m.state_summary());
  CHECK(small["data"].size() == 3);
  const std::string digest = small["digest"];
  // Two values of 600 KiB: two keys, but more than a mebibyte.
  KvMachine big;
  big.handle_write(encode(Command{Command::Op::kSet, "x", std::string(600 << 10, 'a'), std::nullopt}));
  big.handle_write(encode(Command{Command::Op::kSet, "y", std::string(600 << 10, 'b'), std::nullopt}));
  const nlohmann::json summary = nlohmann::json::parse(big.state_summary());
  CHECK(summary["keys"] == 2);
  CHECK_FALSE(summary.contains("data"));
  // The digest is of the sorted pairs, whatever order they were written in.
  KvMachine reversed;
  for (int i = 2; i >= 0; --i) {
    reversed.handle_write(encode(Command{Command::Op::kSet, "k" + std::to_string(i), "v", std::nullopt}));
  }
  CHECK(nlohmann::json::parse(reversed.state_summary())["digest"] == digest);
}

TEST_CASE("kv auth: token files are parsed strictly, without echoing a token", "[kv][auth]") {
  auto table = TokenTable::parse("# operators\nadmin 0123456789abcdef0123 alice\n\nread rrrrrrrrrrrrrrrrrrrr\n");
  REQUIRE(table.is_ok());
  CHECK(table.value().size() == 2);
  CHECK(table.value().find("0123456789abcdef0123")->role == Role::kAdmin);
  CHECK(table.value().find("0123456789abcdef0123")->name == "alice");
  CHECK_FALSE(table.value().find("0123456789abcdef012"));
  CHECK_FALSE(table.value().find(""));
  for (const char* bad : {"root 0123456789abcdef0123", "read short", "write", "read 0123456789abcdef0123 a b",
                          "read 0123456789abcdef0123\nwrite 0123456789abcdef0123", "read 0123456789abcdef\x01" "123"}) {
    auto r = TokenTable::parse(bad);
    INFO(bad);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("line") != std::string::npos);
    CHECK(r.status().message().find("0123456789abcdef") == std::string::npos);
  }
}

TEST_CASE("kv auth: 401 without a known token, 403 for a role that does not allow the request", "[kv][auth]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/tokens";
  std::ofstream(path) << "read  rrrrrrrrrrrrrrrrrrrr reader\nwrite wwwwwwwwwwwwwwwwwwww\nadmin aaaaaaaaaaaaaaaaaaaa ops\n";
  std::vector<std::string> log;
  auto tokens = TokenFile::open(path, [&](const std::string& line) { log.push_back(line); });
  REQUIRE(tokens.is_ok());
  testing::FakePeer peer;
  KvHttpApiOptions options;
  options.tokens = tokens.value();
  KvHttpApi api(peer, "p1", {}, options);
  const std::string reader = "Bearer rrrrrrrrrrrrrrrrrrrr", writer = "Bearer wwwwwwwwwwwwwwwwwwww",
                    admin = "Bearer aaaaaaaaaaaaaaaaaaaa";

  Answer anonymous = call(api, http::verb::get, "/kv/a");
  CHECK(anonymous.status == http::status::unauthorized);
  CHECK(anonymous.www_authenticate.find("Bearer") == 0);
  CHECK(call(api, http::verb::get, "/kv/a", "", "Bearer nosuchtokennosuchtoken").status == http::status::unauthorized);
  CHECK(call(api, http::verb::get, "/kv/a", "", "Basic cnJycnI=").status == http::status::unauthorized);
  CHECK(call(api, http::verb::get, "/health").status == http::status::ok);  // load balancers ask without a token

  CHECK(call(api, http::verb::get, "/kv/a", "", reader).status == http::status::not_found);
  CHECK(call(api, http::verb::get, "/kv/a", "", "bearer rrrrrrrrrrrrrrrrrrrr").status == http::status::not_found);
  Answer denied = call(api, http::verb::put, "/kv/a", R"({"value":"1"})", reader);
  CHECK(denied.status == http::status::forbidden);
  CHECK(denied.body["error"] == "this token's role is read; PUT /kv/a needs write");
  CHECK(call(api, http::verb::get, "/members", "", reader).status == http::status::ok);
  CHECK(call(api, http::verb::put, "/kv/a", R"({"value":"1"})", writer).status == http::status::ok);
  CHECK(call(api, http::verb::post, "/cas/a", R"({"expected":"1","value":"2"})", writer).status == http::status::ok);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":"h:2"})", writer).status ==
        http::status::forbidden);
  CHECK(call(api, http::verb::delete_, "/members/x", "", writer).status == http::status::forbidden);
  CHECK(call(api, http::verb::post, "/leave", "", writer).status == http::status::forbidden);
  CHECK(call(api, http::verb::post, "/leader", "", writer).status == http::status::forbidden);
  CHECK(call(api, http::verb::get, "/leader", "", reader).status == http::status::ok);
  CHECK(call(api, http::verb::post, "/leader", "", admin).status == http::status::ok);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":"h:2"})", admin).status ==
        http::status::ok);
  CHECK(call(api, http::verb::delete_, "/kv/a", "", admin).status == http::status::ok);

  // Revoking the reader's token and adding another takes effect without a restart.
  {
    std::ofstream(path + ".new") << "read  nnnnnnnnnnnnnnnnnnnn\nadmin aaaaaaaaaaaaaaaaaaaa ops\n";
  }
  std::filesystem::rename(path + ".new", path);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(call(api, http::verb::get, "/kv/a", "", reader).status == http::status::unauthorized);
  CHECK(call(api, http::verb::get, "/kv/a", "", "Bearer nnnnnnnnnnnnnnnnnnnn").status == http::status::not_found);
  // A file that no longer parses keeps the tokens in force, and says so once.
  {
    std::ofstream(path + ".new") << "superuser xxxxxxxxxxxxxxxxxxxxxxx\n";
  }
  std::filesystem::rename(path + ".new", path);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(call(api, http::verb::get, "/kv/a", "", "Bearer nnnnnnnnnnnnnnnnnnnn").status == http::status::not_found);
  CHECK(call(api, http::verb::get, "/kv/a", "", admin).status == http::status::not_found);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // checked again: still reported only once
  CHECK(call(api, http::verb::get, "/kv/a", "", admin).status == http::status::not_found);
  // A file left with no tokens (half written, say) is refused like a bad one: the tokens in force stay.
  {
    std::ofstream(path + ".new") << "# nothing yet\n";
  }
  std::filesystem::rename(path + ".new", path);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(call(api, http::verb::get, "/kv/a", "", admin).status == http::status::not_found);
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.find("cannot be used") != l.npos; }) ==
        2);
}

TEST_CASE("kv auth: a verified client certificate's organization is its role", "[kv][auth]") {
  CHECK(certificate_role({}) == std::nullopt);
  CHECK(certificate_role({"engineering", "Admin"}) == std::nullopt);  // role names are exact
  CHECK(certificate_role({"read"}) == Role::kRead);
  CHECK(certificate_role({"admin", "read"}) == Role::kAdmin);  // the highest named

  testing::FakePeer peer;
  KvHttpApiOptions options;
  options.client_certificates = true;
  KvHttpApi api(peer, "p1", {}, options);
  auto certified = [](std::vector<std::string> organizations) {
    return HttpCaller{true, "someone", std::move(organizations)};
  };
  Answer anonymous = call(api, http::verb::get, "/kv/a");
  CHECK(anonymous.status == http::status::unauthorized);
  CHECK(anonymous.body["error"] == "authentication required: a client certificate");
  CHECK(anonymous.www_authenticate.empty());  // no token would help
  CHECK(call(api, http::verb::get, "/kv/a", "", "Bearer rrrrrrrrrrrrrrrrrrrr").status == http::status::unauthorized);
  // Organizations the connection did not prove count for nothing.
  CHECK(call(api, http::verb::get, "/kv/a", "", "", HttpCaller{false, "x", {"admin"}}).status ==
        http::status::unauthorized);
  CHECK(call(api, http::verb::get, "/health").status == http::status::ok);

  CHECK(call(api, http::verb::get, "/kv/a", "", "", certified({"read"})).status == http::status::not_found);
  Answer denied = call(api, http::verb::put, "/kv/a", R"({"value":"1"})", "", certified({"read"}));
  CHECK(denied.status == http::status::forbidden);
  CHECK(denied.body["error"] == "this certificate's role is read; PUT /kv/a needs write");
  Answer no_role = call(api, http::verb::get, "/kv/a", "", "", certified({"engineering"}));
  CHECK(no_role.status == http::status::forbidden);
  CHECK(no_role.body["error"].get<std::string>().find("'someone' names no role") != std::string::npos);
  CHECK(call(api, http::verb::put, "/kv/a", R"({"value":"1"})", "", certified({"write"})).status == http::status::ok);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":"h:2"})", "",
             certified({"write"})).status == http::status::forbidden);
  CHECK(call(api, http::verb::post, "/members", R"({"name":"x","raft":"h:1","http":"h:2"})", "",
             certified({"read", "admin"})).status == http::status::ok);
}

TEST_CASE("kv auth: with tokens only, a client certificate is not a credential", "[kv][auth]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/tokens";
  std::ofstream(path) << "read rrrrrrrrrrrrrrrrrrrr\n";
  auto tokens = TokenFile::open(path, nullptr);
  REQUIRE(tokens.is_ok());
  testing::FakePeer peer;
  KvHttpApiOptions options;
  options.tokens = tokens.value();
  KvHttpApi api(peer, "p1", {}, options);
  Answer a = call(api, http::verb::get, "/kv/a", "", "", HttpCaller{true, "someone", {"admin"}});
  CHECK(a.status == http::status::unauthorized);
  CHECK(a.body["error"] == "authentication required: Authorization: Bearer TOKEN");
  CHECK(call(api, http::verb::get, "/kv/a", "", "Bearer rrrrrrrrrrrrrrrrrrrr").status == http::status::not_found);
}

}  // namespace
