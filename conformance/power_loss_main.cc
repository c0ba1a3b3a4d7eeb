// raftkit-power-loss --root DIR --trace FILE [--model pessimistic|torn|reordered] [--seed S] [--non-durable NAME]...
//
// Cuts the power of a process that was writing DIR under the file-operation recorder (libraftkit_iotrace.so loaded
// with LD_PRELOAD, streaming to FILE; see iotrace.h), after that process has been killed: replays the trace through
// the disk model, replaces DIR with what a disk would hold after a power loss at the end of the trace (everything
// not fsynced lost under the pessimistic model; torn sectors or a random subset of unsynced writes under the
// others), and rewrites FILE as a trace of that state, all of it durable, so the restarted process can be traced
// and cut again. The Jepsen harness's power-loss nemesis runs it.
//
// The trace must describe DIR from when it was empty (or from a previous run of this tool). --non-durable names
// files (by file name) that hold no durable data and are rebuilt on open — LMDB's lock.mdb, SQLite's -shm WAL
// index — as the conformance suite's SuiteOptions::non_durable_files: their shared writable mmaps are allowed, and
// they are gone after the power loss. Any other shared writable mmap makes the tool refuse.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "conformance/disk_model.h"
#include "conformance/iotrace.h"

namespace fs = std::filesystem;
using raftkit::conformance::DiskModel;
using raftkit::conformance::PersistenceModel;
using raftkit::iotrace::Op;
using raftkit::iotrace::OpType;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "raftkit-power-loss: %s\n", what.c_str());
  return 1;
}

std::uint64_t tree_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// A trace that creates DIR's present content and makes all of it durable.
std::string baseline_trace(const std::string& root) {
  std::string out;
  std::vector<std::string> dirs = {root};
  std::vector<fs::path> entries;
  for (const auto& e : fs::recursive_directory_iterator(root)) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());  // parents before children
  for (const fs::path& p : entries) {
    Op op;
    op.path = p.string();
    if (fs::is_directory(p)) {
      op.type = OpType::kMkdir;
      out += raftkit::iotrace::encode(op);
      dirs.push_back(op.path);
      continue;
    }
    struct stat st;
    if (::stat(op.path.c_str(), &st) != 0) continue;
    std::ifstream in(p, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    op.type = OpType::kCreate;
    op.file_id = st.st_ino;
    out += raftkit::iotrace::encode(op);
    Op write;
    write.type = OpType::kWrite;
    write.file_id = st.st_ino;
    write.data = bytes.str();
    out += raftkit::iotrace::encode(write);
    Op sync;
    sync.type = OpType::kSync;
    sync.file_id = st.st_ino;
    out += raftkit::iotrace::encode(sync);
  }
  for (const std::string& d : dirs) {
    Op op;
    op.type = OpType::kDirSync;
    op.path = d;
    out += raftkit::iotrace::encode(op);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root, trace_file, model_name = "pessimistic";
  std::uint64_t seed = 1;
  std::vector<std::string> non_durable;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--non-durable") == 0) non_durable.push_back(argv[i + 1]);
    if (std::strcmp(argv[i], "--root") == 0) root = argv[i + 1];
    else if (std::strcmp(argv[i], "--trace") == 0) trace_file = argv[i + 1];
    else if (std::strcmp(argv[i], "--model") == 0) model_name = argv[i + 1];
    else if (std::strcmp(argv[i], "--seed") == 0) seed = std::stoull(argv[i + 1]);
  }
  if (root.empty() || trace_file.empty() || root[0] != '/') {
    std::fprintf(stderr, "usage: raftkit-power-loss --root /ABS/DIR --trace FILE [--model pessimistic|torn|reordered] "
                         "[--seed S]\n");
    return 2;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  const PersistenceModel model = model_name == "torn"        ? PersistenceModel::kTorn
                                 : model_name == "reordered" ? PersistenceModel::kReordered
                                                             : PersistenceModel::kPessimistic;
  std::ifstream in(trace_file, std::ios::binary);
  if (!in) return fail("cannot read the trace " + trace_file);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();

  DiskModel disk(root);
  auto is_non_durable = [&](const std::string& path) {
    return std::find(non_durable.begin(), non_durable.end(), fs::path(path).filename().string()) != non_durable.end();
  };
  std::size_t pos = 0, ops = 0;
  std::string uncovered;
  Op op;
  while (raftkit::iotrace::decode(bytes, pos, op)) {
    if (op.type == OpType::kUncovered && !is_non_durable(op.path)) uncovered += " " + op.path2 + " on " + op.path + ";";
    disk.apply(op);
    ++ops;
  }
  // A record cut short by the kill is the only damage a streamed trace can have.
  if (bytes.size() - pos > 0) std::fprintf(stderr, "raftkit-power-loss: ignoring a torn last record (%zu bytes)\n",
                                           bytes.size() - pos);
  if (!uncovered.empty()) return fail("the trace saw I/O it cannot model:" + uncovered + " refusing to cut power");

  const std::string staging = root + ".power-loss";
  std::error_code ec;
  fs::remove_all(staging, ec);
  raftkit::Random random(seed);
  if (auto s = disk.materialize(staging, model, random); !s.is_ok()) return fail(s.to_string());
  for (const auto& e : fs::recursive_directory_iterator(staging)) {
    if (e.is_regular_file() && is_non_durable(e.path().string())) fs::remove(e.path(), ec);
  }
  const std::uint64_t before = tree_bytes(root), after = tree_bytes(staging);
  fs::remove_all(root, ec);
  if (ec) return fail("remove " + root + ": " + ec.message());
  fs::rename(staging, root, ec);
  if (ec) return fail("rename " + staging + ": " + ec.message());

  const std::string new_trace = trace_file + ".new";
  {
    std::ofstream out(new_trace, std::ios::binary | std::ios::trunc);
    const std::string baseline = baseline_trace(root);
    out.write(baseline.data(), static_cast<std::streamsize>(baseline.size()));
    if (!out) return fail("write " + new_trace);
  }
  fs::rename(new_trace, trace_file, ec);
  if (ec) return fail("rename " + new_trace + ": " + ec.message());
  std::printf("power loss of %s (%s model): %zu operations replayed; %llu bytes on disk before, %llu after\n",
              root.c_str(), model_name.c_str(), ops, static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after));
  return 0;
}
