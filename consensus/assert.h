// Invariant checks that stay on in release builds. A broken Raft invariant means the node can no longer be trusted
// with data; stopping loudly is the only safe answer (TigerBeetle's stance). These guard the core's own logic,
// never inputs: bad messages and bad calls get a Status.
#pragma once

#include <cstdio>
#include <cstdlib>

#define RAFTKIT_INVARIANT(cond, ...)                                                    \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "raftkit invariant violated at %s:%d: %s\n", __FILE__,       \
                   __LINE__, #cond);                                                     \
      std::fprintf(stderr, "  " __VA_ARGS__);                                           \
      std::fprintf(stderr, "\n");                                                       \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
