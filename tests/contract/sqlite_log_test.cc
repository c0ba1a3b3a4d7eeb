// The durable-log contract and the persistent-engine cases, unchanged, on the sqlite engine.
#include "tests/contract/engines.h"

#define RAFTKIT_CONTRACT_ENGINE raftkit::testing::SqliteEngine
#include "tests/contract/durable_log_contract.inc"
#include "tests/contract/persistent_log_cases.inc"
