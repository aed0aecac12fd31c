#ifndef BOURSE_SUPPORT_H
#define BOURSE_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Asks the CPU to start loading the cache line at `address` (for reading, into all levels).
/// The engine uses it to overlap the memory latency of the next commands with the current one.
static inline void bourse_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (0 to start). Uses the CPU's CRC32
/// instruction where there is one (SSE4.2, ARMv8 CRC), a table otherwise.
uint32_t bourse_crc32c(uint32_t crc, const void *bytes, size_t count);

#endif
