// Who may do what through the key-value server's HTTP API: each caller has a role, given by its bearer token or by
// its verified client certificate (certificate_role below). A token file holds one token a line:
//
//   ROLE TOKEN [NAME]       ROLE is read, write or admin; NAME (optional) says whose it is, for logs
//   # comments and blank lines are ignored
//
// Roles nest: write may do what read may, admin what write may. Tokens are at least 16 characters of printable
// ASCII without spaces (make one with `openssl rand -hex 32`), and each appears once. The file is checked for
// changes at most once a second and read again when it changes, so tokens are added and revoked without a
// restart; a file that no longer parses leaves the previous tokens in force (and is reported).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/status.h"
#include "util/watched_files.h"

namespace raftkit::examples::kv {

enum class Role { kRead = 1, kWrite = 2, kAdmin = 3 };
const char* role_name(Role r);
std::optional<Role> parse_role(std::string_view name);  // "read", "write" or "admin"

// The role a verified client certificate gives: its subject's organization (O) entries name roles, as groups do in
// Kubernetes' client certificates, and the highest one named applies. Nullopt when none names a role (a peer's
// certificate from the same CA, say): such a certificate proves who is asking but allows nothing.
std::optional<Role> certificate_role(const std::vector<std::string>& organizations);

struct TokenHolder {
  Role role = Role::kRead;
  std::string name;  // from the file, or "" when it names none
};

class TokenTable {
 public:
  // Parses a token file's text; every bad line is an error naming its line number (never echoing a token).
  static Result<TokenTable> parse(std::string_view text);
  // The holder of `token`, compared in time independent of where the tokens differ.
  std::optional<TokenHolder> find(std::string_view token) const;
  std::size_t size() const { return tokens_.size(); }

 private:
  std::map<std::string, TokenHolder> tokens_;
};

// A token file, read again when it changes (util/watched_files.h).
class TokenFile {
 public:
  using Log = std::function<void(const std::string&)>;
  static Result<std::shared_ptr<TokenFile>> open(std::string path, Log log);
  std::optional<TokenHolder> find(std::string_view token);

 private:
  explicit TokenFile(std::shared_ptr<util::Reloaded<const TokenTable>> table) : table_(std::move(table)) {}
  static Result<TokenTable> read(const std::string& path);  // parsed, with at least one token

  std::shared_ptr<util::Reloaded<const TokenTable>> table_;
};

// The role a request needs: none for /health, read for reads, write for changes to keys, admin for membership.
std::optional<Role> role_needed(std::string_view method, std::string_view path);

}  // namespace raftkit::examples::kv
