// raftkit-conformance --adapter LIB.so [suite options]: runs the conformance suite against an adapter built as a
// shared library exporting raftkit_conformance_open_v1 (conformance/adapter_entry.h), without our build system.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance/adapter_entry.h"
#include "conformance/conformance.h"

int main(int argc, char** argv) {
  std::string library;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--adapter") == 0 && i + 1 < argc) {
      library = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (library.empty()) {
    std::fprintf(stderr, "usage: raftkit-conformance --adapter LIB.so [--seed S] [--seeds N] [--deep] [--levels ...]\n");
    return 2;
  }
  library = std::filesystem::absolute(library).string();
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", library.c_str(), dlerror());
    return 2;
  }
  auto open_fn = reinterpret_cast<raftkit_conformance_open_fn>(dlsym(handle, "raftkit_conformance_open_v1"));
  if (open_fn == nullptr) {
    std::fprintf(stderr, "%s does not export raftkit_conformance_open_v1\n", library.c_str());
    return 2;
  }
  auto factory = [open_fn](const std::string& dir) -> raftkit::Result<std::unique_ptr<raftkit::DurableLog>> {
    char error[1024] = {0};
    void* log = open_fn(dir.c_str(), error, sizeof error);
    if (log == nullptr) return raftkit::Status(raftkit::ErrorCode::kIo, error[0] ? error : "adapter open failed");
    return std::unique_ptr<raftkit::DurableLog>(static_cast<raftkit::DurableLog*>(log));
  };
  raftkit::conformance::SuiteOptions options;
  options.child_args = {"--adapter", library};
  const std::string name = std::filesystem::path(library).stem().string();
  rest.push_back(nullptr);
  return raftkit::conformance::main_for(static_cast<int>(rest.size()) - 1, rest.data(), name, factory, options);
}
