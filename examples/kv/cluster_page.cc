#include "examples/kv/cluster_page.h"

namespace raftkit::examples::kv {

std::string_view cluster_page_html() {
  // Generated from examples/kv/cluster_page.html by the build (CMake and Bazel): the file as one raw string.
  static constexpr std::string_view kPage =
#include "examples/kv/cluster_page.inc"
      ;
  return kPage;
}

}  // namespace raftkit::examples::kv
