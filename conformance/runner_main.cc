// raftkit-conformance --adapter LIB.so [suite options]: runs the conformance suite against an adapter built as a
// shared library exporting raftkit_conformance_open_v1 (conformance/adapter_entry.h), without our build system. The
// library may also export raftkit_conformance_non_durable_files_v1 to declare its scratch files.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance/adapter_entry.h"
#include "conformance/conformance.h"

namespace {

// The error code of a failed open, from a message that starts with the code's name as Status::to_string() writes
// it ("Locked: ..."); without one, kIo marked as such (the suite then cannot hold the adapter to an exact code).
raftkit::Status status_from_message(const std::string& message) {
  using raftkit::ErrorCode;
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kCompacted, ErrorCode::kUnavailable,
                         ErrorCode::kCorruption, ErrorCode::kIo, ErrorCode::kNoSpace, ErrorCode::kWrongOwner,
                         ErrorCode::kLocked, ErrorCode::kFailed}) {
    const std::string prefix = std::string(raftkit::error_code_name(code)) + ": ";
    if (message.rfind(prefix, 0) == 0) return raftkit::Status(code, message.substr(prefix.size()));
  }
  return raftkit::Status(ErrorCode::kIo, std::string(raftkit::conformance::kNoErrorCode) + message);
}

}  // namespace

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
    if (log == nullptr) return status_from_message(error[0] ? error : "adapter open failed");
    return std::unique_ptr<raftkit::DurableLog>(static_cast<raftkit::DurableLog*>(log));
  };
  raftkit::conformance::SuiteOptions options;
  options.child_args = {"--adapter", library};
  if (auto scratch = reinterpret_cast<raftkit_conformance_non_durable_files_fn>(
          dlsym(handle, "raftkit_conformance_non_durable_files_v1"))) {
    for (const char* const* name = scratch(); name != nullptr && *name != nullptr; ++name) {
      options.non_durable_files.emplace_back(*name);
    }
  }
  const std::string name = std::filesystem::path(library).stem().string();
  rest.push_back(nullptr);
  return raftkit::conformance::main_for(static_cast<int>(rest.size()) - 1, rest.data(), name, factory, options);
}
