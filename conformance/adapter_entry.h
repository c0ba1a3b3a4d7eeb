// The C entry point of an adapter built as a shared library for `raftkit-conformance --adapter lib.so`.
//
// Export this function (extern "C") from the library. It opens or creates the adapter's log in `dir` and returns
// a raftkit::DurableLog* allocated with new (the runner deletes it through the virtual destructor), or returns
// NULL and writes a NUL-terminated message into `error`. Build the library with the same compiler and raftkit
// headers as the runner.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void* (*raftkit_conformance_open_fn)(const char* dir, char* error, size_t error_size);
void* raftkit_conformance_open_v1(const char* dir, char* error, size_t error_size);

#ifdef __cplusplus
}
#endif
