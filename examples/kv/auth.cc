#include "examples/kv/auth.h"

#include <sys/stat.h>

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
    if (role == "read") {
      holder.role = Role::kRead;
    } else if (role == "write") {
      holder.role = Role::kWrite;
    } else if (role == "admin") {
      holder.role = Role::kAdmin;
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

std::string TokenFile::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return "";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
         std::to_string(st.st_size) + "/" + std::to_string(st.st_ino);
}

Result<std::shared_ptr<TokenFile>> TokenFile::open(std::string path, Log log) {
  std::shared_ptr<TokenFile> f(new TokenFile(std::move(path), std::move(log)));
  f->stamp_ = f->stamp();
  Result<TokenTable> table = f->read();
  if (!table.is_ok()) return Status(table.status().code(), f->path_ + ": " + table.status().message());
  f->table_ = std::make_shared<const TokenTable>(std::move(table).value());
  f->checked_ = std::chrono::steady_clock::now();
  return f;
}

Result<TokenTable> TokenFile::read() const {
  std::ifstream in(path_);
  if (!in) return Status(ErrorCode::kInvalidArgument, "cannot be read");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<TokenTable> table = TokenTable::parse(text);
  // A file with no tokens is refused at start and on reload alike (a half-written one, say).
  if (table.is_ok() && table.value().size() == 0) return Status(ErrorCode::kInvalidArgument, "it holds no tokens");
  return table;
}

std::optional<TokenHolder> TokenFile::find(std::string_view token) {
  std::shared_ptr<const TokenTable> table;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_ >= std::chrono::seconds(1)) {
      checked_ = now;
      if (std::string seen = stamp(); seen != stamp_) {
        Result<TokenTable> fresh = read();
        stamp_ = std::move(seen);  // reported once per change, not once a second
        if (fresh.is_ok()) {
          table_ = std::make_shared<const TokenTable>(std::move(fresh).value());
          if (log_) log_("token file " + path_ + " reloaded: " + std::to_string(table_->size()) + " tokens");
        } else if (log_) {
          log_("token file " + path_ + " changed but cannot be used (keeping the previous tokens): " +
               fresh.status().message());
        }
      }
    }
    table = table_;
  }
  return table->find(token);
}

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
