#include "examples/kv/cluster_page.h"

#include <openssl/evp.h>

#include <string>

namespace raftkit::examples::kv {

std::string_view cluster_page_html() {
  // Generated from examples/kv/cluster_page.html by the build (CMake and Bazel): the file as one raw string.
  static constexpr std::string_view kPage =
#include "examples/kv/cluster_page.inc"
      ;
  return kPage;
}

std::string_view cluster_page_csp() {
  static const std::string csp = [] {
    const std::string_view page = cluster_page_html();
    const std::string_view open = "<script>", close = "</script>";
    const std::size_t begin = page.find(open) + open.size();
    const std::string_view script = page.substr(begin, page.find(close, begin) - begin);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(script.data(), script.size(), digest, &length, EVP_sha256(), nullptr);
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return "default-src 'none'; script-src 'sha256-" + std::string(reinterpret_cast<char*>(encoded), n) +
           "'; style-src 'unsafe-inline'; connect-src http: https:; frame-ancestors 'none'";
  }();
  return csp;
}

}  // namespace raftkit::examples::kv
