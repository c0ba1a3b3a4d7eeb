// A string map whose snapshots cost almost nothing to take: the map is split into shards held by shared pointers,
// a snapshot shares every shard, and the first write to a shard after a snapshot copies that one shard. So taking a
// snapshot of 100 MB of state copies 1024 pointers, and the writes that follow copy ~100 KB each at most once —
// never the whole map while commands wait.
//
// Single writer (the state machine's apply thread); frozen views may be read from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <istream>
#include <unordered_map>
#include <memory>
#include <ostream>
#include <string>

namespace raftkit::examples {

class CowMap {
 public:
  static constexpr std::size_t kShards = 1024;
  using Shard = std::unordered_map<std::string, std::string>;
  using Frozen = std::array<std::shared_ptr<const Shard>, kShards>;

  CowMap() {
    for (auto& s : shards_) s = std::make_shared<Shard>();
  }

  const std::string* find(const std::string& key) const {
    const Shard& s = *shards_[shard_of(key)];
    auto it = s.find(key);
    return it == s.end() ? nullptr : &it->second;
  }
  void set(const std::string& key, std::string value) {
    Shard& s = writable(key);
    auto it = s.find(key);
    if (it == s.end()) {
      bytes_ += key.size() + value.size();
      s.emplace(key, std::move(value));
    } else {
      bytes_ += value.size();
      bytes_ -= it->second.size();
      it->second = std::move(value);
    }
  }
  bool erase(const std::string& key) {
    if (find(key) == nullptr) return false;
    Shard& s = writable(key);
    auto it = s.find(key);
    bytes_ -= key.size() + it->second.size();
    s.erase(it);
    return true;
  }
  std::uint64_t bytes() const { return bytes_; }

  // Shares every shard with the returned view; later writes copy a shard before changing it.
  Frozen freeze() const {
    Frozen f;
    for (std::size_t i = 0; i < kShards; ++i) f[i] = shards_[i];
    return f;
  }

  // Serialized form: count u64, then (key length u32, key, value length u32, value)*, little-endian.
  static bool write(const Frozen& view, std::ostream& out) {
    std::uint64_t count = 0;
    for (const auto& s : view) count += s->size();
    put(out, count, 8);
    for (const auto& s : view) {
      for (const auto& [k, v] : *s) {
        put(out, k.size(), 4);
        out.write(k.data(), static_cast<std::streamsize>(k.size()));
        put(out, v.size(), 4);
        out.write(v.data(), static_cast<std::streamsize>(v.size()));
      }
    }
    return static_cast<bool>(out);
  }
  // Replaces the contents with a serialized map; on failure the map is left unchanged.
  bool read(std::istream& in) {
    CowMap fresh;
    std::uint64_t count = 0;
    if (!get(in, count, 8)) return false;
    std::string k, v;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t n = 0;
      if (!get(in, n, 4)) return false;
      k.resize(n);
      if (n && !in.read(k.data(), static_cast<std::streamsize>(n))) return false;
      if (!get(in, n, 4)) return false;
      v.resize(n);
      if (n && !in.read(v.data(), static_cast<std::streamsize>(n))) return false;
      fresh.set(k, v);
    }
    *this = std::move(fresh);
    return true;
  }

 private:
  static std::size_t shard_of(const std::string& key) { return std::hash<std::string>()(key) % kShards; }
  Shard& writable(const std::string& key) {
    auto& s = shards_[shard_of(key)];
    // Shared with a frozen view: copy before the first change. (use_count can only fall concurrently, as views
    // are released on other threads; a stale count at worst copies once more than needed.)
    if (s.use_count() > 1) s = std::make_shared<Shard>(*s);
    return *s;
  }
  static void put(std::ostream& out, std::uint64_t v, int bytes) {
    char b[8];
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out.write(b, bytes);
  }
  static bool get(std::istream& in, std::uint64_t& v, int bytes) {
    unsigned char b[8];
    if (!in.read(reinterpret_cast<char*>(b), bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    return true;
  }

  std::array<std::shared_ptr<Shard>, kShards> shards_;
  std::uint64_t bytes_ = 0;
};

}  // namespace raftkit::examples
