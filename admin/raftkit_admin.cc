// raftkit-admin: an offline tool on a stopped peer's data directory (admin/node_directory.h).
//
//   raftkit-admin show DATA_DIR                 hard state, log range, configuration, snapshot, recovery report (JSON)
//   raftkit-admin verify DATA_DIR               reads every entry and the newest snapshot, checking every checksum
//   raftkit-admin dump DATA_DIR [--from I] [--to J]   entries in [I, J], one JSON object per line
//   raftkit-admin force-new-cluster DATA_DIR --yes    after a quorum is lost for good: this peer becomes the only
//                                                     member (docs/operations.md, "Recovering from quorum loss")
//
// Exit status: 0 done, 1 the directory is damaged or the operation was refused (the reason on stderr), 2 a bad
// command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "admin/node_directory.h"
#include "runtime/command_codec.h"
#include "runtime/membership.h"

namespace {

using json = nlohmann::json;
using namespace raftkit;

int fail(const Status& s) {
  std::fprintf(stderr, "raftkit-admin: %s\n", s.to_string().c_str());
  return 1;
}

// Printable ASCII as itself, every other byte as \xNN: commands are often binary, and the dump must show every byte.
std::string escaped(std::string_view bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

json configuration_json(const Configuration& c) {
  json members = json::array();
  for (const MemberRecord& m : members_of(c)) {
    members.push_back({{"id", m.address.id},
                       {"name", m.address.name},
                       {"raft", m.address.host + ":" + std::to_string(m.address.port)},
                       {"info", escaped(m.info)},
                       {"promote", m.promote}});
  }
  return {{"voters", c.voters}, {"voters_outgoing", c.voters_outgoing}, {"learners", c.learners}, {"members", members}};
}

json entry_json(const Entry& e) {
  json j = {{"index", e.index}, {"term", e.term}};
  switch (e.kind) {
    case EntryKind::kNormal: {
      const Command c = decode_command(e.payload);
      j["kind"] = "command";
      if (c.client != 0) {
        j["client"] = c.client;
        j["request"] = c.request;
      }
      j["bytes"] = c.text.size();
      j["command"] = escaped(c.text);
      break;
    }
    case EntryKind::kConfiguration: {
      j["kind"] = "configuration";
      auto c = decode_configuration(e.payload);
      if (c.is_ok()) {
        j["configuration"] = configuration_json(c.value());
      } else {
        j["error"] = c.status().message();
      }
      break;
    }
    case EntryKind::kNoop: j["kind"] = "noop"; break;
    default: j["kind"] = "unknown (" + std::to_string(static_cast<int>(e.kind)) + ")";
  }
  return j;
}

int show(NodeDirectory& d, const std::string& data_dir) {
  const DurableLog& log = d.log();
  auto in_effect = d.configuration();
  if (!in_effect.is_ok()) return fail(in_effect.status());
  Result<Term> last_term = log.term_at(log.last_index());
  json out = {
      {"data_dir", data_dir},
      {"engine", d.identity().engine},
      {"cluster", d.identity().cluster_id},
      {"member_id", d.member_id()},
      {"hard_state",
       {{"term", log.hard_state().term}, {"voted_for", log.hard_state().voted_for}, {"commit", log.hard_state().commit}}},
      {"log",
       {{"first_index", log.first_index()},
        {"last_index", log.last_index()},
        {"last_term", last_term.is_ok() ? last_term.value() : 0},
        {"compacted_to", {{"index", log.snapshot_meta().last_index}, {"term", log.snapshot_meta().last_term}}}}},
      {"configuration",
       {{"index", in_effect.value().index},
        {"from_snapshot", in_effect.value().from_snapshot},
        {"members", configuration_json(in_effect.value().configuration)}}},
      {"recovery",
       {{"trimmed_from", log.recovery_report().trimmed_from},
        {"trimmed_entries", log.recovery_report().trimmed_entries},
        {"detail", log.recovery_report().detail}}},
  };
  if (const std::optional<SnapshotFile>& s = d.newest_snapshot()) {
    out["snapshot"] = {{"file", s->path}, {"index", s->meta.last_index}, {"term", s->meta.last_term}, {"bytes", s->size}};
  } else {
    out["snapshot"] = nullptr;
  }
  // Names and info come from join requests: bytes that are not UTF-8 are shown replaced, never a failure.
  std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  return 0;
}

int verify(NodeDirectory& d) {
  auto v = d.verify();
  if (!v.is_ok()) return fail(v.status());
  std::printf("verified: %llu entries [%llu, %llu], hard state, snapshot point", 
              static_cast<unsigned long long>(v.value().entries),
              static_cast<unsigned long long>(d.log().first_index()),
              static_cast<unsigned long long>(d.log().last_index()));
  if (v.value().snapshot_bytes > 0) {
    std::printf(", snapshot at %llu (%llu bytes)", static_cast<unsigned long long>(d.newest_snapshot()->meta.last_index),
                static_cast<unsigned long long>(v.value().snapshot_bytes));
  }
  std::printf("\n");
  return 0;
}

int dump(NodeDirectory& d, Index from, Index to) {
  Status s = d.for_each_entry(from, to, [](const Entry& e) {
    std::cout << entry_json(e).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    return Status::ok();
  });
  return s.is_ok() ? 0 : fail(s);
}

int force_new_cluster(NodeDirectory& d, bool confirmed) {
  auto in_effect = d.configuration();
  if (!in_effect.is_ok()) return fail(in_effect.status());
  if (!confirmed) {
    std::fprintf(stderr,
                 "raftkit-admin: this makes member %llu the only voter of cluster '%s' (now %s) and commits its whole "
                 "log (last index %llu). Run it on the survivor whose log is most up to date (highest last term, then "
                 "last index), only after the others "
                 "are lost for good; never start them again on their old data. Add --yes to go ahead.\n",
                 static_cast<unsigned long long>(d.member_id()), d.identity().cluster_id.c_str(),
                 in_effect.value().configuration.to_string().c_str(),
                 static_cast<unsigned long long>(d.log().last_index()));
    return 1;
  }
  auto index = d.force_new_cluster();
  if (!index.is_ok()) return fail(index.status());
  std::printf("member %llu is now the only member (configuration entry %llu, durable); start it, then join new "
              "members to it\n",
              static_cast<unsigned long long>(d.member_id()), static_cast<unsigned long long>(index.value()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"raftkit-admin: inspect, verify and repair a stopped peer's data directory"};
  app.require_subcommand(1);
  std::string data_dir;
  Index from = 0, to = UINT64_MAX;
  bool yes = false;
  CLI::App* show_cmd = app.add_subcommand("show", "hard state, log range, configuration, snapshot and recovery report");
  CLI::App* verify_cmd = app.add_subcommand("verify", "read every entry and the newest snapshot, checking checksums");
  CLI::App* dump_cmd = app.add_subcommand("dump", "print entries, one JSON object per line");
  CLI::App* force_cmd =
      app.add_subcommand("force-new-cluster", "make this peer the only member after a quorum is lost for good");
  for (CLI::App* c : {show_cmd, verify_cmd, dump_cmd, force_cmd}) {
    c->add_option("DATA_DIR", data_dir, "the peer's data directory (kv_server --data)")->required()->check(
        CLI::ExistingDirectory);
  }
  dump_cmd->add_option("--from", from, "first index (default: the log's first)");
  dump_cmd->add_option("--to", to, "last index (default: the log's last)");
  force_cmd->add_flag("--yes", yes, "go ahead (without it, only says what would change)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    auto d = NodeDirectory::open(data_dir);
    if (!d.is_ok()) return fail(d.status());
    if (*show_cmd) return show(*d.value(), data_dir);
    if (*verify_cmd) return verify(*d.value());
    if (*dump_cmd) return dump(*d.value(), from, to);
    return force_new_cluster(*d.value(), yes);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raftkit-admin: %s\n", e.what());
    return 1;
  }
}
