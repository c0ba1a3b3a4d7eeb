// The durable-log contract and the persistent-engine cases, unchanged, on the rocksdb engine.
#include "tests/contract/engines.h"

#define RAFTKIT_CONTRACT_ENGINE raftkit::testing::RocksDbEngine
#include "tests/contract/durable_log_contract.inc"
#include "tests/contract/persistent_log_cases.inc"
