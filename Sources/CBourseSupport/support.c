#include "bourse_support.h"
#include <string.h>

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t n) {
    static uint32_t table[256];
    static int ready = 0;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hardware(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

static int has_hardware(void) {
    static int known = -1;
    if (known < 0) known = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return known;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t crc32c_hardware(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = __crc32cd(crc, word);
        p += 8;
        n -= 8;
    }
    while (n--) crc = __crc32cb(crc, *p++);
    return crc;
}
static int has_hardware(void) { return 1; }
#else
static uint32_t crc32c_hardware(uint32_t crc, const unsigned char *p, size_t n) { return crc32c_table(crc, p, n); }
static int has_hardware(void) { return 0; }
#endif

uint32_t bourse_crc32c(uint32_t crc, const void *bytes, size_t count) {
    uint32_t c = ~crc;
    c = has_hardware() ? crc32c_hardware(c, bytes, count) : crc32c_table(c, bytes, count);
    return ~c;
}
