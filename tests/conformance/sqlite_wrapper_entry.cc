// An adapter as an outside author might write one around a shipped engine: a class that passes every call through
// to raftkit's SQLite log unchanged, loaded by `raftkit-conformance --adapter` with no flags. The suite must know
// SQLite's own scratch file (the -shm WAL index) without being told. The library also declares one scratch file
// of its own through the optional entry point, which the report must list.
#include <cstdio>
#include <memory>

#include "adapters/sqlite/sqlite_log.h"
#include "conformance/adapter_entry.h"

namespace {

class PassThrough final : public raftkit::DurableLog {
 public:
  explicit PassThrough(std::unique_ptr<raftkit::DurableLog> inner) : inner_(std::move(inner)) {}
  raftkit::Index first_index() const override { return inner_->first_index(); }
  raftkit::Index last_index() const override { return inner_->last_index(); }
  raftkit::Result<raftkit::Term> term_at(raftkit::Index i) const override { return inner_->term_at(i); }
  raftkit::Result<std::vector<raftkit::Entry>> read(raftkit::Index lo, raftkit::Index hi,
                                                    std::uint64_t max_bytes) const override {
    return inner_->read(lo, hi, max_bytes);
  }
  raftkit::HardState hard_state() const override { return inner_->hard_state(); }
  raftkit::SnapshotMeta snapshot_meta() const override { return inner_->snapshot_meta(); }
  raftkit::RecoveryReport recovery_report() const override { return inner_->recovery_report(); }
  raftkit::Status write(const raftkit::LogWrite& batch) override { return inner_->write(batch); }
  raftkit::Status compact(const raftkit::SnapshotMeta& meta) override { return inner_->compact(meta); }

 private:
  std::unique_ptr<raftkit::DurableLog> inner_;
};

}  // namespace

extern "C" void* raftkit_conformance_open_v1(const char* dir, char* error, size_t error_size) {
  raftkit::SqliteLogOptions options;
  options.directory = dir;
  auto log = raftkit::SqliteLog::open(options);
  if (!log.is_ok()) {
    std::snprintf(error, error_size, "%s", log.status().to_string().c_str());
    return nullptr;
  }
  return static_cast<raftkit::DurableLog*>(new PassThrough(std::move(log).value()));
}

extern "C" const char* const* raftkit_conformance_non_durable_files_v1(void) {
  static const char* const names[] = {"*.wrapper-scratch", nullptr};
  return names;
}
