// Bearer tokens for the key-value server's HTTP API, each with a role. A token file holds one token a line:
//
//   ROLE TOKEN [NAME]       ROLE is read, write or admin; NAME (optional) says whose it is, for logs
//   # comments and blank lines are ignored
//
// Roles nest: write may do what read may, admin what write may. Tokens are at least 16 characters of printable
// ASCII without spaces (make one with `openssl rand -hex 32`), and each appears once. The file is checked for
// changes at most once a second and read again when it changes, so tokens are added and revoked without a
// restart; a file that no longer parses leaves the previous tokens in force (and is reported).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "consensus/status.h"

namespace raftkit::examples::kv {

enum class Role { kRead = 1, kWrite = 2, kAdmin = 3 };
const char* role_name(Role r);

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

// A token file, read again when it changes.
class TokenFile {
 public:
  using Log = std::function<void(const std::string&)>;
  static Result<std::shared_ptr<TokenFile>> open(std::string path, Log log);
  std::optional<TokenHolder> find(std::string_view token);

 private:
  TokenFile(std::string path, Log log) : path_(std::move(path)), log_(std::move(log)) {}
  std::string stamp() const;  // modification time, size and inode; "" if the file cannot be read
  Result<TokenTable> read() const;  // parsed, with at least one token

  const std::string path_;
  const Log log_;
  std::mutex mu_;
  std::shared_ptr<const TokenTable> table_;
  std::string stamp_;
  std::chrono::steady_clock::time_point checked_;
};

// The role a request needs: none for /health, read for reads, write for changes to keys, admin for membership.
std::optional<Role> role_needed(std::string_view method, std::string_view path);

}  // namespace raftkit::examples::kv
