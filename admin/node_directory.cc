#include "admin/node_directory.h"

#include <algorithm>
#include <filesystem>

#include "adapters/engines.h"
#include "runtime/member_file.h"
#include "runtime/membership.h"

namespace raftkit {
namespace {

constexpr std::uint64_t kChunkBytes = 16 << 20;  // entries read per step when scanning the log

}  // namespace

Result<std::unique_ptr<NodeDirectory>> NodeDirectory::open(const std::string& data_dir) {
  const std::string log_dir = data_dir + "/log";
  std::error_code ec;
  if (!std::filesystem::is_directory(log_dir, ec)) {
    return Status(ErrorCode::kInvalidArgument, data_dir + " is not a peer's data directory (it has no log/)");
  }
  auto identity = read_log_identity(log_dir);
  if (!identity.is_ok()) return identity.status();
  const std::optional<Engine> engine = engine_by_name(identity.value().engine);
  if (!engine || *engine == Engine::kMemory) {
    return Status(ErrorCode::kWrongOwner, log_dir + " holds a log of an unknown engine '" + identity.value().engine + "'");
  }
  std::unique_ptr<NodeDirectory> d(new NodeDirectory());
  d->identity_ = identity.value();
  d->member_id_ = read_member_file(data_dir).value_or(d->identity_.node_id);
  // The identity is what the directory claims to be; passing it back only checks that it is one whole record.
  auto log = open_engine_log(*engine, LogOptions{log_dir, d->identity_.cluster_id, d->identity_.node_id});
  if (!log.is_ok()) return log.status();
  d->log_ = std::move(log).value();
  auto newest = find_latest_snapshot(data_dir + "/snapshots");
  if (!newest.is_ok()) return newest.status();
  d->newest_snapshot_ = newest.value();
  return d;
}

Result<NodeDirectory::InEffect> NodeDirectory::configuration() const {
  InEffect found;
  found.configuration = log_->snapshot_meta().configuration;
  found.index = log_->snapshot_meta().last_index;
  found.from_snapshot = true;
  if (newest_snapshot_ && newest_snapshot_->meta.last_index > found.index) {
    found.configuration = newest_snapshot_->meta.configuration;
    found.index = newest_snapshot_->meta.last_index;
  }
  Status scanned = for_each_entry(log_->first_index(), log_->last_index(), [&](const Entry& e) {
    if (e.kind != EntryKind::kConfiguration || e.index < found.index) return Status::ok();
    auto c = decode_configuration(e.payload);
    if (!c.is_ok()) {
      return Status(ErrorCode::kCorruption, "configuration entry " + std::to_string(e.index) +
                                                " does not decode: " + c.status().message());
    }
    found = InEffect{std::move(c).value(), e.index, false};
    return Status::ok();
  });
  if (!scanned.is_ok()) return scanned;
  return found;
}

Status NodeDirectory::for_each_entry(Index from, Index to, const std::function<Status(const Entry&)>& visit) const {
  from = std::max(from, log_->first_index());
  to = std::min(to, log_->last_index());
  for (Index next = from; next <= to;) {
    auto entries = log_->read(next, to + 1, kChunkBytes);
    if (!entries.is_ok()) return entries.status();
    if (entries.value().empty()) {
      return Status(ErrorCode::kCorruption, "the log returned no entry at " + std::to_string(next));
    }
    for (const Entry& e : entries.value()) {
      if (e.index != next) {
        return Status(ErrorCode::kCorruption, "the log returned entry " + std::to_string(e.index) + " where " +
                                                  std::to_string(next) + " belongs");
      }
      if (Status s = visit(e); !s.is_ok()) return s;
      ++next;
    }
  }
  return Status::ok();
}

Result<NodeDirectory::Verified> NodeDirectory::verify() const {
  Verified v;
  Status read = for_each_entry(log_->first_index(), log_->last_index(), [&](const Entry&) {
    ++v.entries;
    return Status::ok();
  });
  if (!read.is_ok()) return read;
  if (newest_snapshot_) {
    auto reader = SnapshotReader::open(newest_snapshot_->path);
    if (!reader.is_ok()) return reader.status();
    if (Status s = reader.value()->verify(); !s.is_ok()) return s;
    v.snapshot_bytes = reader.value()->file_size();
  }
  return v;
}

Result<Index> NodeDirectory::force_new_cluster() {
  auto now = configuration();
  if (!now.is_ok()) return now.status();
  const std::vector<MemberRecord> book = members_of(now.value().configuration);
  const MemberRecord* self = find_by_id(book, member_id_);
  if (self == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "member " + std::to_string(member_id_) +
                                                   " is not in the address book of the configuration at index " +
                                                   std::to_string(now.value().index) + ": " +
                                                   now.value().configuration.to_string());
  }
  if (newest_snapshot_) {
    // The peer crashed installing a snapshot from its leader if the log has not been compacted to it and does not
    // hold its last entry: it finishes the install when it starts (RaftPeer::boot), discarding the log after it,
    // and with it an entry appended here.
    const SnapshotMeta& meta = newest_snapshot_->meta;
    Result<Term> t = log_->term_at(meta.last_index);
    if (log_->snapshot_meta().last_index < meta.last_index && (!t.is_ok() || t.value() != meta.last_term)) {
      return Status(ErrorCode::kInvalidArgument,
                    "the newest snapshot (index " + std::to_string(meta.last_index) + ", term " +
                        std::to_string(meta.last_term) + ") is not installed in the log yet; start the peer once so "
                        "it finishes installing it, stop it, then repair");
    }
  }
  MemberRecord alone = *self;
  alone.promote = false;
  Configuration c;
  c.voters = {member_id_};
  c.metadata = encode_members({alone});

  const HardState hs = log_->hard_state();
  const Index last = log_->last_index();
  Result<Term> last_term = log_->term_at(last);
  if (!last_term.is_ok()) return last_term.status();
  const Term term = std::max(hs.term, last_term.value());
  LogWrite w;
  w.entries = {Entry{last + 1, term, EntryKind::kConfiguration, encode_configuration(c)}};
  // The vote stays if the term does (a vote once cast in a term never changes); the whole log is now committed.
  w.hard_state = HardState{term, term == hs.term ? hs.voted_for : kNoNode, last + 1};
  if (Status s = log_->write(w); !s.is_ok()) return s;
  return last + 1;
}

}  // namespace raftkit
