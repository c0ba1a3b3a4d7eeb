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
#include <mutex>
#include <string>
#include <vector>

#include "consensus/status.h"
#include "transport/transport.h"

namespace raftkit::transport_internal {

class TlsContexts {
 public:
  using Log = std::function<void(const std::string&)>;
  // Reads the CA, certificate and key (refusing a key that does not match the certificate).
  static Result<std::shared_ptr<TlsContexts>> load(const TlsOptions& options, Log log);

  // The context for a new connection. At most once a second, it checks whether the files changed (modification
  // time, size, inode) and, if they did, builds a new context from them; if that fails (a half-written file, a key
  // that does not match), the previous context stays and the failure is logged. Connections keep the context they
  // were opened with.
  std::shared_ptr<boost::asio::ssl::context> current();

 private:
  struct FileStamp {
    long long mtime_ns = 0;
    long long size = 0;
    unsigned long long inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  TlsContexts(TlsOptions options, Log log) : options_(std::move(options)), log_(std::move(log)) {}
  static Result<std::shared_ptr<boost::asio::ssl::context>> build(const TlsOptions& options);
  std::vector<FileStamp> stamps() const;

  const TlsOptions options_;
  const Log log_;
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::vector<FileStamp> stamps_;
  long long checked_ns_ = 0;
};

// The DNS names in the subjectAltName of the peer certificate of an established connection (empty without one).
std::vector<std::string> certificate_names(const SSL* ssl);

// "name" is among `names`: the identity check of hellos and join requests.
bool certificate_names_include(const std::vector<std::string>& names, const std::string& name);
std::string describe_names(const std::vector<std::string>& names);

}  // namespace raftkit::transport_internal
