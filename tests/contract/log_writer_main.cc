// raftkit_log_writer ENGINE DIR: appends batches of entries to a log forever, printing the last acknowledged
// index after every write returns. The SIGKILL test runs it as a child and kills it at a random moment.
#include <cstdio>
#include <string>

#include "tests/contract/engines.h"

int main(int argc, char** argv) {
  using namespace raftkit;
  if (argc != 3) return 2;
  const std::string engine = argv[1];
  LogOptions options{argv[2], "default", kNoNode};
  auto log = engine == "rocksdb" ? testing::RocksDbEngine::try_open(options)
             : engine == "lmdb"  ? testing::LmdbEngine::try_open(options)
                                 : testing::SqliteEngine::try_open(options);
  if (!log.is_ok()) {
    std::fprintf(stderr, "%s\n", log.status().to_string().c_str());
    return 1;
  }
  DurableLog& l = *log.value();
  for (Index next = l.last_index() + 1;; ) {
    std::vector<Entry> batch;
    const Index n = 1 + next % 7;
    for (Index i = 0; i < n; ++i, ++next) {
      batch.push_back(Entry{next, 1, EntryKind::kNormal, "entry-" + std::to_string(next)});
    }
    Status s = l.append(std::move(batch));
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(next - 1));
    std::fflush(stdout);
  }
}
