// Mutual TLS on the peer port over real loopback sockets: members with certificates from the cluster's CA talk;
// a certificate from another CA, an expired one, none at all, or one naming someone else gets nowhere; join
// requests speak only for the name their certificate gives; certificates rotate without a restart.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <thread>

#include "tests/support/temp_dir.h"
#include "tests/transport/heartbeat.h"
#include "tests/transport/node.h"
#include "tests/transport/test_certs.h"
#include "transport/transport.h"
#include "transport/wire.h"

namespace {

using namespace raftkit;
using namespace std::chrono_literals;
using testing::CertAuthority;
using testing::eventually;
using testing::heartbeat;
using testing::KeyPair;
using testing::Node;
using testing::options_for;

// The files of one peer's TLS configuration, in a directory of the test's own.
struct TlsFiles {
  testing::TempDir dir;
  TlsOptions options;
  TlsFiles(const CertAuthority& ca, const KeyPair& pair) {
    options = {dir.path() + "/ca.pem", dir.path() + "/peer.pem", dir.path() + "/peer.key"};
    testing::write_file(options.ca_file, ca.cert_pem());
    write(pair);
  }
  void write(const KeyPair& pair) {
    testing::write_file(options.key_file, pair.key_pem);
    testing::write_file(options.cert_file, pair.cert_pem);
  }
};

TransportOptions tls_options(NodeId self, std::vector<PeerAddress> peers, const TlsFiles& files) {
  TransportOptions o = options_for(self, std::move(peers));
  o.tls = files.options;
  return o;
}

// b (node-2) listens with a certificate from `ca`; a (node-1) dials it with `a_files` (or in plaintext).
struct Listener {
  TlsFiles files;
  Node b;
  explicit Listener(CertAuthority& authority) : files(authority, authority.issue({"node-2"})) {
    b.start(tls_options(2, {{1, "node-1", "127.0.0.1", 1}}, files));
  }
  PeerAddress address() const { return {2, "node-2", "127.0.0.1", b.transport->port()}; }
};

// node-1 (with `dialler`) dials node-2 (listening with `listener`): the dialler gives up at the TLS handshake and
// node-2 hears nothing.
void dialling_is_refused(const TlsFiles& listener, const TlsFiles& dialler) {
  Node b;
  b.start(tls_options(2, {{1, "node-1", "127.0.0.1", 1}}, listener));
  Node a;
  a.start(tls_options(1, {{2, "node-2", "127.0.0.1", b.transport->port()}}, dialler));
  a.transport->send({heartbeat(1, 2, 1)});
  CHECK(eventually([&] { return a.transport->stats().tls_handshake_failures >= 1; }));
  std::this_thread::sleep_for(200ms);
  CHECK(b.received_count() == 0);
}

TEST_CASE("tls: members with certificates from the cluster's CA exchange messages both ways", "[transport][tls]") {
  CertAuthority ca("test cluster CA");
  TlsFiles fa(ca, ca.issue({"node-1"}));
  TlsFiles fb(ca, ca.issue({"node-2"}));
  Node a, b;
  a.start(tls_options(1, {}, fa));
  b.start(tls_options(2, {{1, "node-1", "127.0.0.1", a.transport->port()}}, fb));
  a.transport->set_peers({{2, "node-2", "127.0.0.1", b.transport->port()}});
  a.transport->send({heartbeat(1, 2, 1)});
  b.transport->send({heartbeat(2, 1, 1)});
  CHECK(b.wait_for(1, 5000ms));
  CHECK(a.wait_for(1, 5000ms));
  CHECK(a.transport->stats().tls_handshake_failures == 0);
  CHECK(b.transport->stats().tls_handshake_failures == 0);
  CHECK(b.transport->stats().identity_mismatches == 0);
}

TEST_CASE("tls: a certificate from another CA, an expired one, or none at all fails the TLS handshake",
          "[transport][tls]") {
  CertAuthority ca("test cluster CA");
  CertAuthority other("someone else's CA");
  // Each case against a listener of its own, so nothing counted comes from another case's connections.
  auto refused = [&](const char* what, std::optional<TlsOptions> tls) {
    INFO(what);
    Listener l(ca);
    Node a;
    TransportOptions o = options_for(1, {l.address()});
    o.tls = std::move(tls);
    a.start(o);
    a.transport->send({heartbeat(1, 2, 1)});
    CHECK(eventually([&] { return l.b.transport->stats().tls_handshake_failures >= 2; }));  // and again on retry
    CHECK(l.b.log_lines_containing("TLS handshake failed") == 1);  // once per source per minute
    a.transport->send({heartbeat(1, 2, 2)});
    std::this_thread::sleep_for(200ms);
    CHECK(l.b.received_count() == 0);
    a.transport->stop();  // nothing of its attempts is held once it stops trying
    CHECK(eventually([&] { return l.b.transport->stats().connections_open == 0; }));
  };
  TlsFiles foreign(ca, other.issue({"node-1"}));  // the right CA file, a certificate another CA signed
  refused("another CA", foreign.options);
  TlsFiles expired(ca, ca.issue({"node-1"}, -48h, -24h));
  refused("expired", expired.options);
  TlsFiles early(ca, ca.issue({"node-1"}, 24h, 48h));
  refused("not yet valid", early.options);
  refused("plaintext", std::nullopt);
  // The other way round: a node with a good certificate dialling a listener whose certificate another CA signed.
  dialling_is_refused(TlsFiles(other, other.issue({"node-2"})), TlsFiles(ca, ca.issue({"node-1"})));
}

TEST_CASE("tls: a hello naming a peer its certificate does not name is refused", "[transport][tls]") {
  CertAuthority ca("test cluster CA");
  Listener l(ca);
  // node-3's certificate, presented by a transport that says it is node-1.
  TlsFiles impostor(ca, ca.issue({"node-3"}));
  Node a;
  a.start(tls_options(1, {l.address()}, impostor));
  a.transport->send({heartbeat(1, 2, 1)});
  CHECK(eventually([&] { return l.b.transport->stats().identity_mismatches >= 1; }));
  // The listener counts the mismatch, then logs it, then sends the refusal: each is waited for in turn.
  CHECK(eventually([&] { return l.b.log_lines_containing("the certificate names 'node-3'") == 1; }));
  CHECK(eventually([&] { return a.transport->stats().refusals_received >= 1; }));
  CHECK(l.b.received_count() == 0);
  CHECK(l.b.log_lines_containing("the certificate names 'node-3'") == 1);  // and only once
}

TEST_CASE("tls: a dialled peer must show a certificate naming the peer meant", "[transport][tls]") {
  CertAuthority ca("test cluster CA");
  // node-9 listening where node-2 should be.
  dialling_is_refused(TlsFiles(ca, ca.issue({"node-9"})), TlsFiles(ca, ca.issue({"node-1"})));
}

TEST_CASE("tls: a join request speaks only for the name its certificate gives", "[transport][tls][membership]") {
  CertAuthority ca("test cluster CA");
  TlsFiles fl(ca, ca.issue({"node-1"}));
  std::atomic<int> asked{0};
  TransportOptions o = tls_options(1, {}, fl);
  o.on_join = [&](const JoinRequest& r) {
    ++asked;
    JoinReply reply;
    reply.ok = true;
    reply.id = 4;
    reply.members = {{1, "node-1", "127.0.0.1", 1}, {4, r.name, r.host, r.port}};
    return reply;
  };
  Node leader;
  leader.start(o);
  const std::uint16_t port = leader.transport->port();
  TlsFiles joiner(ca, ca.issue({"node-4"}));
  auto ask = [&](const std::string& name, bool leave, const std::optional<TlsOptions>& tls) {
    return Transport::request_join("127.0.0.1", port, JoinRequest{"test", name, "127.0.0.1", 9, "", leave}, 5000ms,
                                   tls);
  };
  auto joined = ask("node-4", false, joiner.options);
  REQUIRE(joined.is_ok());
  CHECK(joined.value().ok);
  CHECK(asked == 1);
  // The same certificate asking to remove someone else, or to join as someone else.
  for (bool leave : {true, false}) {
    auto other = ask("node-2", leave, joiner.options);
    REQUIRE(other.is_ok());
    CHECK_FALSE(other.value().ok);
    CHECK(other.value().error.find("certificate does not name 'node-2'") != std::string::npos);
  }
  CHECK(asked == 1);
  CHECK(leader.transport->stats().identity_mismatches == 2);
  // Without a certificate, no join request is read at all.
  CHECK_FALSE(ask("node-4", false, std::nullopt).is_ok());
  TlsFiles foreign(ca, CertAuthority("another CA").issue({"node-4"}));
  CHECK_FALSE(ask("node-4", false, foreign.options).is_ok());
  CHECK(asked == 1);
}

TEST_CASE("tls: certificates are read again when their files change, without a restart", "[transport][tls]") {
  CertAuthority ca("test cluster CA");
  Listener l(ca);
  TlsFiles fa(ca, ca.issue({"node-1"}, -48h, -24h));  // starts with an expired certificate
  Node a;
  a.start(tls_options(1, {l.address()}, fa));
  a.transport->send({heartbeat(1, 2, 1)});
  CHECK(eventually([&] { return l.b.transport->stats().tls_handshake_failures >= 1; }));
  CHECK(l.b.received_count() == 0);
  // The operator installs a renewed certificate: the next connection uses it.
  fa.write(ca.issue({"node-1"}));
  CHECK(eventually(
      [&] {
        a.transport->send({heartbeat(1, 2, 1)});
        return l.b.received_count() >= 1;
      },
      10000ms));
  CHECK(a.log_lines_containing("certificate files reloaded") == 1);
}

}  // namespace
