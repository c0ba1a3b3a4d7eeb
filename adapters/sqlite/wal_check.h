// Tells a torn tail from corruption in SQLite's WAL file, before SQLite replays it.
//
// SQLite's recovery reads WAL frames while their salts match the header and their cumulative checksums hold, and
// silently ignores everything from the first frame that fails: after damage to synced frames it would open an
// older, consistent database without a word. We walk the frames ourselves (the WAL format is documented in
// SQLite's "Database File Format", section 4) and, behind the first bad frame, count commit frames of the same WAL
// generation (same salts). The one transaction in flight at a power loss can leave one; two or more mean committed,
// acknowledged transactions would be dropped, and open reports corruption instead.
#pragma once

#include <string>

#include "consensus/status.h"

namespace raftkit {

Status check_sqlite_wal(const std::string& wal_path);

}  // namespace raftkit
