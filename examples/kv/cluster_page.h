// The live cluster page (cluster_page.html, compiled into the server): what GET / serves.
#pragma once

#include <string_view>

namespace raftkit::examples::kv {

std::string_view cluster_page_html();
// Its Content-Security-Policy: nothing but its own inline script (by SHA-256 hash) and styles, and fetches to
// http: and https: (the members, whose addresses the page learns at run time).
std::string_view cluster_page_csp();

}  // namespace raftkit::examples::kv
