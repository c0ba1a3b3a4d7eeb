#include "examples/kv/auth.h"

#include <fstream>
#include <iterator>
#include <sstream>

namespace raftkit::examples::kv {
namespace {

constexpr std::size_t kMinTokenBytes = 16;

bool printable_token(std::string_view t) {
  for (char c : t) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Equal length and bytes, in time that depends only on the lengths.
bool same_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kRead:
      return "read";
    case Role::kWrite:
      return "write";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::kRead, Role::kWrite, Role::kAdmin}) {
    if (name == role_name(r)) return r;
  }
  return std::nullopt;
}

std::optional<Role> certificate_role(const std::vector<std::string>& organizations) {
  std::optional<Role> best;
  for (const std::string& o : organizations) {
    if (std::optional<Role> r = parse_role(o); r && (!best || *r > *best)) best = r;
  }
  return best;
}

Result<TokenTable> TokenTable::parse(std::string_view text) {
  TokenTable table;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string role, token, name, extra;
    if (!(fields >> role) || role[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status(ErrorCode::kInvalidArgument, "token file line " + std::to_string(number) + ": " + why);
    };
    TokenHolder holder;
    if (std::optional<Role> r = parse_role(role)) {
      holder.role = *r;
    } else {
      return bad("the role must be read, write or admin");
    }
    if (!(fields >> token)) return bad("no token after the role");
    if (token.size() < kMinTokenBytes || !printable_token(token)) {
      return bad("a token is at least " + std::to_string(kMinTokenBytes) + " printable characters");
    }
    fields >> holder.name;
    if (fields >> extra) return bad("expected ROLE TOKEN [NAME]");
    if (!table.tokens_.emplace(std::move(token), std::move(holder)).second) return bad("a token given twice");
  }
  return table;
}

std::optional<TokenHolder> TokenTable::find(std::string_view token) const {
  // Every token is compared, so the time taken says nothing about which one came closest.
  std::optional<TokenHolder> found;
  for (const auto& [known, holder] : tokens_) {
    if (same_bytes(known, token)) found = holder;
  }
  return found;
}

Result<std::shared_ptr<TokenFile>> TokenFile::open(std::string path, Log log) {
  auto table = util::Reloaded<const TokenTable>::load(
      {path}, "token file " + path, [path]() -> Result<std::shared_ptr<const TokenTable>> {
        Result<TokenTable> t = read(path);
        if (!t.is_ok()) return t.status();
        return std::make_shared<const TokenTable>(std::move(t).value());
      },
      std::move(log), [](const TokenTable& t) { return std::to_string(t.size()) + " tokens"; });
  if (!table.is_ok()) return Status(table.status().code(), path + ": " + table.status().message());
  return std::shared_ptr<TokenFile>(new TokenFile(std::move(table).value()));
}

Result<TokenTable> TokenFile::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kInvalidArgument, "cannot be read");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<TokenTable> table = TokenTable::parse(text);
  // A file with no tokens is refused at start and on reload alike (a half-written one, say).
  if (table.is_ok() && table.value().size() == 0) return Status(ErrorCode::kInvalidArgument, "it holds no tokens");
  return table;
}

std::optional<TokenHolder> TokenFile::find(std::string_view token) { return table_->current()->find(token); }

std::optional<Role> role_needed(std::string_view method, std::string_view path) {
  if (path == "/health") return std::nullopt;
  const bool reading = method == "GET" || method == "HEAD";
  if (path == "/members" || path.rfind("/members/", 0) == 0 || path == "/leave") {
    return reading ? Role::kRead : Role::kAdmin;
  }
  if (path.rfind("/kv/", 0) == 0 || path.rfind("/cas/", 0) == 0) return reading ? Role::kRead : Role::kWrite;
  return reading ? Role::kRead : Role::kAdmin;  // anything else that changes state is an operator's business
}

}  // namespace raftkit::examples::kv
