#include "transport/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

namespace raftkit::transport_internal {
namespace {

namespace ssl = boost::asio::ssl;

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status tls_error(const std::string& what, const boost::system::error_code& ec) {
  return Status(ErrorCode::kInvalidArgument, "TLS: " + what + ": " + ec.message());
}

}  // namespace

Result<std::shared_ptr<ssl::context>> TlsContexts::build(const TlsOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  boost::system::error_code ec;
  // TLS 1.2 and 1.3 only; no renegotiation, compression or session tickets to reason about.
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION |
                       SSL_OP_NO_TICKET,
                   ec);
  if (ec) return tls_error("options", ec);
  // Nothing resumes sessions here (each connection lives long): no cache, no TLS 1.3 tickets to hold.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx->native_handle(), 0);
  ctx->load_verify_file(options.ca_file, ec);
  if (ec) return tls_error("CA file " + options.ca_file, ec);
  ctx->use_certificate_chain_file(options.cert_file, ec);
  if (ec) return tls_error("certificate file " + options.cert_file, ec);
  ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) return tls_error("key file " + options.key_file, ec);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument, "TLS: key file " + options.key_file + " does not match certificate " +
                                                   options.cert_file);
  }
  // Both sides must present a certificate from the CA (fail_if_no_peer_cert applies on the accepting side).
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return tls_error("verify mode", ec);
  return ctx;
}

std::vector<TlsContexts::FileStamp> TlsContexts::stamps() const {
  std::vector<FileStamp> out;
  for (const std::string* path : {&options_.ca_file, &options_.cert_file, &options_.key_file}) {
    struct stat st {};
    FileStamp f;
    if (::stat(path->c_str(), &st) == 0) {
      f.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      f.size = static_cast<long long>(st.st_size);
      f.inode = static_cast<unsigned long long>(st.st_ino);
    }
    out.push_back(f);
  }
  return out;
}

Result<std::shared_ptr<TlsContexts>> TlsContexts::load(const TlsOptions& options, Log log) {
  if (options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty()) {
    return Status(ErrorCode::kInvalidArgument, "TLS needs a CA file, a certificate file and a key file");
  }
  std::shared_ptr<TlsContexts> t(new TlsContexts(options, std::move(log)));
  t->stamps_ = t->stamps();
  auto ctx = build(options);
  if (!ctx.is_ok()) return ctx.status();
  t->context_ = std::move(ctx).value();
  t->checked_ns_ = now_ns();
  return t;
}

std::shared_ptr<ssl::context> TlsContexts::current() {
  std::lock_guard<std::mutex> lock(mu_);
  const long long now = now_ns();
  if (now - checked_ns_ < 1000000000LL) return context_;
  checked_ns_ = now;
  std::vector<FileStamp> seen = stamps();
  if (seen == stamps_) return context_;
  auto rebuilt = build(options_);
  stamps_ = std::move(seen);  // tried once per change of the files (and reported once)
  if (!rebuilt.is_ok()) {
    // Perhaps caught between writing the certificate and the key: the second write is a change, tried again.
    if (log_) log_("certificate files changed but cannot be used yet (keeping the previous ones): " +
                   rebuilt.status().message());
    return context_;
  }
  context_ = std::move(rebuilt).value();
  if (log_) log_("certificate files reloaded");
  return context_;
}

std::vector<std::string> certificate_names(const SSL* ssl) {
  std::vector<std::string> names;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
    if (n->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = n->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                       static_cast<std::size_t>(ASN1_STRING_length(dns)));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

bool certificate_names_include(const std::vector<std::string>& names, const std::string& name) {
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

std::string describe_names(const std::vector<std::string>& names) {
  if (names.empty()) return "no DNS names";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

}  // namespace raftkit::transport_internal
