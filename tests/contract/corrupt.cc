// Reaches into each engine directly to damage one stored entry, for the corruption tests.
#include <lmdb.h>
#include <rocksdb/db.h>
#include <sqlite3.h>

#include <stdexcept>
#include <string>

#include "adapters/common/record_codec.h"
#include "tests/contract/engines.h"

namespace raftkit::testing {
namespace {

std::string flip(std::string record) {
  record[record.size() / 2] = static_cast<char>(record[record.size() / 2] ^ 0x20);
  return record;
}

void corrupt_rocksdb(const std::string& dir, Index index, bool remove) {
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(rocksdb::Options(), dir + "/rocksdb", &db).ok()) throw std::runtime_error("open rocksdb");
  const std::string key = "e" + entry_key(index);
  std::string value;
  if (!db->Get(rocksdb::ReadOptions(), key, &value).ok()) throw std::runtime_error("no such entry");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = remove ? db->Delete(wo, key) : db->Put(wo, key, flip(value));
  if (!s.ok()) throw std::runtime_error("rocksdb write");
  delete db;
}

void corrupt_lmdb(const std::string& dir, Index index, bool remove) {
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 2);
  mdb_env_set_mapsize(env, 1ull << 30);
  if (mdb_env_open(env, (dir + "/lmdb").c_str(), 0, 0644) != 0) throw std::runtime_error("open lmdb");
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, "entries", 0, &dbi);
  std::string key = entry_key(index);
  MDB_val k{key.size(), key.data()}, v;
  if (mdb_get(txn, dbi, &k, &v) != 0) throw std::runtime_error("no such entry");
  std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
  if (remove) {
    mdb_del(txn, dbi, &k, nullptr);
  } else {
    value = flip(value);
    MDB_val nv{value.size(), value.data()};
    mdb_put(txn, dbi, &k, &nv, 0);
  }
  mdb_txn_commit(txn);
  mdb_env_close(env);
}

void corrupt_sqlite(const std::string& dir, Index index, bool remove) {
  sqlite3* db = nullptr;
  if (sqlite3_open((dir + "/log.sqlite3").c_str(), &db) != SQLITE_OK) throw std::runtime_error("open sqlite");
  const std::string i = std::to_string(index);
  const std::string sql = remove ? "DELETE FROM entries WHERE idx = " + i
                                 : "UPDATE entries SET record = substr(record, 1, 20) || x'00' || substr(record, 22) "
                                   "WHERE idx = " + i;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
  sqlite3_close(db);
}

}  // namespace

void corrupt_entry(const std::string& engine, const std::string& dir, Index index, bool remove) {
  if (engine == "rocksdb") return corrupt_rocksdb(dir, index, remove);
  if (engine == "lmdb") return corrupt_lmdb(dir, index, remove);
  if (engine == "sqlite") return corrupt_sqlite(dir, index, remove);
  throw std::runtime_error("unknown engine " + engine);
}

}  // namespace raftkit::testing
