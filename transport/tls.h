// TLS for the peer port (internal to transport/): the SSL context built from a TlsOptions, rebuilt when its files
// change, and the names a verified peer certificate carries.
//
// Every connection is mutually authenticated: both sides present a certificate that must chain to the cluster's CA
// (expired or not-yet-valid ones fail), and TLS below 1.2 is refused. Verification proves only that the other side
// holds a key the CA certified; what it may claim to be is decided by the names in its certificate (its
// subjectAltName DNS entries), which the listener compares with the name in its hello or join request.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "consensus/status.h"
#include "transport/transport.h"
#include "util/watched_files.h"

namespace raftkit::transport_internal {

class TlsContexts {
 public:
  using Log = std::function<void(const std::string&)>;
  // Reads the CA, certificate and key (refusing a key that does not match the certificate).
  static Result<std::shared_ptr<TlsContexts>> load(const TlsOptions& options, Log log);

  // The context for a new connection: rebuilt from the files when they changed (util/watched_files.h: looked at
  // once a second; a set that cannot be used yet, a half-written file or a key that does not match, leaves the
  // previous context in force and is logged). Connections keep the context they were opened with.
  std::shared_ptr<boost::asio::ssl::context> current() { return files_->current(); }

 private:
  explicit TlsContexts(std::shared_ptr<util::Reloaded<boost::asio::ssl::context>> files) : files_(std::move(files)) {}
  static Result<std::shared_ptr<boost::asio::ssl::context>> build(const TlsOptions& options);

  std::shared_ptr<util::Reloaded<boost::asio::ssl::context>> files_;
};

// The DNS names in the subjectAltName of the peer certificate of an established connection (empty without one).
std::vector<std::string> certificate_names(const SSL* ssl);

// "name" is among `names`: the identity check of hellos and join requests.
bool certificate_names_include(const std::vector<std::string>& names, const std::string& name);
std::string describe_names(const std::vector<std::string>& names);

}  // namespace raftkit::transport_internal
