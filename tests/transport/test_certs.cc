// Certificates for the mutual-TLS tests, made with OpenSSL's C API so the tests need no files or openssl binary.
#include "tests/transport/test_certs.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>

namespace raftkit::testing {

namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// Names the step and drains OpenSSL's error queue into the message, so a failure says why, not just where.
[[noreturn]] void fail(const std::string& step) {
  std::string detail;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += detail.empty() ? ": " : "; ";
    detail += buf;
  }
  throw std::runtime_error("test_certs: " + step + " failed" + detail);
}

void check(bool ok, const std::string& step) {
  if (!ok) fail(step);
}

KeyPtr make_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen(P-256)");
  return key;
}

// A positive 159-bit random serial: RFC 5280 allows at most 20 octets, and uniqueness per CA is all that matters.
void set_random_serial(X509* cert) {
  unsigned char bytes[20];
  check(RAND_bytes(bytes, sizeof bytes) == 1, "RAND_bytes(serial)");
  bytes[0] &= 0x7f;
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  check(bn != nullptr, "BN_bin2bn(serial)");
  check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr, "BN_to_ASN1_INTEGER(serial)");
}

// A v3 certificate for `key` with a random serial, the subject CN and validity set; the issuer and extensions are the
// caller's.
CertPtr new_cert(EVP_PKEY* key, const std::string& common_name, long not_before_s, long not_after_s) {
  CertPtr cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  set_random_serial(cert.get());
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_s) != nullptr, "X509_gmtime_adj(notBefore)");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_s) != nullptr, "X509_gmtime_adj(notAfter)");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  check(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8, cn, -1, -1, 0) == 1,
        "X509_NAME_add_entry_by_txt(CN=" + common_name + ")");
  return cert;
}

// Adds one extension written in openssl.cnf syntax (e.g. "critical,CA:TRUE"); `issuer` is the cert itself for a CA.
void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  const std::string step = std::string("extension ") + OBJ_nid2sn(nid) + "=" + value;
  check(ext != nullptr, step);
  check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext(" + step + ")");
}

void sign(X509* cert, EVP_PKEY* key) { check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign(SHA-256)"); }

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  check(len >= 0 && data != nullptr, "BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(len));
}

std::string cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr, "BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return bio_text(bio.get());
}

// PKCS#8, unencrypted: what the TLS code loads with SSL_CTX_use_PrivateKey_file.
std::string key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr, "BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return bio_text(bio.get());
}

// Closes `fd` if open, removes the half-written `tmp` and throws with errno.
[[noreturn]] void io_fail(const std::string& tmp, const std::string& step, int fd) {
  const int err = errno;
  if (fd >= 0) ::close(fd);
  ::unlink(tmp.c_str());
  throw std::system_error(err, std::generic_category(), "write_file: " + tmp + ": " + step);
}

constexpr long kHour = 3600;
constexpr long kTenYears = 10L * 365 * 24 * kHour;

}  // namespace

struct CertAuthority::Impl {
  KeyPtr key;
  CertPtr cert;
  std::string cert_pem;
};

CertAuthority::CertAuthority(const std::string& common_name) : impl_(std::make_unique<Impl>()) {
  impl_->key = make_key();
  // Backdated an hour so a test machine whose clock is a little behind still accepts it.
  impl_->cert = new_cert(impl_->key.get(), common_name, -kHour, kTenYears);
  X509* cert = impl_->cert.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1, "X509_set_issuer_name(CA)");
  add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert, cert, NID_subject_key_identifier, "hash");
  add_ext(cert, cert, NID_authority_key_identifier, "keyid:always");
  sign(cert, impl_->key.get());
  impl_->cert_pem = cert_to_pem(cert);
}

CertAuthority::~CertAuthority() = default;

const std::string& CertAuthority::cert_pem() const { return impl_->cert_pem; }

KeyPair CertAuthority::issue(const std::vector<std::string>& dns_names, std::chrono::seconds not_before,
                             std::chrono::seconds not_after) const {
  std::string san;
  for (const auto& name : dns_names) {
    // The extension is parsed from "DNS:a,DNS:b", so a comma would split a name; no DNS name has one.
    if (name.empty() || name.find(',') != std::string::npos) {
      throw std::runtime_error("test_certs: bad DNS name for subjectAltName: '" + name + "'");
    }
    san += (san.empty() ? "DNS:" : ",DNS:") + name;
  }
  KeyPtr key = make_key();
  CertPtr cert = new_cert(key.get(), dns_names.empty() ? "anonymous" : dns_names.front(),
                          static_cast<long>(not_before.count()), static_cast<long>(not_after.count()));
  X509* ca = impl_->cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) == 1, "X509_set_issuer_name(leaf)");
  add_ext(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(cert.get(), ca, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert.get(), ca, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (!san.empty()) add_ext(cert.get(), ca, NID_subject_alt_name, san);
  sign(cert.get(), impl_->key.get());
  return KeyPair{cert_to_pem(cert.get()), key_to_pem(key.get())};
}

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_fail(tmp, "open", -1);
  // open's mode applies only when it creates the file; a .tmp left behind by an earlier run keeps its own.
  if (::fchmod(fd, 0600) != 0) io_fail(tmp, "fchmod", fd);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_fail(tmp, "write", fd);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) io_fail(tmp, "close", -1);
  if (::rename(tmp.c_str(), path.c_str()) != 0) io_fail(tmp, "rename to " + path, -1);
}

}  // namespace raftkit::testing
