// Certificates made in memory for the mutual-TLS tests: a throwaway CA per test, leaves for each peer, and expired
// or not-yet-valid ones to check they are refused. Not for production keys.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace raftkit::testing {

// A private key and its certificate, PEM-encoded.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A certificate authority made on the spot: an EC P-256 key and a self-signed CA certificate (basicConstraints
// CA:TRUE critical, keyUsage keyCertSign+cRLSign), valid from an hour ago for ten years.
class CertAuthority {
 public:
  explicit CertAuthority(const std::string& common_name);
  ~CertAuthority();
  CertAuthority(const CertAuthority&) = delete;
  CertAuthority& operator=(const CertAuthority&) = delete;

  const std::string& cert_pem() const;

  // A leaf certificate signed by this CA for an EC P-256 key made for it: subject CN = dns_names[0] (or "anonymous"
  // if empty), subjectAltName = DNS:<each name>, basicConstraints CA:FALSE, keyUsage digitalSignature+keyEncipherment,
  // extendedKeyUsage serverAuth+clientAuth, a random serial; valid from now+not_before to now+not_after.
  KeyPair issue(const std::vector<std::string>& dns_names, std::chrono::seconds not_before = std::chrono::hours(-1),
                std::chrono::seconds not_after = std::chrono::hours(24 * 365)) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `text` to `path` (0600), replacing it atomically (write to path + ".tmp", then rename), so a reader never sees
// half a file.
void write_file(const std::string& path, const std::string& text);

}  // namespace raftkit::testing
