#include "transport/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace raftkit::transport_internal {
namespace {

namespace ssl = boost::asio::ssl;

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

Result<std::shared_ptr<TlsContexts>> TlsContexts::load(const TlsOptions& options, Log log) {
  if (options.ca_file.empty() || options.cert_file.empty() || options.key_file.empty()) {
    return Status(ErrorCode::kInvalidArgument, "TLS needs a CA file, a certificate file and a key file");
  }
  auto files = util::Reloaded<ssl::context>::load({options.ca_file, options.cert_file, options.key_file},
                                                  "certificate files", [options] { return build(options); },
                                                  std::move(log));
  if (!files.is_ok()) return files.status();
  return std::shared_ptr<TlsContexts>(new TlsContexts(std::move(files).value()));
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
