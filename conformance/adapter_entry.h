// The C entry point of an adapter built as a shared library for `raftkit-conformance --adapter lib.so`.
//
// Export this function (extern "C") from the library. It opens or creates the adapter's log in `dir` and returns
// a raftkit::DurableLog* allocated with new (the runner deletes it through the virtual destructor), or returns
// NULL and writes a NUL-terminated message into `error`: Status::to_string(), which starts with the error code's
// name ("Locked: ..."), so the runner can check the code (kLocked for a directory open in another process). Build the library with the same compiler and raftkit
// headers as the runner.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void* (*raftkit_conformance_open_fn)(const char* dir, char* error, size_t error_size);
void* raftkit_conformance_open_v1(const char* dir, char* error, size_t error_size);

// Optional. The names of files in the log's directory that hold no durable state (rebuilt on open, such as a lock
// file or a shared-memory index), as a NULL-terminated array; "*-suffix" matches by suffix. The suite leaves them
// out of its power-loss self-check and of damage, as with --non-durable.
typedef const char* const* (*raftkit_conformance_non_durable_files_fn)(void);
const char* const* raftkit_conformance_non_durable_files_v1(void);

#ifdef __cplusplus
}
#endif
