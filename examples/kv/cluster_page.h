// The live cluster page (cluster_page.html, compiled into the server): what GET / serves.
#pragma once

#include <string_view>

namespace raftkit::examples::kv {

std::string_view cluster_page_html();

}  // namespace raftkit::examples::kv
