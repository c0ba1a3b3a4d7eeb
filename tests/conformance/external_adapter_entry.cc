// The C entry point that makes SimpleFileLog loadable by `raftkit-conformance --adapter`. The check script builds
// this file and simple_file_log.cc into a shared library with a plain compiler command, against an installed
// raftkit, outside the project's build — the way an adapter author would.
#include <cstdio>
#include <cstring>

#include "conformance/adapter_entry.h"
#include "tests/conformance/simple_file_log.h"

extern "C" void* raftkit_conformance_open_v1(const char* dir, char* error, size_t error_size) {
  auto log = raftkit::testing::SimpleFileLog::open(dir);
  if (!log.is_ok()) {
    std::snprintf(error, error_size, "%s", log.status().to_string().c_str());
    return nullptr;
  }
  return static_cast<raftkit::DurableLog*>(std::move(log).value().release());
}
