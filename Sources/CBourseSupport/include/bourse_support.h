#ifndef BOURSE_SUPPORT_H
#define BOURSE_SUPPORT_H

/// Asks the CPU to start loading the cache line at `address` (for reading, into all levels).
/// The engine uses it to overlap the memory latency of the next commands with the current one.
static inline void bourse_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
