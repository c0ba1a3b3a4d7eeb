// Tells a torn tail from corruption in RocksDB's write-ahead logs, before RocksDB replays them.
//
// RocksDB offers two recovery modes, and neither alone is right for Raft: kTolerateCorruptedTailRecords refuses to
// open after a power loss that tore the last, unacknowledged record across sectors (the node cannot restart), and
// kPointInTimeRecovery stops at the first bad record and silently drops every later one — acknowledged entries
// included — when synced data is damaged. So we read the WAL files ourselves (the format is RocksDB's documented
// log format: 32 KiB blocks of records with a masked CRC-32C, length and type) and look behind the first bad or
// zeroed record for the start of another record. Only the one write in flight when the power went can follow a
// torn spot; a new record behind it means acknowledged data would be lost, and open reports corruption instead.
// Otherwise RocksDB opens in kPointInTimeRecovery and drops the torn tail.
#pragma once

#include <string>

#include "consensus/status.h"

namespace raftkit {

// Checks every *.log file in db_dir. OK, or kCorruption naming the file and offset.
Status check_rocksdb_wal(const std::string& db_dir);

}  // namespace raftkit
